// Comparing two snapshots directory by directory. Subtrees whose rootfs and meta tree ids are
// both equal are skipped unread, so the cost follows the size of the change.

import type { Entry } from '../tree/entry.js';
import { formatRecord } from './meta-format.js';
import type { ObjectStore } from './objects.js';
import { readSnapshotDir, walkSnapshot, type SnapshotChild, type SnapshotDir } from './snapshot-read.js';

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

/**
 * Lists every changed path between two snapshot roots (an undefined `from` is an empty tree), in
 * walk order: parents before children, siblings bytewise. The contents of added or deleted
 * directories are listed too, each path with its own change. With a filter, only selected paths
 * are listed, and subtrees that hold none are not read.
 */
export async function diffSnapshots(objects: ObjectStore, from: SnapshotDir | undefined, to: SnapshotDir, filter?: DiffFilter): Promise<Change[]> {
  const changes: Change[] = [];
  const fullFilter = filter && filter.paths.some((limit) => limit.length === 0) ? undefined : filter;
  await diffDir(objects, from, to, changes, true, fullFilter);
  return changes;
}

async function diffDir(objects: ObjectStore, from: SnapshotDir | undefined, to: SnapshotDir, out: Change[], isRoot: boolean, filter?: DiffFilter): Promise<void> {
  if (from && from.rootfsOid === to.rootfsOid && from.metaOid === to.metaOid) return;
  const before = from ? await readSnapshotDir(objects, from) : { self: undefined, children: [] as SnapshotChild[] };
  const after = await readSnapshotDir(objects, to);

  if (isRoot && after.self && relate(Buffer.alloc(0), filter) === 'inside') {
    if (!before.self) out.push({ path: Buffer.alloc(0), status: 'A', new: after.self });
    else if (recordOf(before.self) !== recordOf(after.self)) out.push({ path: Buffer.alloc(0), status: 'm', old: before.self, new: after.self });
  }

  let i = 0;
  let j = 0;
  while (i < before.children.length || j < after.children.length) {
    const a = before.children[i];
    const b = after.children[j];
    const order = !a ? 1 : !b ? -1 : Buffer.compare(a.name, b.name);
    const relation = relate((order < 0 ? a : b).entry.path, filter);
    if (order < 0) {
      if (relation !== 'outside') await emitAll(objects, a, 'D', out, relation === 'inside' ? undefined : filter);
      i += 1;
    } else if (order > 0) {
      if (relation !== 'outside') await emitAll(objects, b, 'A', out, relation === 'inside' ? undefined : filter);
      j += 1;
    } else {
      if (relation !== 'outside') await diffChild(objects, a, b, out, relation === 'inside' ? undefined : filter);
      i += 1;
      j += 1;
    }
  }
}

async function diffChild(objects: ObjectStore, a: SnapshotChild, b: SnapshotChild, out: Change[], filter?: DiffFilter): Promise<void> {
  const old = a.entry;
  const now = b.entry;
  const listed = filter === undefined;
  if (old.type !== now.type) {
    if (listed) out.push({ path: now.path, status: 'T', old, new: now });
    if (a.dir) await emitBelow(objects, a.dir, 'D', out, filter);
    if (b.dir) await emitBelow(objects, b.dir, 'A', out, filter);
    return;
  }
  if (listed && contentDiffers(old, now)) out.push({ path: now.path, status: 'M', old, new: now });
  else if (listed && recordOf(old) !== recordOf(now)) out.push({ path: now.path, status: 'm', old, new: now });
  if (a.dir && b.dir) await diffDir(objects, a.dir, b.dir, out, false, filter);
}

function contentDiffers(old: Entry, now: Entry): boolean {
  if (old.type === 'file' || old.type === 'symlink') return old.oid !== now.oid;
  if (old.type === 'char' || old.type === 'block') return old.rdevMajor !== now.rdevMajor || old.rdevMinor !== now.rdevMinor;
  return false;
}

function recordOf(entry: Entry): string {
  return formatRecord(Buffer.alloc(0), entry);
}

/** Lists `child` and everything below it; with a filter (child is above a limit), only what it selects. */
async function emitAll(objects: ObjectStore, child: SnapshotChild, status: 'A' | 'D', out: Change[], filter?: DiffFilter): Promise<void> {
  if (!filter) out.push(status === 'A' ? { path: child.entry.path, status, new: child.entry } : { path: child.entry.path, status, old: child.entry });
  if (child.dir) await emitBelow(objects, child.dir, status, out, filter);
}

async function emitBelow(objects: ObjectStore, dir: SnapshotDir, status: 'A' | 'D', out: Change[], filter?: DiffFilter): Promise<void> {
  if (!filter) {
    await walkSnapshot(objects, dir, (entry) => {
      out.push(status === 'A' ? { path: entry.path, status, new: entry } : { path: entry.path, status, old: entry });
    });
    return;
  }
  const { children } = await readSnapshotDir(objects, dir);
  for (const child of children) {
    const relation = relate(child.entry.path, filter);
    if (relation !== 'outside') await emitAll(objects, child, status, out, relation === 'inside' ? undefined : filter);
  }
}
