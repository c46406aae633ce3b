// Comparing two snapshots directory by directory. Subtrees whose rootfs and meta tree ids are
// both equal are skipped unread, so the cost follows the size of the change.

import type { Entry } from '../tree/entry.js';
import { formatRecord, joinPath } from './meta-format.js';
import type { ObjectStore } from './objects.js';
import { compareKeys, readChangedListings, readSnapshotDir, readSnapshotListing, type SnapshotListing, readSymlinkTarget, toSnapshotChild, walkSnapshot, type ListedChild, type ReadDirOptions, type SnapshotChild, type SnapshotDir } from './snapshot-read.js';

/** Listings are read without symlink targets, because ids decide. Only changed symlinks get theirs. */
const LISTING: ReadDirOptions = { symlinkTargets: false };

/**
 * Kind of a change, in Git's letters: A added, D deleted, M content modified, T type changed
 * (file, directory, symlink, device, FIFO), and 'm' for a change of metadata only (mode, owner,
 * time, xattrs, hardlink set).
 */
export type ChangeStatus = 'A' | 'D' | 'M' | 'T' | 'm';

/** One changed path. `old` is unset for A, `new` for D. */
export interface Change {
  path: Buffer;
  status: ChangeStatus;
  old?: Entry;
  new?: Entry;
}

/**
 * Limits a diff to paths. Each limit is a path without leading or trailing slashes; it selects
 * itself and everything below it, and the empty path selects everything.
 */
export interface DiffFilter {
  paths: Buffer[];
}

/** How a path relates to a filter: selected, above a selected path (walked, not listed), or outside. */
type Relation = 'inside' | 'above' | 'outside';

function relate(path: Buffer, filter: DiffFilter | undefined): Relation {
  if (!filter) return 'inside';
  let above = false;
  for (const limit of filter.paths) {
    if (limit.length === 0 || isAtOrBelow(path, limit)) return 'inside';
    if (path.length === 0 || (limit.length > path.length && limit[path.length] === 0x2f && limit.subarray(0, path.length).equals(path))) above = true;
  }
  return above ? 'above' : 'outside';
}

function isAtOrBelow(path: Buffer, limit: Buffer): boolean {
  if (path.length < limit.length || !path.subarray(0, limit.length).equals(limit)) return false;
  return path.length === limit.length || path[limit.length] === 0x2f;
}

/** Options of diffSnapshots. */
export interface DiffOptions {
  /**
   * Receives every directory of `to` that the diff reads (the root, directories above or around a
   * change, and added ones), with its entry, in walk order. A checkout takes the ids and times of
   * the directories it writes into from here, without reading them again.
   */
  onTargetDir?: (dir: SnapshotDir, entry: Entry | undefined) => void;
  /**
   * Read the targets of symlinks on the `from` side (the default). A checkout writes only the
   * `to` side, so it skips them and reads one object less per removed or replaced symlink.
   */
  oldSymlinkTargets?: boolean;
}

/** State shared by every step of one diff. */
interface DiffWalk {
  objects: ObjectStore;
  out: Change[];
  onTargetDir?: (dir: SnapshotDir, entry: Entry | undefined) => void;
}

/**
 * Lists every changed path between two snapshot roots (an undefined `from` is an empty tree), in
 * walk order: parents before children, siblings bytewise. The contents of added or deleted
 * directories are listed too, each path with its own change. With a filter, only selected paths
 * are listed, and subtrees that hold none are not read.
 */
export async function diffSnapshots(objects: ObjectStore, from: SnapshotDir | undefined, to: SnapshotDir, filter?: DiffFilter, options: DiffOptions = {}): Promise<Change[]> {
  const walk: DiffWalk = { objects, out: [], onTargetDir: options.onTargetDir };
  const fullFilter = filter && filter.paths.some((limit) => limit.length === 0) ? undefined : filter;
  await diffDir(walk, from, to, undefined, fullFilter);
  const oldTargets = options.oldSymlinkTargets !== false;
  for (const change of walk.out) {
    if (change.old && oldTargets) await readSymlinkTarget(objects, change.old);
    if (change.new) await readSymlinkTarget(objects, change.new);
  }
  return walk.out;
}

/** Compares two directories. `toEntry` is the entry of `to` in its parent, unset for the root. */
async function diffDir(walk: DiffWalk, from: SnapshotDir | undefined, to: SnapshotDir, toEntry: Entry | undefined, filter?: DiffFilter): Promise<void> {
  if (from && from.rootfsOid === to.rootfsOid && from.metaOid === to.metaOid) return;
  const { objects, out } = walk;
  const isRoot = toEntry === undefined;
  // Both sides list only the children that differ; an added directory lists all of its own.
  let before: SnapshotListing | undefined;
  let after: SnapshotListing;
  if (from) [before, after] = await readChangedListings(objects, from, to);
  else after = await readSnapshotListing(objects, to);
  walk.onTargetDir?.(to, isRoot ? after.self : toEntry);

  if (isRoot && after.self && relate(Buffer.alloc(0), filter) === 'inside') {
    if (!before?.self) out.push({ path: Buffer.alloc(0), status: 'A', new: after.self });
    else if (recordOf(before.self) !== recordOf(after.self)) out.push({ path: Buffer.alloc(0), status: 'm', old: before.self, new: after.self });
  }

  // Children are parsed only where they differ: most children of a changed directory are not.
  const beforeChildren = before?.children ?? [];
  let i = 0;
  let j = 0;
  while (i < beforeChildren.length || j < after.children.length) {
    const a = beforeChildren[i];
    const b = after.children[j];
    let order: number;
    if (!a) order = 1;
    else if (!b) order = -1;
    else order = compareKeys(a.key, b.key);
    const relation = filter ? relate(joinPath(to.path, Buffer.from((order < 0 ? a : b).key, 'latin1')), filter) : 'inside';
    if (order < 0) {
      if (relation !== 'outside') await emitAll(walk, toSnapshotChild(before!, a), 'D', relation === 'inside' ? undefined : filter);
      i += 1;
    } else if (order > 0) {
      if (relation !== 'outside') await emitAll(walk, toSnapshotChild(after, b), 'A', relation === 'inside' ? undefined : filter);
      j += 1;
    } else {
      if (relation !== 'outside' && !sameListed(a, b)) {
        await diffChild(walk, toSnapshotChild(before!, a), toSnapshotChild(after, b), relation === 'inside' ? undefined : filter);
      }
      i += 1;
      j += 1;
    }
  }
}

/**
 * Reports whether two children of the same name are unchanged: the same record line, content id,
 * tree mode and subtree ids. Equal lines parse to equal records, so nothing below them differs.
 */
function sameListed(a: ListedChild, b: ListedChild): boolean {
  return a.line === b.line && a.stored?.id === b.stored?.id && a.stored?.mode === b.stored?.mode && a.metaId === b.metaId;
}

async function diffChild(walk: DiffWalk, a: SnapshotChild, b: SnapshotChild, filter?: DiffFilter): Promise<void> {
  const old = a.entry;
  const now = b.entry;
  const listed = filter === undefined;
  if (old.type !== now.type) {
    if (listed) walk.out.push({ path: now.path, status: 'T', old, new: now });
    if (a.dir) await emitBelow(walk, a.dir, 'D', filter);
    if (b.dir) await emitAll(walk, b, 'A', filter, false);
    return;
  }
  if (listed && contentDiffers(old, now)) walk.out.push({ path: now.path, status: 'M', old, new: now });
  else if (listed && recordOf(old) !== recordOf(now)) walk.out.push({ path: now.path, status: 'm', old, new: now });
  if (a.dir && b.dir) await diffDir(walk, a.dir, b.dir, now, filter);
}

function contentDiffers(old: Entry, now: Entry): boolean {
  if (old.type === 'file' || old.type === 'symlink') return old.oid !== now.oid;
  if (old.type === 'char' || old.type === 'block') return old.rdevMajor !== now.rdevMajor || old.rdevMinor !== now.rdevMinor;
  return false;
}

function recordOf(entry: Entry): string {
  return formatRecord(Buffer.alloc(0), entry);
}

/**
 * Lists `child` (unless `withSelf` is false) and everything below it. With a filter (child is
 * above a limit), it lists only what the filter selects.
 */
async function emitAll(walk: DiffWalk, child: SnapshotChild, status: 'A' | 'D', filter?: DiffFilter, withSelf = true): Promise<void> {
  if (!filter && withSelf) walk.out.push(status === 'A' ? { path: child.entry.path, status, new: child.entry } : { path: child.entry.path, status, old: child.entry });
  if (!child.dir) return;
  if (status === 'A') walk.onTargetDir?.(child.dir, child.entry);
  await emitBelow(walk, child.dir, status, filter);
}

async function emitBelow(walk: DiffWalk, dir: SnapshotDir, status: 'A' | 'D', filter?: DiffFilter): Promise<void> {
  const { objects, out } = walk;
  if (!filter) {
    await walkSnapshot(objects, dir, (entry, child) => {
      out.push(status === 'A' ? { path: entry.path, status, new: entry } : { path: entry.path, status, old: entry });
      if (status === 'A' && child.dir) walk.onTargetDir?.(child.dir, entry);
    }, LISTING);
    return;
  }
  const { children } = await readSnapshotDir(objects, dir, LISTING);
  for (const child of children) {
    const relation = relate(child.entry.path, filter);
    if (relation !== 'outside') await emitAll(walk, child, status, relation === 'inside' ? undefined : filter);
  }
}
