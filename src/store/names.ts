// Mapping between file names and the names stored in Git trees. Git's fsck rejects some names
// that a rootfs may hold, and snap reserves the '.snap-' prefix for its own entries, so such
// names are stored hex-encoded behind a marker and decoded on the way out.

const ESCAPE_PREFIX = Buffer.from('.snap-name-');
const ESCAPE_KEY = ESCAPE_PREFIX.toString('latin1');
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

function ignorableLength(name: Buffer, at: number): number {
  for (const seq of HFS_IGNORABLE) {
    if (name[at] === seq[0] && name[at + 1] === seq[1] && name[at + 2] === seq[2]) return seq.length;
  }
  return 0;
}

function stripIgnorable(name: Buffer): string {
  // Every ignorable sequence starts with 0xe2 or 0xef, so a name without either has none.
  if (!name.includes(0xe2) && !name.includes(0xef)) return name.toString('latin1').toLowerCase();
  let kept = '';
  for (let i = 0; i < name.length; i++) {
    const skip = ignorableLength(name, i);
    if (skip > 0) {
      i += skip - 1;
      continue;
    }
    kept += String.fromCharCode(name[i]);
  }
  return kept.toLowerCase();
}

/**
 * Reports whether a name may match the checks of needsEscape, without allocating. A name without
 * '~' and without the first byte of an ignorable sequence (0xe2, 0xef) is its own stripped form,
 * so it matches only with a part that starts with ".git" in any case.
 */
function mayNeedEscape(name: Buffer): boolean {
  for (let i = 0; i < name.length; i++) {
    const byte = name[i];
    if (byte === 0x7e || byte === 0xe2 || byte === 0xef) return true;
    const partStart = i === 0 || name[i - 1] === 0x5c;
    // ORing 0x20 into an ASCII letter lowercases it, and no other byte becomes 'g', 'i' or 't'.
    if (partStart && byte === 0x2e && (name[i + 1] | 0x20) === 0x67 && (name[i + 2] | 0x20) === 0x69 && (name[i + 3] | 0x20) === 0x74) return true;
  }
  return false;
}

/**
 * Reports whether a file name must be escaped: names git fsck --strict treats as ".git" or
 * ".gitmodules" on some filesystem (".git", ".GIT.", "git~1", "gi7eba~1", HFS look-alikes, and any
 * of these after a backslash), every name starting with ".git" (so no ".gitmodules" or
 * ".gitattributes" blob is parsed by fsck), and names starting with snap's own '.snap-' prefix.
 */
export function needsEscape(name: Buffer): boolean {
  if (name.length >= RESERVED_PREFIX.length && name.compare(RESERVED_PREFIX, 0, RESERVED_PREFIX.length, 0, RESERVED_PREFIX.length) === 0) return true;
  if (!mayNeedEscape(name)) return false;
  // git fsck also reads every part after a backslash as a name of its own (an NTFS path separator).
  return stripIgnorable(name).split('\\').some((part) => part.startsWith('.git') || (part.startsWith('gi') && part.includes('~')));
}

/** Returns the name a file is stored under in a Git tree. */
export function toTreeName(name: Buffer): Buffer {
  if (!needsEscape(name)) return name;
  return Buffer.concat([ESCAPE_PREFIX, Buffer.from(name.toString('hex'), 'latin1')]);
}

/** Returns toTreeName of a name given as a latin1 string, as a latin1 string. */
export function toTreeKey(key: string): string {
  const name = Buffer.from(key, 'latin1');
  return needsEscape(name) ? toTreeName(name).toString('latin1') : key;
}

/** Returns fromTreeName of a stored name given as a latin1 string, as a latin1 string. */
export function fromTreeKey(stored: string): string {
  if (!stored.startsWith(ESCAPE_KEY)) return stored;
  return Buffer.from(stored.slice(ESCAPE_KEY.length), 'hex').toString('latin1');
}

/** Returns the file name of a stored tree name; the inverse of toTreeName. */
export function fromTreeName(stored: Buffer): Buffer {
  if (!stored.subarray(0, ESCAPE_PREFIX.length).equals(ESCAPE_PREFIX)) return stored;
  return Buffer.from(stored.subarray(ESCAPE_PREFIX.length).toString('latin1'), 'hex');
}
