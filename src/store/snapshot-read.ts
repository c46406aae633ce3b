// Reading snapshots back: a directory at a time, joining the rootfs tree (content ids) with the
// meta tree (everything else).

import { SnapError, showPath } from '../errors.js';
import type { Entry } from '../tree/entry.js';
import { findMetaLines, findTreeEntries, unmatchedMetaNames, unmatchedTreeNames } from '../native/index.js';
import { META_BLOB_NAME, fromTreeKey, toTreeKey } from './names.js';
import { ROOT_RECORD_NAME, checkMetaHeader, decodeKey, encodeKey, joinPath, parseRecord, recordKey, splitMeta } from './meta-format.js';
import type { ObjectStore } from './objects.js';
import { EMPTY_TREE, MODE_TREE, parseTree } from './tree-object.js';

/** A directory of a stored snapshot, named by its two subtree ids. */
export interface SnapshotDir {
  path: Buffer;
  rootfsOid: string;
  /** Undefined for a directory without children. */
  metaOid?: string;
}

/** One child of a stored directory. */
export interface SnapshotChild {
  name: Buffer;
  entry: Entry;
  /** Set for a directory. */
  dir?: SnapshotDir;
}

/** Returns the root directory of the snapshot whose top tree is `tree`. */
export async function snapshotRoot(objects: ObjectStore, tree: string): Promise<SnapshotDir> {
  const top = parseTree(tree, await objects.readTyped(tree, 'tree'));
  const rootfs = top.find((entry) => entry.name.toString() === 'rootfs');
  const meta = top.find((entry) => entry.name.toString() === 'meta');
  if (!rootfs || !meta) {
    throw new SnapError('CORRUPT', `tree ${tree} is not a snap snapshot (no rootfs and meta subtrees)`);
  }
  return { path: Buffer.alloc(0), rootfsOid: rootfs.oid, metaOid: meta.oid === EMPTY_TREE ? undefined : meta.oid };
}

/** Options of readSnapshotDir and walkSnapshot. */
export interface ReadDirOptions {
  /**
   * Read each symlink's target from its blob (the default). Without it, a symlink entry has no
   * `target` and a `size` of 0 until readSymlinkTarget completes it, which saves one object read
   * per symlink where only ids and attributes are compared.
   */
  symlinkTargets?: boolean;
}

/** One child of a stored directory as listed, before its record line is parsed. */
export interface ListedChild {
  /**
   * The child's name as a latin1 string (one character per byte). Such strings compare as their
   * bytes do, and cost less to make and compare than Buffers.
   */
  key: string;
  /** The child's line in its directory's metadata blob (see meta-format.ts). */
  line: string;
  /** The child's entry in the directory's rootfs tree, unset for types without content there. */
  stored?: RawTreeEntry;
  /** The 20-byte id, in latin1, of the child's subtree in the meta tree; set for a directory with children. */
  metaId?: string;
}

/** A rootfs tree entry as listed: its mode and its 20-byte id in latin1 (see hexId). */
export interface RawTreeEntry {
  mode: string;
  id: string;
}

/** The children of a stored directory, listed by readSnapshotListing. */
export interface SnapshotListing {
  dir: SnapshotDir;
  /** Id of the directory's metadata blob, named in errors about its records. */
  metaBlob: string;
  /** The rootfs's own entry, for the root directory. */
  self?: Entry;
  /** Sorted bytewise by name. */
  children: ListedChild[];
}

/** Compares two names given as latin1 strings, bytewise. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Returns the hex form of an object id listed as 20 latin1 characters. */
export function hexId(id: string): string {
  return Buffer.from(id, 'latin1').toString('hex');
}

/** The tree name of the metadata blob and the record name of the root, as latin1 strings. */
const META_BLOB_KEY = META_BLOB_NAME.toString('latin1');
const ROOT_RECORD_KEY = ROOT_RECORD_NAME.toString('latin1');

/**
 * Calls `visit` for each entry of a tree object, with the stored name, mode and id as latin1
 * strings. Throws CORRUPT on malformed content.
 */
function forEachTreeEntry(oid: string, content: Buffer, visit: (name: string, mode: string, id: string) => void): void {
  const text = content.toString('latin1');
  let offset = 0;
  while (offset < text.length) {
    const space = text.indexOf(' ', offset);
    const nul = space < 0 ? -1 : text.indexOf('\0', space + 1);
    if (nul < 0 || nul + 21 > text.length) throw new SnapError('CORRUPT', `tree ${oid} is damaged; run 'git fsck' on the store`);
    visit(text.slice(space + 1, nul), text.slice(offset, space), text.slice(nul + 1, nul + 21));
    offset = nul + 21;
  }
}

/**
 * Lists the children of a stored directory, sorted bytewise by name, without parsing their
 * records. toSnapshotChild parses one. For the root directory the rootfs's own entry is parsed
 * as `self`. A diff compares most children by line and ids alone, so it parses only those that
 * changed. Names and ids stay latin1 strings until then.
 */
export async function readSnapshotListing(objects: ObjectStore, dir: SnapshotDir): Promise<SnapshotListing> {
  if (!dir.metaOid) return { dir, metaBlob: '', children: [] };
  const content = new Map<string, RawTreeEntry>();
  forEachTreeEntry(dir.rootfsOid, await objects.readTyped(dir.rootfsOid, 'tree'), (name, mode, id) => {
    content.set(fromTreeKey(name), { mode, id });
  });
  const subMeta = new Map<string, string>();
  let metaBlobId: string | undefined;
  forEachTreeEntry(dir.metaOid, await objects.readTyped(dir.metaOid, 'tree'), (name, _mode, id) => {
    if (name === META_BLOB_KEY) metaBlobId = id;
    else subMeta.set(fromTreeKey(name), id);
  });
  if (metaBlobId === undefined) throw new SnapError('CORRUPT', `meta tree ${dir.metaOid} has no ${META_BLOB_KEY} blob`);
  const metaBlob = hexId(metaBlobId);

  let self: Entry | undefined;
  const children: ListedChild[] = [];
  let sorted = true;
  for (const line of splitMeta(metaBlob, await objects.readTyped(metaBlob, 'blob'))) {
    const key = recordKey(line);
    if (dir.path.length === 0 && key === ROOT_RECORD_KEY) {
      self = parseRecord(metaBlob, dir.path, line, ROOT_RECORD_NAME).entry;
      continue;
    }
    if (children.length > 0 && children[children.length - 1].key >= key) sorted = false;
    children.push({ key, line, stored: content.get(key), metaId: subMeta.get(key) });
  }
  // snap writes the lines sorted by name, so this sort runs only for blobs written otherwise.
  if (!sorted) children.sort((a, b) => compareKeys(a.key, b.key));
  return { dir, metaBlob, self, children };
}

/** The objects of a stored directory, read whole but not parsed. */
interface RawDir {
  dir: SnapshotDir;
  rootfsTree: Buffer;
  metaTree: Buffer;
  metaBlob: string;
  blob: Buffer;
}

async function readRawDir(objects: ObjectStore, dir: SnapshotDir & { metaOid: string }): Promise<RawDir | undefined> {
  const rootfsTree = await objects.readTyped(dir.rootfsOid, 'tree');
  const metaTree = await objects.readTyped(dir.metaOid, 'tree');
  const found = findTreeEntries(metaTree, [META_BLOB_KEY]);
  if (!found || found[0] < 0) return undefined;
  const metaBlob = hexId(rawEntry(metaTree, found[0]).id);
  const blob = await objects.readTyped(metaBlob, 'blob');
  checkMetaHeader(metaBlob, blob);
  return { dir, rootfsTree, metaTree, metaBlob, blob };
}

/** Returns the mode and raw id of the tree entry that starts at `offset`. */
function rawEntry(tree: Buffer, offset: number): RawTreeEntry {
  const space = tree.indexOf(0x20, offset);
  const nul = tree.indexOf(0, space + 1);
  return { mode: tree.toString('latin1', offset, space), id: tree.toString('latin1', nul + 1, nul + 21) };
}

/**
 * Lists the children of two stored versions of one directory that differ in their record line,
 * rootfs tree entry or meta subtree, in native code (listing_diff.c). Children equal in all three
 * are left out of both listings, so the cost follows the number of changed children, not the
 * size of the directory. For the root directory both listings have `self`. Damaged objects are
 * listed whole, and reported, by readSnapshotListing.
 */
export async function readChangedListings(objects: ObjectStore, before: SnapshotDir, after: SnapshotDir): Promise<[SnapshotListing, SnapshotListing]> {
  const whole = async (): Promise<[SnapshotListing, SnapshotListing]> => [await readSnapshotListing(objects, before), await readSnapshotListing(objects, after)];
  if (!before.metaOid || !after.metaOid) return whole();
  const a = await readRawDir(objects, { ...before, metaOid: before.metaOid });
  const b = await readRawDir(objects, { ...after, metaOid: after.metaOid });
  const rootfsNames = a && b && unmatchedTreeNames(a.rootfsTree, b.rootfsTree);
  const metaNames = a && b && unmatchedTreeNames(a.metaTree, b.metaTree);
  if (!a || !b || !rootfsNames || !metaNames) return whole();

  const keys = new Set<string>();
  for (const name of rootfsNames) keys.add(fromTreeKey(name));
  for (const name of metaNames) {
    if (name !== META_BLOB_KEY) keys.add(fromTreeKey(name));
  }
  for (const field of unmatchedMetaNames(a.blob, b.blob)) keys.add(decodeKey(field));
  const isRoot = after.path.length === 0;
  if (isRoot) keys.add(ROOT_RECORD_KEY);
  const sorted = [...keys].sort(compareKeys);
  return [listKeys(a, sorted, isRoot), listKeys(b, sorted, isRoot)];
}

/** Lists the children of a raw directory whose names are `keys` (sorted), as readSnapshotListing does. */
function listKeys(raw: RawDir, keys: string[], isRoot: boolean): SnapshotListing {
  const stored = keys.map(toTreeKey);
  const entries = findTreeEntries(raw.rootfsTree, stored);
  const subtrees = findTreeEntries(raw.metaTree, stored);
  const lines = findMetaLines(raw.blob, keys.map(encodeKey));
  if (!entries || !subtrees) throw new SnapError('CORRUPT', `tree ${raw.dir.rootfsOid} or ${raw.dir.metaOid} is damaged; run 'git fsck' on the store`);

  let self: Entry | undefined;
  const children: ListedChild[] = [];
  for (let i = 0; i < keys.length; i++) {
    if (lines[i] < 0) continue;
    const end = raw.blob.indexOf(0x0a, lines[i]);
    const line = raw.blob.toString('latin1', lines[i], end < 0 ? raw.blob.length : end);
    if (isRoot && keys[i] === ROOT_RECORD_KEY) {
      self = parseRecord(raw.metaBlob, raw.dir.path, line, ROOT_RECORD_NAME).entry;
      continue;
    }
    const child: ListedChild = { key: keys[i], line };
    if (entries[i] >= 0) child.stored = rawEntry(raw.rootfsTree, entries[i]);
    if (subtrees[i] >= 0) child.metaId = rawEntry(raw.metaTree, subtrees[i]).id;
    children.push(child);
  }
  return { dir: raw.dir, metaBlob: raw.metaBlob, self, children };
}

/**
 * Parses a listed child into its entry, joined with its content id or subtree ids. Throws CORRUPT
 * when its record is malformed or the rootfs tree lacks what the record names. A symlink entry has
 * no target yet (see readSymlinkTarget).
 */
export function toSnapshotChild(listing: SnapshotListing, listed: ListedChild): SnapshotChild {
  const { dir } = listing;
  const { name, entry } = parseRecord(listing.metaBlob, dir.path, listed.line, Buffer.from(listed.key, 'latin1'));
  const { stored } = listed;
  const child: SnapshotChild = { name, entry };
  if (entry.type === 'dir') {
    if (!stored || stored.mode !== MODE_TREE) throw missing(dir.path, name);
    child.dir = { path: entry.path, rootfsOid: hexId(stored.id), metaOid: listed.metaId === undefined ? undefined : hexId(listed.metaId) };
  } else if (entry.type === 'file' || entry.type === 'symlink') {
    if (!stored) throw missing(dir.path, name);
    entry.oid = hexId(stored.id);
  }
  return child;
}

/**
 * Reads the children of a stored directory, sorted bytewise by name. For the root directory the
 * rootfs's own entry is returned as `self`. Symlink targets are read from their blobs unless
 * `options.symlinkTargets` is false.
 */
export async function readSnapshotDir(objects: ObjectStore, dir: SnapshotDir, options: ReadDirOptions = {}): Promise<{ self?: Entry; children: SnapshotChild[] }> {
  const listing = await readSnapshotListing(objects, dir);
  const children: SnapshotChild[] = [];
  for (const listed of listing.children) {
    const child = toSnapshotChild(listing, listed);
    if (options.symlinkTargets !== false) await readSymlinkTarget(objects, child.entry);
    children.push(child);
  }
  return { self: listing.self, children };
}

function missing(dir: Buffer, name: Buffer): SnapError {
  return new SnapError('CORRUPT', `snapshot records '${showPath(joinPath(dir, name))}' but its rootfs tree lacks it; run 'git fsck' on the store`);
}

/** Sets `target` and `size` of a symlink entry read without its target; other entries are left as they are. */
export async function readSymlinkTarget(objects: ObjectStore, entry: Entry): Promise<void> {
  if (entry.type !== 'symlink' || entry.target) return;
  entry.target = await objects.readTyped(entry.oid!, 'blob');
  entry.size = entry.target.length;
}

/** Calls `visit` for every entry below `dir` (not `dir` itself), parents before children. */
export async function walkSnapshot(objects: ObjectStore, dir: SnapshotDir, visit: (entry: Entry, child: SnapshotChild) => void | Promise<void>, options: ReadDirOptions = {}): Promise<void> {
  const { children } = await readSnapshotDir(objects, dir, options);
  for (const child of children) {
    await visit(child.entry, child);
    if (child.dir) await walkSnapshot(objects, child.dir, visit, options);
  }
}
