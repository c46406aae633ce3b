// Reading snapshots back: a directory at a time, joining the rootfs tree (content ids) with the
// meta tree (everything else).

import { SnapError, showPath } from '../errors.js';
import type { Entry } from '../tree/entry.js';
import { META_BLOB_NAME, fromTreeName } from './names.js';
import { ROOT_RECORD_NAME, joinPath, parseRecord, recordName, splitMeta } from './meta-format.js';
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
  name: Buffer;
  /** The child's line in its directory's metadata blob (see meta-format.ts). */
  line: string;
  /** The child's entry in the directory's rootfs tree, unset for types without content there. */
  stored?: { mode: string; oid: string };
  /** The child's subtree in the meta tree, set for a directory with children. */
  metaOid?: string;
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

/**
 * Lists the children of a stored directory, sorted bytewise by name, without parsing their
 * records. toSnapshotChild parses one. For the root directory the rootfs's own entry is parsed
 * as `self`. A diff compares most children by line and ids alone, so it parses only those that
 * changed.
 */
export async function readSnapshotListing(objects: ObjectStore, dir: SnapshotDir): Promise<SnapshotListing> {
  if (!dir.metaOid) return { dir, metaBlob: '', children: [] };
  const content = new Map<string, { mode: string; oid: string }>();
  for (const item of parseTree(dir.rootfsOid, await objects.readTyped(dir.rootfsOid, 'tree'))) {
    content.set(fromTreeName(item.name).toString('latin1'), { mode: item.mode, oid: item.oid });
  }
  const subMeta = new Map<string, string>();
  let metaBlob: string | undefined;
  for (const item of parseTree(dir.metaOid, await objects.readTyped(dir.metaOid, 'tree'))) {
    if (item.name.equals(META_BLOB_NAME)) metaBlob = item.oid;
    else subMeta.set(fromTreeName(item.name).toString('latin1'), item.oid);
  }
  if (!metaBlob) throw new SnapError('CORRUPT', `meta tree ${dir.metaOid} has no ${META_BLOB_NAME.toString()} blob`);

  let self: Entry | undefined;
  const children: ListedChild[] = [];
  for (const line of splitMeta(metaBlob, await objects.readTyped(metaBlob, 'blob'))) {
    const name = recordName(line);
    if (dir.path.length === 0 && name.equals(ROOT_RECORD_NAME)) {
      self = parseRecord(metaBlob, dir.path, line, name).entry;
      continue;
    }
    const key = name.toString('latin1');
    children.push({ name, line, stored: content.get(key), metaOid: subMeta.get(key) });
  }
  children.sort((a, b) => Buffer.compare(a.name, b.name));
  return { dir, metaBlob, self, children };
}

/**
 * Parses a listed child into its entry, joined with its content id or subtree ids. Throws CORRUPT
 * when its record is malformed or the rootfs tree lacks what the record names. A symlink entry has
 * no target yet (see readSymlinkTarget).
 */
export function toSnapshotChild(listing: SnapshotListing, listed: ListedChild): SnapshotChild {
  const { dir } = listing;
  const { name, entry } = parseRecord(listing.metaBlob, dir.path, listed.line, listed.name);
  const { stored } = listed;
  const child: SnapshotChild = { name, entry };
  if (entry.type === 'dir') {
    if (!stored || stored.mode !== MODE_TREE) throw missing(dir.path, name);
    child.dir = { path: entry.path, rootfsOid: stored.oid, metaOid: listed.metaOid };
  } else if (entry.type === 'file' || entry.type === 'symlink') {
    if (!stored) throw missing(dir.path, name);
    entry.oid = stored.oid;
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
