// Mapping between file names and the names stored in Git trees. Git's fsck rejects some names
// that a rootfs may hold, and snap reserves the '.snap-' prefix for its own entries, so such
// names are stored hex-encoded behind a marker and decoded on the way out.

const ESCAPE_PREFIX = Buffer.from('.snap-name-');
const RESERVED_PREFIX = Buffer.from('.snap-');

/** Name of the metadata blob in each directory of the meta tree; never a stored file name. */
export const META_BLOB_NAME = Buffer.from('.snap-meta');

/**
 * Byte sequences that HFS+ ignores in names (zero-width joiners, direction marks, BOM). git fsck
 * strips them before comparing with ".git", so such names count as ".git" too.
 */
const HFS_IGNORABLE = [
  [0xe2, 0x80, 0x8c], [0xe2, 0x80, 0x8d], [0xe2, 0x80, 0x8e], [0xe2, 0x80, 0x8f],
  [0xe2, 0x80, 0xaa], [0xe2, 0x80, 0xab], [0xe2, 0x80, 0xac], [0xe2, 0x80, 0xad], [0xe2, 0x80, 0xae],
  [0xe2, 0x81, 0xaa], [0xe2, 0x81, 0xab], [0xe2, 0x81, 0xac], [0xe2, 0x81, 0xad], [0xe2, 0x81, 0xae], [0xe2, 0x81, 0xaf],
  [0xef, 0xbb, 0xbf],
];

function stripIgnorable(name: Buffer): string {
  // Every ignorable sequence starts with 0xe2 or 0xef, so a name without either has none.
  if (!name.includes(0xe2) && !name.includes(0xef)) return name.toString('latin1').toLowerCase();
  const kept: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const match = HFS_IGNORABLE.find((seq) => seq.every((byte, k) => name[i + k] === byte));
    if (match) {
      i += match.length - 1;
      continue;
    }
    kept.push(name[i]);
  }
  return Buffer.from(kept).toString('latin1').toLowerCase();
}

/**
 * Reports whether a file name must be escaped: names git fsck --strict treats as ".git" or
 * ".gitmodules" on some filesystem (".git", ".GIT.", "git~1", "gi7eba~1", HFS look-alikes, and any
 * of these after a backslash), every name starting with ".git" (so no ".gitmodules" or
 * ".gitattributes" blob is parsed by fsck), and names starting with snap's own '.snap-' prefix.
 */
export function needsEscape(name: Buffer): boolean {
  if (name.subarray(0, RESERVED_PREFIX.length).equals(RESERVED_PREFIX)) return true;
  // git fsck also reads every part after a backslash as a name of its own (an NTFS path separator).
  return stripIgnorable(name).split('\\').some((part) => part.startsWith('.git') || (part.startsWith('gi') && part.includes('~')));
}

/** Returns the name a file is stored under in a Git tree. */
export function toTreeName(name: Buffer): Buffer {
  if (!needsEscape(name)) return name;
  return Buffer.concat([ESCAPE_PREFIX, Buffer.from(name.toString('hex'), 'latin1')]);
}

/** Returns the file name of a stored tree name; the inverse of toTreeName. */
export function fromTreeName(stored: Buffer): Buffer {
  if (!stored.subarray(0, ESCAPE_PREFIX.length).equals(ESCAPE_PREFIX)) return stored;
  return Buffer.from(stored.subarray(ESCAPE_PREFIX.length).toString('latin1'), 'hex');
}
