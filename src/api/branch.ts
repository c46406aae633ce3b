// snap branch: list, create, delete and rename branches, as git branch does.

import { SnapError } from '../errors.js';
import { checkRefName } from '../store/refs.js';
import { readCommit, resolveRevision } from '../store/revision.js';
import { identity, openStore } from '../store/store.js';
import type { CommonOptions } from './common.js';
import { leftBehindWarning, reachableFromRefs } from './reachability.js';

/** One branch. */
export interface BranchInfo {
  name: string;
  oid: string;
  /** HEAD points at this branch. */
  current: boolean;
  /** The tip commit's subject line. */
  subject: string;
}

/** The branches of a store and where HEAD is. */
export interface BranchList {
  branches: BranchInfo[];
  /** The current branch, or undefined when HEAD is detached. */
  current?: string;
  /** HEAD's commit, or undefined before the first commit. */
  head?: string;
}

/** Lists branches sorted by name. A current branch without commits yet is listed with an empty oid. */
export async function listBranches(options: CommonOptions = {}): Promise<BranchList> {
  const store = await openStore(options);
  const head = await store.refs.head();
  const branches: BranchInfo[] = [];
  for (const ref of await store.refs.list('refs/heads/')) {
    const name = ref.name.slice('refs/heads/'.length);
    const subject = (await readCommit(store, ref.oid).catch(() => undefined))?.message.split('\n')[0] ?? '';
    branches.push({ name, oid: ref.oid, current: name === head.branch, subject });
  }
  return { branches, current: head.branch, head: head.oid };
}

/** Options of createBranch. */
export interface CreateBranchOptions extends CommonOptions {
  name: string;
  /** Where the branch starts (default HEAD). */
  revision?: string;
  /** Move an existing branch (not the current one) to `revision`, as git branch -f. */
  force?: boolean;
}

/**
 * Creates refs/heads/NAME at `revision` without checking it out. Throws USAGE for a bad name,
 * ALREADY_EXISTS when it exists (unless `force`; the current branch is never forced: use reset).
 */
export async function createBranch(options: CreateBranchOptions): Promise<BranchInfo & { replaced?: string }> {
  checkRefName(options.name, 'branch');
  const store = await openStore(options);
  const ref = `refs/heads/${options.name}`;
  const oid = await resolveRevision(store, options.revision ?? 'HEAD');
  const head = await store.refs.head();
  const existing = await store.refs.read(ref);
  if (existing && !options.force) {
    throw new SnapError('ALREADY_EXISTS', `branch '${options.name}' already exists (at ${existing.slice(0, 7)}); pick another name, or use -f to move it`);
  }
  if (existing && head.branch === options.name) {
    throw new SnapError('USAGE', `branch '${options.name}' is checked out; move it with 'snap reset --hard ${options.revision ?? 'HEAD'}' instead`);
  }
  const conflict = await store.refs.conflicting(ref);
  if (conflict) throw new SnapError('ALREADY_EXISTS', `branch '${options.name}' cannot be made while '${conflict}' exists; pick another name`);
  const message = existing ? `branch: Reset to ${options.revision ?? 'HEAD'}` : `branch: Created from ${options.revision ?? 'HEAD'}`;
  await store.refs.update(ref, oid, existing, identity(store), message);
  if (existing && existing !== oid && !(await reachableFromRefs(store, existing))) options.onWarning?.(leftBehindWarning(existing));
  const subject = (await readCommit(store, oid)).message.split('\n')[0];
  return { name: options.name, oid, current: false, subject, ...(existing ? { replaced: existing } : {}) };
}

/**
 * Deletes branches. Refuses the current branch (USAGE), and a branch whose tip no other branch,
 * tag or HEAD reaches unless `force` (NOT_MERGED is reported as USAGE with the way out), as git
 * branch -d does; nothing is deleted when any name is refused.
 */
export async function deleteBranches(options: CommonOptions & { names: string[]; force?: boolean }): Promise<BranchInfo[]> {
  const store = await openStore(options);
  const head = await store.refs.head();
  const found: BranchInfo[] = [];
  for (const name of options.names) {
    const oid = await store.refs.read(`refs/heads/${name}`);
    if (!oid) throw new SnapError('NOT_FOUND', `branch '${name}' not found; run 'snap branch' to list branches`);
    if (name === head.branch) {
      throw new SnapError('USAGE', `cannot delete branch '${name}': it is checked out; check out another branch first ('snap checkout -b OTHER' or 'snap checkout OTHER')`);
    }
    const subject = (await readCommit(store, oid).catch(() => undefined))?.message.split('\n')[0] ?? '';
    found.push({ name, oid, current: false, subject });
  }
  if (!options.force) {
    for (const branch of found) {
      if (await reachableWithout(store, branch.oid, found.map((b) => `refs/heads/${b.name}`))) continue;
      throw new SnapError('USAGE', `branch '${branch.name}' is not merged: no other branch, tag or HEAD reaches ${branch.oid.slice(0, 7)}; use -D to delete it anyway, or tag it first`);
    }
  }
  for (const branch of found) await store.refs.delete(`refs/heads/${branch.name}`, branch.oid);
  return found;
}

async function reachableWithout(store: Awaited<ReturnType<typeof openStore>>, oid: string, skip: string[]): Promise<boolean> {
  const head = await store.refs.head();
  const tips = [...(await store.refs.list('refs/heads/')), ...(await store.refs.list('refs/tags/'))]
    .filter((ref) => !skip.includes(ref.name))
    .map((ref) => ref.oid);
  if (head.oid) tips.push(head.oid);
  const seen = new Set<string>();
  while (tips.length > 0) {
    const next = tips.pop()!;
    if (next === oid) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    const commit = await readCommit(store, next).catch(() => undefined);
    if (commit) tips.push(...commit.parents);
  }
  return false;
}

/** Options of renameBranch. */
export interface RenameBranchOptions extends CommonOptions {
  /** The branch to rename (default: the current one). */
  from?: string;
  to: string;
  /** Replace an existing branch named `to`, as git branch -M. */
  force?: boolean;
}

/**
 * Renames a branch with its reflog, and moves HEAD along when it was the current branch (git
 * branch -m). Throws NOT_FOUND, ALREADY_EXISTS (unless `force`) or USAGE for a bad name.
 */
export async function renameBranch(options: RenameBranchOptions): Promise<{ from: string; to: string; oid: string; current: boolean }> {
  checkRefName(options.to, 'branch');
  const store = await openStore(options);
  const head = await store.refs.head();
  const from = options.from ?? head.branch;
  if (from === undefined) throw new SnapError('USAGE', "HEAD is detached, so there is no current branch to rename; name it: 'snap branch -m OLD NEW'");
  const fromRef = `refs/heads/${from}`;
  const toRef = `refs/heads/${options.to}`;
  const who = identity(store);
  const current = head.branch === from;
  const oid = await store.refs.read(fromRef);
  if (!oid) {
    if (current && !head.oid) {
      // A branch without commits yet: only HEAD names it.
      await store.refs.setHeadSymbolic(options.to);
      return { from, to: options.to, oid: '', current };
    }
    throw new SnapError('NOT_FOUND', `branch '${from}' not found; run 'snap branch' to list branches`);
  }
  if (from === options.to) return { from, to: options.to, oid, current };
  const existing = await store.refs.read(toRef);
  if (existing && !options.force) {
    throw new SnapError('ALREADY_EXISTS', `branch '${options.to}' already exists; pick another name, or use -M to replace it`);
  }
  if (existing && head.branch === options.to) throw new SnapError('USAGE', `branch '${options.to}' is checked out; it cannot be replaced`);
  const conflict = await store.refs.conflicting(toRef);
  if (conflict) throw new SnapError('ALREADY_EXISTS', `branch '${options.to}' cannot be made while '${conflict}' exists; pick another name`);
  await store.refs.rename(fromRef, toRef, who, options.force);
  if (current) {
    await store.refs.setHead({ branch: options.to }, oid, oid, who, `Branch: renamed ${fromRef} to ${toRef}`);
  }
  return { from, to: options.to, oid, current };
}
