// snap commit: record the rootfs as a new snapshot on the current branch.

import { SnapError } from '../errors.js';
import { encodeCommit } from '../store/commit-object.js';
import { readCommit } from '../store/revision.js';
import { commitIdentity } from '../store/ident.js';
import type { Signature } from '../store/refs.js';
import { openStore, withStoreLock } from '../store/store.js';
import { cacheNotSaved, captureWorktree } from '../store/worktree.js';
import type { CommonOptions } from './common.js';

/** Options of commit. */
export interface CommitOptions extends CommonOptions {
  /** The commit message; with `amend` it may be left out to keep HEAD's. */
  message?: string;
  /** Record a snapshot even when the tree equals HEAD's. */
  allowEmpty?: boolean;
  /** The author as 'Name <email>' (git commit --author); the committer stays the configured identity. */
  author?: string;
  /** The author date: '@SECONDS', ISO 8601 or RFC 2822 (git commit --date). */
  date?: string;
  /** Replace HEAD's commit instead of adding one on top (git commit --amend); the old one stays in the reflog. */
  amend?: boolean;
}

/** Result of commit. */
export interface CommitResult {
  oid: string;
  /** The branch moved, or undefined when HEAD is detached. */
  branch?: string;
  /** The first parent, or undefined for a root commit. */
  parent?: string;
  /** Every parent (more than one only when amending a merge made by git). */
  parents: string[];
  tree: string;
  author: Signature;
  committer: Signature;
  message: string;
  /** The commit replaced by --amend. */
  amended?: string;
  entries: number;
  filesRead: number;
  bytesRead: number;
}

/**
 * Records the rootfs as a commit whose parent is HEAD and moves the current branch (or the
 * detached HEAD) to it. Throws NOTHING_TO_COMMIT when the tree equals HEAD's and `allowEmpty` is
 * not set; the store is then unchanged but for content objects that were not stored yet.
 */
export async function commit(options: CommitOptions): Promise<CommitResult> {
  if (!options.amend && !options.message?.trim()) throw new SnapError('USAGE', "empty commit message; pass one with -m MESSAGE");
  const store = await openStore(options);
  const { author, committer } = commitIdentity(store.gitdir, { author: options.author, date: options.date });
  return withStoreLock(store, async () => {
    const head = await store.refs.head();
    if (options.amend && !head.oid) throw new SnapError('USAGE', "nothing to amend: HEAD has no snapshot yet; run 'snap commit -m MESSAGE' without --amend");
    const capture = await captureWorktree(store, { write: true, onWarning: options.onWarning, onProgress: options.onProgress });
    const headCommit = head.oid ? await readCommit(store, head.oid) : undefined;
    const parents = options.amend ? headCommit!.parents : head.oid ? [head.oid] : [];
    if (headCommit && !options.allowEmpty && !options.amend && headCommit.tree === capture.tree) {
      throw new SnapError('NOTHING_TO_COMMIT', `nothing to commit: the rootfs equals HEAD (${headCommit.oid.slice(0, 7)}); use --allow-empty to record it anyway`);
    }
    try {
      await capture.saveCache();
    } catch (error) {
      options.onWarning?.(cacheNotSaved(error));
    }

    const given = options.message?.trim() ? options.message : headCommit!.message;
    const message = given.endsWith('\n') ? given : `${given}\n`;
    const oid = await store.objects.write('commit', encodeCommit({ tree: capture.tree, parents, author, committer, message }));
    const subject = message.split('\n')[0];
    const kind = options.amend ? ' (amend)' : head.oid ? '' : ' (initial)';
    const reflogMessage = `commit${kind}: ${subject}`;
    if (head.branch !== undefined) {
      await store.refs.update(`refs/heads/${head.branch}`, oid, head.oid, committer, reflogMessage);
      await store.refs.log('HEAD', head.oid ?? '0'.repeat(40), oid, committer, reflogMessage);
    } else {
      await store.refs.setHead({ oid }, head.oid, oid, committer, reflogMessage);
    }
    return {
      oid, branch: head.branch, parent: parents[0], parents, tree: capture.tree, author, committer, message,
      ...(options.amend ? { amended: head.oid } : {}),
      entries: capture.entries, filesRead: capture.filesRead, bytesRead: capture.bytesRead,
    };
  });
}
