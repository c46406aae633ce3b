// snap log: the history of snapshots, newest first, with what each changed and what it added to
// the store.

import { SnapError } from '../errors.js';
import type { Commit } from '../store/commit-object.js';
import { diffSnapshots, type Change } from '../store/diff.js';
import { DiskSizes } from '../store/disk-size.js';
import type { ObjectStore } from '../store/objects.js';
import { peelToCommit, readCommit, resolveRange } from '../store/revision.js';
import { snapshotRoot } from '../store/snapshot-read.js';
import { openStore, type Store } from '../store/store.js';
import { MODE_TREE, parseTree } from '../store/tree-object.js';
import type { CommonOptions } from './common.js';
import { pathFilter } from './diff.js';

/** Options of log. */
export interface LogOptions extends CommonOptions {
  /** Where history starts (default HEAD). Kept for callers of the first API; see `revisions`. */
  revision?: string;
  /**
   * Revisions as git log takes them: 'B' (start at B), 'A..B' (B but not what A reaches; an empty
   * side is HEAD) and '^A' (not what A reaches). Default: HEAD, or nothing with `all`.
   */
  revisions?: string[];
  /** Start from every branch, every tag and HEAD too (git log --all). */
  all?: boolean;
  /** At most this many commits. */
  maxCount?: number;
  /** Only commits that change these paths or what is below them (rootfs-relative, as DiffOptions.paths). */
  paths?: (Buffer | string)[];
  /** Follow only first parents (git log --first-parent). */
  firstParent?: boolean;
  /** Fill in `changes`: each commit's changes against its first parent (limited to `paths`). */
  changes?: boolean;
  /** Fill in `added`: what each commit added to the store. */
  sizes?: boolean;
}

/** What a snapshot added to the store: objects reachable from it and not from its parents. */
export interface AddedSize {
  /** Bytes those objects take on disk (compressed; loose file sizes, or spans in a pack). */
  bytes: number;
  /** How many objects: the commit itself, new trees and new blobs. */
  objects: number;
}

/** One commit of a log. */
export interface LogEntry extends Commit {
  /** Refs pointing at this commit: 'HEAD' first, then full branch names, then full tag names, each sorted. */
  refs: string[];
  /** Set with `changes`: the changes against the first parent (the empty tree for a root commit). */
  changes?: Change[];
  /** Set with `sizes`. */
  added?: AddedSize;
}

/**
 * Lists commits reachable from the given revisions and not from the excluded ones, newest first by
 * committer date (ties: the order they were reached in), following every parent as git log does.
 * With `paths`, only commits whose tree differs from their first parent's under those paths are
 * listed. Returns an empty list before the first commit. Writes nothing.
 */
export async function log(options: LogOptions = {}): Promise<LogEntry[]> {
  const store = await openStore(options);
  const filter = pathFilter(options.paths);
  const head = await store.refs.head();
  const args = options.revisions ?? (options.revision !== undefined ? [options.revision] : []);
  if (args.length === 0 && !options.all && !head.oid) return [];
  const range = await resolveRange(store, args.length === 0 && !options.all ? ['HEAD'] : args);
  const decorations = await refDecorations(store);
  if (options.all) {
    if (head.oid) range.include.push(head.oid);
    for (const oid of decorations.keys()) range.include.push(oid);
  }

  const excluded = await ancestors(store, range.exclude);
  const queue = new CommitQueue();
  const queued = new Set<string>();
  for (const oid of range.include) {
    if (queued.has(oid) || excluded.has(oid)) continue;
    queued.add(oid);
    queue.push(await readCommit(store, oid));
  }

  const sizes = options.sizes ? new DiskSizes(store.gitdir) : undefined;
  const entries: LogEntry[] = [];
  while (queue.size > 0 && (options.maxCount === undefined || entries.length < options.maxCount)) {
    const commit = queue.pop()!;
    const parents = options.firstParent ? commit.parents.slice(0, 1) : commit.parents;
    for (const parent of parents) {
      if (queued.has(parent) || excluded.has(parent)) continue;
      queued.add(parent);
      const next = await readCommit(store, parent).catch((error) => {
        throw new SnapError('CORRUPT', `parent ${parent.slice(0, 7)} of ${commit.oid.slice(0, 7)} is missing from the store (a shallow or damaged store?); run 'git fsck' on it`, { cause: error });
      });
      queue.push(next);
    }

    let changes: Change[] | undefined;
    if (filter || options.changes) {
      const parent = commit.parents[0];
      const before = parent ? await snapshotRoot(store.objects, (await readCommit(store, parent)).tree) : undefined;
      changes = await diffSnapshots(store.objects, before, await snapshotRoot(store.objects, commit.tree), filter);
      if (filter && changes.length === 0) continue;
    }
    const entry: LogEntry = { ...commit, refs: decorations.get(commit.oid) ?? [] };
    if (options.changes) entry.changes = changes;
    if (sizes) entry.added = await addedSize(store, commit, sizes);
    entries.push(entry);
  }
  return entries;
}

/** Returns every commit reachable from `tips`, themselves included. */
async function ancestors(store: Store, tips: string[]): Promise<Set<string>> {
  const seen = new Set<string>();
  const stack = [...tips];
  while (stack.length > 0) {
    const oid = stack.pop()!;
    if (seen.has(oid)) continue;
    seen.add(oid);
    stack.push(...(await readCommit(store, oid)).parents);
  }
  return seen;
}

/** Maps commit ids to the refs at them: HEAD first, then branches, then tags, each sorted. */
async function refDecorations(store: Store): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  const add = (oid: string, name: string) => {
    const names = map.get(oid);
    if (names) names.push(name);
    else map.set(oid, [name]);
  };
  const head = await store.refs.head();
  if (head.oid) add(head.oid, 'HEAD');
  for (const ref of await store.refs.list('refs/heads/')) add(ref.oid, ref.name);
  for (const ref of await store.refs.list('refs/tags/')) {
    const oid = await peelToCommit(store, ref.oid).catch(() => undefined);
    if (oid) add(oid, ref.name);
  }
  return map;
}

/** A max-queue of commits by committer time; equal times come out in the order they went in, as in git. */
class CommitQueue {
  private items: { commit: Commit; order: number }[] = [];
  private counter = 0;

  get size(): number {
    return this.items.length;
  }

  push(commit: Commit): void {
    this.items.push({ commit, order: this.counter++ });
    this.items.sort((a, b) => b.commit.committer.timestamp - a.commit.committer.timestamp || a.order - b.order);
  }

  pop(): Commit | undefined {
    return this.items.shift()?.commit;
  }
}

/**
 * Computes what a commit added to the store: the commit object, and the trees and blobs reachable
 * from it and not from its parents. Only trees that differ from the parents' trees at the same
 * path are read; an object that a parent holds in one of those trees (a rename, a move) is not
 * counted, but content copied unchanged from a path that did not change is counted again although
 * the store keeps it once.
 */
export async function addedSize(store: Store, commit: Commit, sizes = new DiskSizes(store.gitdir)): Promise<AddedSize> {
  const parentTrees: string[] = [];
  for (const parent of commit.parents) parentTrees.push((await readCommit(store, parent)).tree);
  const found = await newObjects(store.objects, commit.tree, parentTrees);
  found.add(commit.oid);
  let bytes = 0;
  for (const oid of found) bytes += (await sizes.size(oid)) ?? 0;
  return { bytes, objects: found.size };
}

async function newObjects(objects: ObjectStore, tree: string, parentTrees: string[]): Promise<Set<string>> {
  const fresh = new Set<string>();
  const below = new Map<string, string[]>();
  const parentSeen = new Set<string>(parentTrees);

  const walk = async (oid: string, others: string[]): Promise<void> => {
    if (others.includes(oid) || fresh.has(oid)) return;
    fresh.add(oid);
    const children: string[] = [];
    below.set(oid, children);
    const theirs = new Map<string, { mode: string; oid: string }[]>();
    for (const other of others) {
      for (const item of parseTree(other, await objects.readTyped(other, 'tree'))) {
        parentSeen.add(item.oid);
        const key = item.name.toString('latin1');
        const list = theirs.get(key);
        if (list) list.push(item);
        else theirs.set(key, [item]);
      }
    }
    for (const item of parseTree(oid, await objects.readTyped(oid, 'tree'))) {
      const same = theirs.get(item.name.toString('latin1')) ?? [];
      if (same.some((other) => other.oid === item.oid)) continue;
      if (item.mode === '160000') continue;
      children.push(item.oid);
      if (item.mode === MODE_TREE) await walk(item.oid, same.filter((other) => other.mode === MODE_TREE).map((other) => other.oid));
      else fresh.add(item.oid);
    }
  };
  await walk(tree, parentTrees);

  const drop = (oid: string): void => {
    if (!fresh.delete(oid)) return;
    for (const child of below.get(oid) ?? []) drop(child);
  };
  for (const oid of parentSeen) drop(oid);
  return fresh;
}
