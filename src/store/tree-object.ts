// Encoding and parsing of Git tree objects. snap does this itself because isomorphic-git rejects
// names that a rootfs has (backslashes, for one) and modes other than the five it knows.

import { SnapError } from '../errors.js';

/** Tree entry modes as Git writes them (a subtree is "40000", without a leading zero). */
export const MODE_TREE = '40000';
export const MODE_FILE = '100644';
export const MODE_EXEC = '100755';
export const MODE_SYMLINK = '120000';

/** One entry of a Git tree object. */
export interface TreeEntry {
  mode: string;
  name: Buffer;
  oid: string;
}

/** The id of the empty tree, the same in every Git repository. */
export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** Compares two entries in Git's tree order: bytewise, with a subtree's name followed by '/'. */
export function compareTreeEntries(a: TreeEntry, b: TreeEntry): number {
  const length = Math.min(a.name.length, b.name.length);
  const order = a.name.compare(b.name, 0, length, 0, length);
  if (order !== 0) return order;
  const nextA = a.name.length > length ? a.name[length] : a.mode === MODE_TREE ? 0x2f : 0;
  const nextB = b.name.length > length ? b.name[length] : b.mode === MODE_TREE ? 0x2f : 0;
  return nextA - nextB;
}

/** Serializes entries into tree object content, sorting them into Git's order first. */
export function encodeTree(entries: TreeEntry[]): Buffer {
  const sorted = [...entries].sort(compareTreeEntries);
  let size = 0;
  for (const entry of sorted) size += entry.mode.length + 1 + entry.name.length + 1 + 20;
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const entry of sorted) {
    offset += out.write(entry.mode, offset, 'latin1');
    out[offset++] = 0x20;
    offset += entry.name.copy(out, offset);
    out[offset++] = 0;
    const written = out.write(entry.oid, offset, 20, 'hex');
    if (written !== 20) throw new SnapError('INTERNAL', `tree entry id '${entry.oid}' is not 40 hex digits; this is a bug in snap`);
    offset += written;
  }
  return out;
}

/** Parses tree object content. Throws CORRUPT on malformed input. */
export function parseTree(oid: string, content: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let offset = 0;
  while (offset < content.length) {
    const space = content.indexOf(0x20, offset);
    const nul = content.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 21 > content.length) {
      throw new SnapError('CORRUPT', `tree ${oid} is damaged; run 'git fsck' on the store`);
    }
    entries.push({
      mode: content.toString('latin1', offset, space),
      name: content.subarray(space + 1, nul),
      oid: content.toString('hex', nul + 1, nul + 21),
    });
    offset = nul + 21;
  }
  return entries;
}
