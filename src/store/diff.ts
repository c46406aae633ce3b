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
 * Lists every changed path between two snapshot roots (an undefined `from` is an empty tree), in
 * walk order: parents before children, siblings bytewise. The contents of added or deleted
 * directories are listed too, each path with its own change.
 */
export async function diffSnapshots(objects: ObjectStore, from: SnapshotDir | undefined, to: SnapshotDir): Promise<Change[]> {
  const changes: Change[] = [];
  await diffDir(objects, from, to, changes, true);
  return changes;
}

async function diffDir(objects: ObjectStore, from: SnapshotDir | undefined, to: SnapshotDir, out: Change[], isRoot: boolean): Promise<void> {
  if (from && from.rootfsOid === to.rootfsOid && from.metaOid === to.metaOid) return;
  const before = from ? await readSnapshotDir(objects, from) : { self: undefined, children: [] as SnapshotChild[] };
  const after = await readSnapshotDir(objects, to);

  if (isRoot && after.self) {
    if (!before.self) out.push({ path: Buffer.alloc(0), status: 'A', new: after.self });
    else if (recordOf(before.self) !== recordOf(after.self)) out.push({ path: Buffer.alloc(0), status: 'm', old: before.self, new: after.self });
  }

  let i = 0;
  let j = 0;
  while (i < before.children.length || j < after.children.length) {
    const a = before.children[i];
    const b = after.children[j];
    const order = !a ? 1 : !b ? -1 : Buffer.compare(a.name, b.name);
    if (order < 0) {
      await emitAll(objects, a, 'D', out);
      i += 1;
    } else if (order > 0) {
      await emitAll(objects, b, 'A', out);
      j += 1;
    } else {
      await diffChild(objects, a, b, out);
      i += 1;
      j += 1;
    }
  }
}

async function diffChild(objects: ObjectStore, a: SnapshotChild, b: SnapshotChild, out: Change[]): Promise<void> {
  const old = a.entry;
  const now = b.entry;
  if (old.type !== now.type) {
    out.push({ path: now.path, status: 'T', old, new: now });
    if (a.dir) await emitBelow(objects, a.dir, 'D', out);
    if (b.dir) await emitBelow(objects, b.dir, 'A', out);
    return;
  }
  if (contentDiffers(old, now)) out.push({ path: now.path, status: 'M', old, new: now });
  else if (recordOf(old) !== recordOf(now)) out.push({ path: now.path, status: 'm', old, new: now });
  if (a.dir && b.dir) await diffDir(objects, a.dir, b.dir, out, false);
}

function contentDiffers(old: Entry, now: Entry): boolean {
  if (old.type === 'file' || old.type === 'symlink') return old.oid !== now.oid;
  if (old.type === 'char' || old.type === 'block') return old.rdevMajor !== now.rdevMajor || old.rdevMinor !== now.rdevMinor;
  return false;
}

function recordOf(entry: Entry): string {
  return formatRecord(Buffer.alloc(0), entry);
}

async function emitAll(objects: ObjectStore, child: SnapshotChild, status: 'A' | 'D', out: Change[]): Promise<void> {
  out.push(status === 'A' ? { path: child.entry.path, status, new: child.entry } : { path: child.entry.path, status, old: child.entry });
  if (child.dir) await emitBelow(objects, child.dir, status, out);
}

async function emitBelow(objects: ObjectStore, dir: SnapshotDir, status: 'A' | 'D', out: Change[]): Promise<void> {
  await walkSnapshot(objects, dir, (entry) => {
    out.push(status === 'A' ? { path: entry.path, status, new: entry } : { path: entry.path, status, old: entry });
  });
}
