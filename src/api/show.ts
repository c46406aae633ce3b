// snap show: one snapshot's commit and its changes against its first parent.

import { SnapError, showPath as showPath_ } from '../errors.js';
import type { Commit } from '../store/commit-object.js';
import { diffSnapshots } from '../store/diff.js';
import { readCommit, resolveRevision } from '../store/revision.js';
import { readSnapshotDir, snapshotRoot, type SnapshotChild, type SnapshotDir } from '../store/snapshot-read.js';
import { openStore } from '../store/store.js';
import type { Entry } from '../tree/entry.js';
import type { CommonOptions } from './common.js';
import { pathFilter } from './diff.js';
import { contentReader, patchesOf, type Comparison } from './patch.js';

/** Options of show. */
export interface ShowOptions extends CommonOptions {
  /** The snapshot to show (default HEAD). */
  revision?: string;
  /** Only these paths and what is below them, as DiffOptions.paths. */
  paths?: (Buffer | string)[];
}

/** Result of show: the commit, and the comparison with its first parent (the empty tree for a root commit). */
export interface ShowResult extends Comparison {
  commit: Commit;
}

/** Reads a snapshot's commit and compares it with its first parent. Writes nothing. */
export async function show(options: ShowOptions = {}): Promise<ShowResult> {
  const filter = pathFilter(options.paths);
  const store = await openStore(options);
  const oid = await resolveRevision(store, options.revision ?? 'HEAD');
  const commit = await readCommit(store, oid);
  const parent = commit.parents[0];
  const parentRoot = parent ? await snapshotRoot(store.objects, (await readCommit(store, parent)).tree) : undefined;
  const root = await snapshotRoot(store.objects, commit.tree);
  const changes = await diffSnapshots(store.objects, parentRoot, root, filter);
  const read = contentReader(store, false);
  return { commit, from: parent, to: commit.oid, changes, patches: (patchOptions) => patchesOf(changes, read, patchOptions) };
}

/** Options of showPath. */
export interface ShowPathOptions extends CommonOptions {
  /** The snapshot to read from. */
  revision: string;
  /** A path relative to the top of the rootfs ('' or '.' for the rootfs itself). */
  path: Buffer | string;
}

/** One path of a snapshot, as `git show REV:PATH` shows it. */
export interface ShowPathResult {
  commit: string;
  path: Buffer;
  entry: Entry;
  /** The content of a regular file. */
  content?: Buffer;
  /** The entries of a directory, in byte order of their names. */
  children?: Entry[];
}

/**
 * Reads one path of a snapshot: a file with its content, a directory with its entries, or any
 * other entry alone. Throws NOT_FOUND when the snapshot has no such path.
 */
export async function showPath(options: ShowPathOptions): Promise<ShowPathResult> {
  const filter = pathFilter([options.path]);
  const path = filter?.paths[0] ?? Buffer.alloc(0);
  const store = await openStore(options);
  const oid = await resolveRevision(store, options.revision);
  let dir: SnapshotDir | undefined = await snapshotRoot(store.objects, (await readCommit(store, oid)).tree);
  let listing = await readSnapshotDir(store.objects, dir);
  let entry = listing.self;
  const parts = path.length === 0 ? [] : path.toString('latin1').split('/');
  for (const [i, part] of parts.entries()) {
    const child: SnapshotChild | undefined = dir ? listing.children.find((c) => c.name.toString('latin1') === part) : undefined;
    if (!child) {
      const parent = parts.slice(0, i).join('/');
      throw new SnapError('NOT_FOUND', `path '${showPath_(path)}' is not in ${options.revision}; list what is there with 'snap show ${options.revision}:${Buffer.from(parent, 'latin1').toString()}'`);
    }
    entry = child.entry;
    dir = child.dir;
    if (dir && i < parts.length - 1) listing = await readSnapshotDir(store.objects, dir);
  }
  if (!entry) throw new SnapError('CORRUPT', `snapshot ${oid.slice(0, 7)} records no entry for the rootfs itself; run 'git fsck' on the store`);
  const result: ShowPathResult = { commit: oid, path, entry };
  if (entry.type === 'file') result.content = await store.objects.readTyped(entry.oid!, 'blob');
  if (entry.type === 'dir' && dir) {
    const inside = parts.length === 0 ? listing : await readSnapshotDir(store.objects, dir);
    result.children = inside.children.map((child) => child.entry);
  } else if (entry.type === 'dir') {
    result.children = [];
  }
  return result;
}
