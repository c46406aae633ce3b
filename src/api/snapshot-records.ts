// The tar records of a whole snapshot, made while walking it. An export keeps one directory listing
// per level of the walk in memory instead of an entry object for every path.

import { checkSnapshotEntry, type TarRecord } from '../oci/layer-plan.js';
import type { ObjectStore } from '../store/objects.js';
import { readSnapshotDir, walkSnapshot, type SnapshotDir } from '../store/snapshot-read.js';
import type { Entry } from '../tree/entry.js';

/**
 * Visits the rootfs entry (when the snapshot records one) and then every entry below it, in the
 * layer order of planLayer: parents before children, names compared bytewise. walkSnapshot lists
 * siblings bytewise, so its order is that order.
 */
async function walkEntries(objects: ObjectStore, root: SnapshotDir, visit: (entry: Entry) => void): Promise<void> {
  const { self } = await readSnapshotDir(objects, root);
  if (self) visit(self);
  await walkSnapshot(objects, root, (entry) => visit(entry));
}

/**
 * Checks every entry of the snapshot as planLayer would and returns how many there are. Run it
 * before snapshotRecords so that a snapshot that cannot be exported fails before any byte is written.
 */
export async function checkSnapshot(objects: ObjectStore, root: SnapshotDir): Promise<number> {
  let count = 0;
  await walkEntries(objects, root, (entry) => {
    checkSnapshotEntry(entry);
    count += 1;
  });
  return count;
}

/**
 * Yields the tar records of the whole snapshot, the ones planLayer makes from the same entries: the
 * first member of a hardlink set in layer order carries the content, and later members become
 * hardlink records naming it.
 */
export async function* snapshotRecords(objects: ObjectStore, root: SnapshotDir): AsyncGenerator<TarRecord> {
  const firstNames = new Map<string, Buffer>();
  const toRecord = (entry: Entry): TarRecord => {
    const name = checkSnapshotEntry(entry);
    if (entry.linkTarget === undefined) return { kind: 'entry', name, entry };
    const key = entry.linkTarget.toString('latin1');
    const linkname = firstNames.get(key);
    if (linkname) return { kind: 'hardlink', name, entry, linkname };
    firstNames.set(key, name);
    return { kind: 'entry', name, entry };
  };

  const { self } = await readSnapshotDir(objects, root);
  if (self) yield toRecord(self);
  yield* walkDir(root);

  async function* walkDir(dir: SnapshotDir): AsyncGenerator<TarRecord> {
    const { children } = await readSnapshotDir(objects, dir);
    for (const child of children) {
      yield toRecord(child.entry);
      if (child.dir) yield* walkDir(child.dir);
    }
  }
}
