// snap reset: move the current branch (or a detached HEAD) to another snapshot, and with --hard
// make the rootfs that snapshot too.

import { SnapError } from '../errors.js';
import { readCommit, resolveRevision } from '../store/revision.js';
import { snapshotRoot } from '../store/snapshot-read.js';
import { identity, openStore, withStoreLock } from '../store/store.js';
import { captureWorktree } from '../store/worktree.js';
import { refuseDirty, writeRootfs } from './checkout.js';
import type { CommonOptions } from './common.js';
import { leftBehindWarning, reachableFromRefs } from './reachability.js';

/** Options of reset. */
export interface ResetOptions extends CommonOptions {
  /** Where to move (default HEAD). */
  revision?: string;
  /**
   * 'hard' also makes the rootfs the snapshot; 'soft' (git's --soft and --mixed, the same in snap,
   * which has no index) moves only the branch and leaves the rootfs as it is.
   */
  mode: 'hard' | 'soft';
  /** With 'hard': discard uncommitted changes in the rootfs instead of refusing. */
  force?: boolean;
}

/** Result of reset. */
export interface ResetResult {
  /** Where the branch or HEAD points now. */
  oid: string;
  /** Where it pointed before (also saved as ORIG_HEAD). */
  from: string;
  /** The branch moved, or undefined when HEAD is detached. */
  branch?: string;
  mode: 'hard' | 'soft';
  /** Paths of the rootfs removed, written or whose attributes were restored (0 for soft). */
  changed: number;
}

/**
 * Moves the current branch, or a detached HEAD, to `revision`, logs the move in the reflogs
 * ("reset: moving to REV") and saves the old position as ORIG_HEAD, as git reset does. With mode
 * 'hard' the rootfs becomes the snapshot, and uncommitted changes are refused with DIRTY_TREE
 * unless `force` (git would discard them silently). Warns through onWarning when the commit left
 * behind is reachable from no branch, tag or HEAD any more.
 */
export async function reset(options: ResetOptions): Promise<ResetResult> {
  const store = await openStore(options);
  return withStoreLock(store, async () => {
    const head = await store.refs.head();
    if (!head.oid) throw new SnapError('NOT_FOUND', "HEAD has no snapshot yet, so there is nothing to reset; run 'snap commit' first");
    const revision = options.revision ?? 'HEAD';
    const oid = await resolveRevision(store, revision);
    let changed = 0;
    if (options.mode === 'hard') {
      const current = await captureWorktree(store, { write: false, onWarning: options.onWarning });
      if (!options.force) await refuseDirty(store, head.oid, current.root);
      const target = await snapshotRoot(store.objects, (await readCommit(store, oid)).tree);
      changed = await writeRootfs(store, current, target, options);
    }
    const who = identity(store);
    const message = `reset: moving to ${revision}`;
    await store.refs.writePseudo('ORIG_HEAD', head.oid);
    if (head.branch !== undefined) {
      await store.refs.update(`refs/heads/${head.branch}`, oid, head.oid, who, message);
      await store.refs.log('HEAD', head.oid, oid, who, message);
    } else {
      await store.refs.setHead({ oid }, head.oid, oid, who, message);
    }
    if (head.oid !== oid && !(await reachableFromRefs(store, head.oid))) options.onWarning?.(leftBehindWarning(head.oid));
    return { oid, from: head.oid, branch: head.branch, mode: options.mode, changed };
  });
}
