// Revision names as Git spells them: HEAD, @, full and abbreviated ids, branch and tag names (short
// or as full refs/... names), the ~N, ^, ^N, ^{commit} and ^{} suffixes, reflog entries
// (HEAD@{2}, main@{1}, @{1}), earlier checkouts (@{-1}), and A..B ranges for log.

import { promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { SnapError } from '../errors.js';
import { parseCommit, type Commit } from './commit-object.js';
import type { Store } from './store.js';

/** Reads and parses a commit; an annotated tag is peeled to its commit. Throws NOT_FOUND or CORRUPT. */
export async function readCommit(store: Store, oid: string): Promise<Commit> {
  const object = await store.objects.read(oid);
  if (object.type === 'tag') return readCommit(store, peelTag(oid, object.content));
  if (object.type !== 'commit') throw new SnapError('NOT_FOUND', `${oid} is a ${object.type}, not a snapshot`);
  return parseCommit(oid, object.content);
}

function peelTag(oid: string, content: Buffer): string {
  const match = /^object ([0-9a-f]{40})$/m.exec(content.toString('utf8'));
  if (!match) throw new SnapError('CORRUPT', `tag ${oid} is damaged`);
  return match[1];
}

/** Follows annotated tags from `oid` to the commit they name; a commit id is returned as is. */
export async function peelToCommit(store: Store, oid: string): Promise<string> {
  for (let depth = 0; depth < 20; depth++) {
    const object = await store.objects.read(oid);
    if (object.type === 'commit') return oid;
    if (object.type !== 'tag') throw new SnapError('NOT_FOUND', `${oid.slice(0, 7)} is a ${object.type}, not a snapshot; name a commit`);
    oid = peelTag(oid, object.content);
  }
  throw new SnapError('CORRUPT', `tag chain at ${oid} is too deep`);
}

const SUFFIX = /(~\d*|\^\d*|\^\{(?:commit)?\})$/;

/**
 * Resolves a revision to a commit id (annotated tags are peeled). Throws NOT_FOUND for an unknown
 * name, AMBIGUOUS (with the candidate ids in `data.candidates`) for an abbreviated id that matches
 * several snapshots, and USAGE for malformed input.
 */
export async function resolveRevision(store: Store, revision: string): Promise<string> {
  checkSyntax(revision);
  const suffix = SUFFIX.exec(revision);
  if (suffix && suffix.index > 0) {
    const base = await resolveRevision(store, revision.slice(0, suffix.index));
    return followSuffix(store, base, suffix[0], revision);
  }
  return peelToCommit(store, await resolveBase(store, revision));
}

/** Refuses characters no revision can hold, naming the whole revision the user gave. */
function checkSyntax(revision: string): void {
  const withoutSelectors = revision.replace(/@\{-?\d+\}/g, '').replace(/\^\{(commit)?\}/g, '');
  if (revision === '' || /[\s:?*[\\{}]|\.\./.test(withoutSelectors)) {
    const hint = revision.includes('..') ? "; a range A..B works in 'snap log' only" : '';
    throw new SnapError('USAGE', `invalid revision '${revision}'${hint}; use an id, HEAD, @, HEAD~N, HEAD^N, HEAD@{N}, or a branch or tag name`);
  }
}

async function followSuffix(store: Store, oid: string, suffix: string, revision: string): Promise<string> {
  if (suffix.startsWith('^{')) return oid;
  const count = suffix.length > 1 ? Number(suffix.slice(1)) : 1;
  if (suffix[0] === '~') {
    let current = oid;
    for (let i = 0; i < count; i++) {
      const commit = await readCommit(store, current);
      if (commit.parents.length === 0) throw notFound(revision, `history stops after ${i} step(s) back`);
      current = commit.parents[0];
    }
    return current;
  }
  const commit = await readCommit(store, oid);
  if (count === 0) return commit.oid;
  const parent = commit.parents[count - 1];
  if (!parent) {
    const has = commit.parents.length === 1 ? '1 parent' : `${commit.parents.length} parents`;
    throw notFound(revision, `snapshot ${oid.slice(0, 7)} has ${has}, so ^${count} does not exist`);
  }
  return parent;
}

function notFound(revision: string, why: string): SnapError {
  return new SnapError('NOT_FOUND', `revision '${revision}' not found: ${why}; run 'snap log' (or 'snap log --all --oneline') to list snapshots`, { data: { revision } });
}

const REFLOG_SELECTOR = /^(.*)@\{(-?\d+)\}$/;

async function resolveBase(store: Store, name: string): Promise<string> {
  const selector = REFLOG_SELECTOR.exec(name);
  if (selector) return resolveReflogSelector(store, name, selector[1], Number(selector[2]));
  if (name === '' || /[\s:?*[\\]|\.\.|@\{|^-/.test(name)) {
    throw new SnapError('USAGE', `invalid revision '${name}'; use an id, HEAD, @, HEAD~N, HEAD^N, HEAD@{N}, or a branch or tag name`);
  }
  if (name === 'HEAD' || name === '@') {
    const head = await store.refs.head();
    if (!head.oid) throw new SnapError('NOT_FOUND', `HEAD has no snapshot yet (branch '${head.branch}' is empty); run 'snap commit' first`);
    return head.oid;
  }
  const ref = await findRef(store, name);
  if (ref) return ref.oid;
  if (/^[0-9a-f]{40}$/.test(name)) {
    await store.objects.read(name).catch((error) => {
      throw new SnapError('NOT_FOUND', `snapshot '${name}' not found in the store; run 'snap log' (or 'snap log --all --oneline') to list snapshots`, { cause: error });
    });
    return name;
  }
  if (/^[0-9a-f]{4,39}$/.test(name)) return expandPrefix(store, name);
  throw notFound(name, 'no branch, tag or id has that name');
}

/**
 * Finds a ref the way Git's rev-parse does: ORIG_HEAD-style names, refs/NAME, refs/tags/NAME, then
 * refs/heads/NAME (so a tag wins over a branch of the same name, as in Git).
 */
export async function findRef(store: Store, name: string): Promise<{ ref: string; oid: string } | undefined> {
  const candidates = name.startsWith('refs/') ? [name] : [`refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`];
  if (/^[A-Z_]+HEAD$/.test(name)) candidates.unshift(name);
  for (const ref of candidates) {
    const oid = await store.refs.read(ref);
    if (oid) return { ref, oid };
  }
  return undefined;
}

async function resolveReflogSelector(store: Store, revision: string, refName: string, n: number): Promise<string> {
  if (n < 0) {
    const previous = await previousCheckout(store, -n);
    if (!previous) throw notFound(revision, `fewer than ${-n} earlier checkout(s) are in the HEAD reflog`);
    return resolveRevision(store, previous);
  }
  let ref: string;
  if (refName === 'HEAD') ref = 'HEAD';
  else if (refName === '' || refName === '@') {
    const head = await store.refs.head();
    ref = head.branch !== undefined ? `refs/heads/${head.branch}` : 'HEAD';
  } else {
    const found = await findRef(store, refName);
    if (!found) throw notFound(revision, `no branch or tag '${refName}'`);
    ref = found.ref;
  }
  const entries = await store.refs.readLog(ref);
  const entry = entries[entries.length - 1 - n];
  if (!entry) throw notFound(revision, `the reflog of ${ref} has ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}; run 'snap reflog ${ref === 'HEAD' ? '' : refName}' to list them`);
  return entry.new;
}

/**
 * Returns what HEAD was on `n` checkouts ago (a branch name, or an id when it was detached), read
 * from "checkout: moving from X to Y" lines of the HEAD reflog as Git's @{-N} does, or undefined.
 */
export async function previousCheckout(store: Store, n: number): Promise<string | undefined> {
  const entries = await store.refs.readLog('HEAD');
  let seen = 0;
  for (let i = entries.length - 1; i >= 0; i--) {
    const match = /^checkout: moving from (\S+) to /.exec(entries[i].message);
    if (!match) continue;
    seen += 1;
    if (seen === n) return match[1];
  }
  return undefined;
}

/** A revision range as log takes it: commits reachable from `include` and not from `exclude`. */
export interface RevisionRange {
  include: string[];
  exclude: string[];
}

/**
 * Parses log's revision arguments as Git does: 'A..B' (B but not A; an empty side is HEAD), '^A'
 * (not A), and plain revisions. Ids are resolved; throws as resolveRevision does, and USAGE for
 * 'A...B', which snap does not support.
 */
export async function resolveRange(store: Store, args: string[]): Promise<RevisionRange> {
  const range: RevisionRange = { include: [], exclude: [] };
  for (const arg of args) {
    if (arg.includes('...')) {
      throw new SnapError('USAGE', `'${arg}': symmetric ranges (A...B) are not supported; use 'A..B' and 'B..A'`);
    }
    const dots = arg.indexOf('..');
    if (dots >= 0) {
      const from = arg.slice(0, dots) || 'HEAD';
      const to = arg.slice(dots + 2) || 'HEAD';
      range.exclude.push(await resolveRevision(store, from));
      range.include.push(await resolveRevision(store, to));
    } else if (arg.startsWith('^') && arg.length > 1) {
      range.exclude.push(await resolveRevision(store, arg.slice(1)));
    } else {
      range.include.push(await resolveRevision(store, arg));
    }
  }
  return range;
}

/** Reports whether an argument has the shape of a range ('A..B' or '^A') rather than one revision. */
export function isRangeArgument(arg: string): boolean {
  return arg.includes('..') || (arg.startsWith('^') && arg.length > 1);
}

async function expandPrefix(store: Store, prefix: string): Promise<string> {
  const candidates = new Set<string>();
  const dir = join(store.gitdir, 'objects', prefix.slice(0, 2));
  if (fs.existsSync(dir)) {
    for (const file of await fsp.readdir(dir)) {
      const oid = prefix.slice(0, 2) + file;
      if (/^[0-9a-f]{40}$/.test(oid) && oid.startsWith(prefix)) candidates.add(oid);
    }
  }
  for (const oid of store.objects.packedIdsWithPrefix(prefix)) candidates.add(oid);
  const snapshots: { oid: string; type: string; subject: string }[] = [];
  for (const oid of candidates) {
    const object = await store.objects.read(oid).catch(() => undefined);
    if (object?.type === 'commit' || object?.type === 'tag') {
      const text = object.content.toString('utf8');
      const body = text.indexOf('\n\n');
      const subject = body < 0 ? '' : text.slice(body + 2).split('\n')[0];
      snapshots.push({ oid, type: object.type, subject });
    }
  }
  if (snapshots.length === 1) return snapshots[0].oid;
  if (snapshots.length === 0) throw notFound(prefix, 'no snapshot id starts with it');
  snapshots.sort((a, b) => (a.oid < b.oid ? -1 : 1));
  const listed = snapshots.map((s) => `${s.oid.slice(0, 12)} ${s.type === 'tag' ? 'tag ' : ''}"${s.subject.slice(0, 40)}"`).join(', ');
  throw new SnapError('AMBIGUOUS', `short id '${prefix}' is ambiguous; candidates: ${listed}; give more digits`, {
    data: { candidates: snapshots.map((s) => s.oid) },
  });
}
