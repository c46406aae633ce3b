// snap commit: record the rootfs as a new snapshot on the current branch.

import { SnapError } from '../errors.js';
import { encodeCommit } from '../store/commit-object.js';
import { readCommit } from '../store/revision.js';
import { identity, openStore, withStoreLock } from '../store/store.js';
import { captureWorktree } from '../store/worktree.js';
import type { CommonOptions } from './common.js';

/** Options of commit. */
export interface CommitOptions extends CommonOptions {
  message: string;
  /** Record a snapshot even when the tree equals HEAD's. */
  allowEmpty?: boolean;
}

/** Result of commit. */
export interface CommitResult {
  oid: string;
  /** The branch moved, or undefined when HEAD is detached. */
  branch?: string;
  parent?: string;
  entries: number;
  filesRead: number;
  bytesRead: number;
}

/**
 * Records the rootfs as a commit whose parent is HEAD and moves the current branch (or the
 * detached HEAD) to it. Throws NOTHING_TO_COMMIT when the tree equals HEAD's and `allowEmpty` is
 * not set; the store is then unchanged but for new content objects and the stat cache.
 */
export async function commit(options: CommitOptions): Promise<CommitResult> {
  if (!options.message.trim()) throw new SnapError('USAGE', "empty commit message; pass one with -m MESSAGE");
  const store = await openStore(options);
  return withStoreLock(store, async () => {
    const head = await store.refs.head();
    const capture = await captureWorktree(store, { write: true, onWarning: options.onWarning, onProgress: options.onProgress });
    if (head.oid && !options.allowEmpty) {
      const parent = await readCommit(store, head.oid);
      if (parent.tree === capture.tree) {
        throw new SnapError('NOTHING_TO_COMMIT', `nothing to commit: the rootfs equals HEAD (${head.oid.slice(0, 7)}); use --allow-empty to record it anyway`);
      }
    }

    const who = identity(store);
    const oid = await store.objects.write('commit', encodeCommit({
      tree: capture.tree,
      parents: head.oid ? [head.oid] : [],
      author: who,
      committer: who,
      message: options.message,
    }));
    const subject = options.message.split('\n')[0];
    const reflogMessage = `commit${head.oid ? '' : ' (initial)'}: ${subject}`;
    if (head.branch !== undefined) {
      await store.refs.update(`refs/heads/${head.branch}`, oid, head.oid, who, reflogMessage);
      await store.refs.log('HEAD', head.oid ?? '0'.repeat(40), oid, who, reflogMessage);
    } else {
      await store.refs.setHead({ oid }, head.oid, oid, who, reflogMessage);
    }
    return { oid, branch: head.branch, parent: head.oid, entries: capture.entries, filesRead: capture.filesRead, bytesRead: capture.bytesRead };
  });
}
