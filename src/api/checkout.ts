// snap checkout: make the rootfs exactly a snapshot, and move HEAD.

import { SnapError, showPath } from '../errors.js';
import { diffSnapshots } from '../store/diff.js';
import { readCommit, resolveRevision } from '../store/revision.js';
import { readSnapshotDir, snapshotRoot, type SnapshotDir } from '../store/snapshot-read.js';
import { identity, openStore, withStoreLock, type Store } from '../store/store.js';
import { captureWorktree } from '../store/worktree.js';
import { applyChanges } from '../tree/apply.js';
import type { Entry } from '../tree/entry.js';
import type { CommonOptions } from './common.js';
import { unreachableHead } from './reachability.js';

/** Options of checkout. */
export interface CheckoutOptions extends CommonOptions {
  revision: string;
  /** Discard uncommitted changes in the rootfs instead of refusing. */
  force?: boolean;
}

/** Result of checkout. */
export interface CheckoutResult {
  oid: string;
  /** The branch HEAD now points at, or undefined when HEAD is detached. */
  branch?: string;
  /** Paths removed, written or whose attributes were restored. */
  changed: number;
}

/**
 * Makes the rootfs exactly the snapshot `revision` and points HEAD at it: at the branch when
 * `revision` is a branch name, else detached at the commit. Throws DIRTY_TREE (naming the changed
 * paths in the message and `data.paths`) when the rootfs differs from HEAD and `force` is unset;
 * nothing is changed then. Warns through onWarning when a detached HEAD commit that no branch or
 * tag reaches is left behind.
 */
export async function checkout(options: CheckoutOptions): Promise<CheckoutResult> {
  const store = await openStore(options);
  return withStoreLock(store, async () => {
    const oid = await resolveRevision(store, options.revision);
    const target = await snapshotRoot(store.objects, (await readCommit(store, oid)).tree);
    const branch = (await store.refs.read(`refs/heads/${options.revision}`)) ? options.revision : undefined;
    const head = await store.refs.head();

    const current = await captureWorktree(store, { write: false, onWarning: options.onWarning });
    if (!options.force && head.oid) {
      const dirty = await diffSnapshots(store.objects, await snapshotRoot(store.objects, (await readCommit(store, head.oid)).tree), current.root);
      if (dirty.length > 0) {
        const shown = dirty.slice(0, 10).map((change) => `${change.status} ${showPath(change.path) || '.'}`);
        const more = dirty.length > 10 ? ` and ${dirty.length - 10} more` : '';
        throw new SnapError('DIRTY_TREE', `the rootfs has uncommitted changes (${shown.join(', ')}${more}); commit them, or use --force to discard them`, {
          data: { paths: dirty.map((change) => showPath(change.path)) },
        });
      }
    }

    const changes = await diffSnapshots(store.objects, current.root, target);
    await applyChanges(Buffer.from(store.rootfs), changes, store.objects, dirLookup(store, target),
      (progress) => options.onProgress?.({ phase: 'checkout', done: progress.done, total: progress.total }));

    const who = identity(store);
    const leaving = await unreachableHead(store, head);
    await store.refs.setHead(branch ? { branch } : { oid }, head.oid, oid, who, `checkout: moving from ${head.branch ?? head.oid} to ${options.revision}`);
    if (leaving && leaving !== oid) {
      options.onWarning?.(`leaving commit ${leaving.slice(0, 7)} behind: no branch or tag reaches it; keep it with 'snap branch NAME ${leaving.slice(0, 7)}'`);
    }
    return { oid, branch, changed: changes.length };
  });
}

/** Finds directory entries of a snapshot by path, reading each directory at most once. */
function dirLookup(store: Store, root: SnapshotDir): (path: Buffer) => Promise<Entry | undefined> {
  const dirs = new Map<string, Promise<Awaited<ReturnType<typeof readSnapshotDir>>>>();
  const read = (dir: SnapshotDir) => {
    const key = dir.path.toString('latin1');
    let found = dirs.get(key);
    if (!found) {
      found = readSnapshotDir(store.objects, dir);
      dirs.set(key, found);
    }
    return found;
  };
  return async (path) => {
    let dir = root;
    let listing = await read(dir);
    if (path.length === 0) return listing.self;
    const parts = path.toString('latin1').split('/');
    for (let i = 0; i < parts.length; i++) {
      const child = listing.children.find((c) => c.name.toString('latin1') === parts[i]);
      if (!child) return undefined;
      if (i === parts.length - 1) return child.entry;
      if (!child.dir) return undefined;
      dir = child.dir;
      listing = await read(dir);
    }
    return undefined;
  };
}
