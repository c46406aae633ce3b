// snap log: the history of snapshots, newest first.

import type { Commit } from '../store/commit-object.js';
import { readCommit, resolveRevision } from '../store/revision.js';
import { openStore } from '../store/store.js';
import type { CommonOptions } from './common.js';

/** Options of log. */
export interface LogOptions extends CommonOptions {
  /** Where history starts (default HEAD). */
  revision?: string;
  /** At most this many commits. */
  maxCount?: number;
}

/** Lists commits reachable from `revision` through first parents, newest first. */
export async function log(options: LogOptions = {}): Promise<Commit[]> {
  const store = await openStore(options);
  const head = await store.refs.head();
  if (!options.revision && !head.oid) return [];
  let oid: string | undefined = await resolveRevision(store, options.revision ?? 'HEAD');
  const commits: Commit[] = [];
  while (oid && (options.maxCount === undefined || commits.length < options.maxCount)) {
    const commit = await readCommit(store, oid);
    commits.push(commit);
    oid = commit.parents[0];
  }
  return commits;
}
