// Revision names as Git spells them: HEAD, @, full and abbreviated ids, branch and tag names,
// and the ~N, ^ and ^N suffixes.

import { promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { SnapError } from '../errors.js';
import { parseCommit, type Commit } from './commit-object.js';
import type { Store } from './store.js';

/** Reads and parses a commit. Throws NOT_FOUND or CORRUPT. */
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

const SUFFIX = /(~\d*|\^\d*)$/;

/**
 * Resolves a revision to a commit id. Throws NOT_FOUND for an unknown name, AMBIGUOUS (with the
 * candidate ids in `data.candidates`) for an abbreviated id that matches several commits, and
 * USAGE for malformed input.
 */
export async function resolveRevision(store: Store, revision: string): Promise<string> {
  const suffix = SUFFIX.exec(revision);
  if (suffix && suffix.index > 0) {
    const base = await resolveRevision(store, revision.slice(0, suffix.index));
    return followSuffix(store, base, suffix[0], revision);
  }
  return resolveBase(store, revision);
}

async function followSuffix(store: Store, oid: string, suffix: string, revision: string): Promise<string> {
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
  if (!parent) throw notFound(revision, `commit ${oid.slice(0, 7)} has ${commit.parents.length} parent(s)`);
  return parent;
}

function notFound(revision: string, why: string): SnapError {
  return new SnapError('NOT_FOUND', `revision '${revision}' not found: ${why}; run 'snap log' to list snapshots`, { data: { revision } });
}

async function resolveBase(store: Store, name: string): Promise<string> {
  if (name === '' || /[\s:?*[\\]|\.\.|@\{/.test(name)) {
    throw new SnapError('USAGE', `invalid revision '${name}'; use an id, HEAD, HEAD~N or a branch or tag name`);
  }
  if (name === 'HEAD' || name === '@') {
    const head = await store.refs.head();
    if (!head.oid) throw new SnapError('NOT_FOUND', `HEAD has no snapshot yet (branch '${head.branch}' is empty); run 'snap commit' first`);
    return head.oid;
  }
  for (const ref of [name, `refs/heads/${name}`, `refs/tags/${name}`]) {
    if (!ref.startsWith('refs/')) continue;
    const oid = await store.refs.read(ref);
    if (oid) return oid;
  }
  if (/^[0-9a-f]{40}$/.test(name)) {
    await readCommit(store, name).catch((error) => {
      throw new SnapError('NOT_FOUND', `snapshot '${name}' not found; run 'snap log' to list snapshots`, { cause: error });
    });
    return name;
  }
  if (/^[0-9a-f]{4,39}$/.test(name)) return expandPrefix(store, name);
  throw notFound(name, 'no branch, tag or id has that name');
}

async function expandPrefix(store: Store, prefix: string): Promise<string> {
  const candidates = new Set<string>();
  const dir = join(store.gitdir, 'objects', prefix.slice(0, 2));
  if (fs.existsSync(dir)) {
    for (const file of await fsp.readdir(dir)) {
      const oid = prefix.slice(0, 2) + file;
      if (oid.startsWith(prefix)) candidates.add(oid);
    }
  }
  try {
    candidates.add(await git.expandOid({ fs, gitdir: store.gitdir, oid: prefix }));
  } catch {
    // No packed object has this prefix (or several do; those are listed as loose candidates or
    // reported by isomorphic-git's own error below when none is loose).
  }
  const commits: string[] = [];
  for (const oid of candidates) {
    const object = await store.objects.read(oid).catch(() => undefined);
    if (object?.type === 'commit' || object?.type === 'tag') commits.push(oid);
  }
  if (commits.length === 1) return commits[0];
  if (commits.length === 0) throw notFound(prefix, 'no snapshot id starts with it');
  commits.sort();
  throw new SnapError('AMBIGUOUS', `short id '${prefix}' is ambiguous: ${commits.map((oid) => oid.slice(0, 12)).join(', ')}; give more digits`, {
    data: { candidates: commits },
  });
}
