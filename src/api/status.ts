// snap status: what changed in the rootfs since HEAD.

import { diffSnapshots, type Change } from '../store/diff.js';
import { readCommit } from '../store/revision.js';
import { snapshotRoot } from '../store/snapshot-read.js';
import { openStore } from '../store/store.js';
import { captureWorktree, refreshStatCache } from '../store/worktree.js';
import type { CommonOptions } from './common.js';
import { pathFilter } from './diff.js';

/** Options of status. */
export interface StatusOptions extends CommonOptions {
  /** Only these paths and what is below them, as DiffOptions.paths. */
  paths?: (Buffer | string)[];
}

/** Result of status. */
export interface StatusResult {
  /** The current branch, or undefined when HEAD is detached. */
  branch?: string;
  /** HEAD's commit, or undefined before the first commit. */
  head?: string;
  changes: Change[];
}

/**
 * Compares the rootfs with HEAD (everything is added before the first commit). Writes nothing but
 * the stat cache, which it refreshes when the scan found stats it lacked (see refreshStatCache).
 */
export async function status(options: StatusOptions = {}): Promise<StatusResult> {
  const filter = pathFilter(options.paths);
  const store = await openStore(options);
  const head = await store.refs.head();
  const current = await captureWorktree(store, { write: false, onWarning: options.onWarning, onProgress: options.onProgress });
  await refreshStatCache(store, current);
  const base = head.oid ? await snapshotRoot(store.objects, (await readCommit(store, head.oid)).tree) : undefined;
  return { branch: head.branch, head: head.oid, changes: await diffSnapshots(store.objects, base, current.root, filter) };
}
