// Hardlink sets that change between snapshots: the diff layer links only to entries inside
// itself, umoci stacks base and diff layers into the right inode sharing, and checkout gives the
// same sharing in both directions.

import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { treeState, unpackLayers, type TreeState } from './helpers/judge.js';
import { Repo } from './helpers/repo.js';
import { has } from './helpers/snap.js';
import { readTar } from './helpers/tar.js';
import { emptyDir, file, hardlink, makeTree, type Spec } from './helpers/tree.js';

const T = 1_650_000_000_123_456_789n;

const repos: Repo[] = [];
afterAll(() => {
  for (const repo of repos) repo.remove();
});

const shared = (content = 'shared\n') => file(content, { mtime: T, mode: 0o640 });
const other: Spec = { 'etc/other': file('other\n', { mtime: T }) };

// Each case: name, tree before, tree after, and the hardlink entries the diff layer must hold.
const cases: [string, Spec, Spec, [string, string][]][] = [
  ['grows from a, b to a, b, c', { 's/a': shared(), 's/b': hardlink('s/a') }, { 's/a': shared(), 's/b': hardlink('s/a'), 's/c': hardlink('s/a') },
    [['s/b', 's/a'], ['s/c', 's/a']]],
  ['shrinks from a, b, c to a, b', { 's/a': shared(), 's/b': hardlink('s/a'), 's/c': hardlink('s/a') }, { 's/a': shared(), 's/b': hardlink('s/a') },
    []],
  ['loses its first member a', { 's/a': shared(), 's/b': hardlink('s/a'), 's/c': hardlink('s/a') }, { 's/b': shared(), 's/c': hardlink('s/b') },
    [['s/c', 's/b']]],
  ['gains a member that sorts first', { 's/m': shared(), 's/n': hardlink('s/m') }, { 's/a': shared(), 's/m': hardlink('s/a'), 's/n': hardlink('s/a') },
    [['s/m', 's/a'], ['s/n', 's/a']]],
  ['gains a member in another directory', { 's/a': shared(), 's/b': hardlink('s/a') }, { 's/a': shared(), 's/b': hardlink('s/a'), 'z/deep/c': hardlink('s/a') },
    [['s/b', 's/a'], ['z/deep/c', 's/a']]],
  ['changes content', { 's/a': shared(), 's/b': hardlink('s/a') }, { 's/a': shared('new content\n'), 's/b': hardlink('s/a') },
    [['s/b', 's/a']]],
  ['splits into a pair and a copy', { 's/a': shared(), 's/b': hardlink('s/a'), 's/c': hardlink('s/a') }, { 's/a': shared(), 's/b': hardlink('s/a'), 's/c': shared() },
    []],
  ['is formed from separate files', { 's/a': shared(), 's/b': shared() }, { 's/a': shared(), 's/b': hardlink('s/a') },
    [['s/b', 's/a']]],
  ['links a top-level file into a subdirectory', { 's/a': shared() }, { top: shared(), 'd/a': hardlink('top') },
    [['top', 'd/a']]],
  ['links a top-level file two levels down', { 's/a': shared() }, { a: shared(), 'd/e/b': hardlink('a') },
    [['d/e/b', 'a']]],
];

interface History {
  repo: Repo;
  a: string;
  b: string;
  stateA: TreeState;
  stateB: TreeState;
}

async function history(before: Spec, after: Spec): Promise<History> {
  const repo = await Repo.createInProcess({ spec: { ...other, ...before }, externalStore: true });
  repos.push(repo);
  const stateA = treeState(repo.rootfs);
  const a = await repo.commitInProcess('before');
  emptyDir(repo.rootfs);
  makeTree(repo.rootfs, { ...other, ...after });
  const stateB = treeState(repo.rootfs);
  const b = await repo.commitInProcess('after');
  return { repo, a, b, stateA, stateB };
}

describe.each(cases)('a hardlink set that %s', (_name, before, after, expectedLinks) => {
  let current: History;
  const setup = () => current;
  beforeAll(async () => {
    current = await history(before, after);
    const { repo, a, b } = current;
    repo.ok(['export', a, '-o', repo.file('base.tar')]);
    repo.ok(['diff', a, b, '--export', repo.file('diff.tar')]);
  });

  it('links only inside the diff layer', async () => {
    const { repo } = setup();

    const members = readTar(fs.readFileSync(repo.file('diff.tar')));
    const links = members.filter((member) => member.type === '1');
    expect(links.map((link) => [link.name.toString(), link.linkname.toString()])).toEqual(expectedLinks);
    for (const link of links) {
      const index = members.indexOf(link);
      const target = members.findIndex((member) => member.name.equals(link.linkname));
      expect(target, `${link.name} -> ${link.linkname}`).toBeGreaterThanOrEqual(0);
      expect(target).toBeLessThan(index);
      expect(members[target].type).toBe('0');
    }
  });

  it.skipIf(!has('umoci'))('stacks into the new sharing with umoci', async () => {
    const { repo, stateB } = setup();

    const unpacked = unpackLayers(repo.file('umoci'), [repo.file('base.tar'), repo.file('diff.tar')]);

    const state = treeState(unpacked);
    expect(state.links).toEqual(stateB.links);
    expect(state.mtree).toEqual(stateB.mtree);
  });

  it('checks out either snapshot with its own sharing', async () => {
    const { repo, a, b, stateA, stateB } = setup();

    repo.ok(['checkout', a]);
    const backToA = treeState(repo.rootfs);
    repo.ok(['checkout', b]);
    const forwardToB = treeState(repo.rootfs);

    expect(backToA.links).toEqual(stateA.links);
    expect(backToA.mtree).toEqual(stateA.mtree);
    expect(forwardToB.links).toEqual(stateB.links);
    expect(forwardToB.mtree).toEqual(stateB.mtree);
  });
});

describe('a hardlink set across directories after checkouts', () => {
  it('stays one set in status and in the next commit', () => {
    // The checkouts leave stat cache records of different ages for the two directories of the
    // set; the next scan must still judge both members alike.
    const repo = Repo.create({ spec: { 'a/h1': 'link\n' } });
    try {
      fs.symlinkSync('../q', repo.file('rootfs/a/sym'));
      repo.ok(['commit', '-q', '-m', 's1']);
      fs.mkdirSync(repo.file('rootfs/c'));
      fs.linkSync(repo.file('rootfs/a/h1'), repo.file('rootfs/c/h3'));
      repo.ok(['commit', '-q', '-m', 's2']);
      fs.rmSync(repo.file('rootfs/a/sym'));
      fs.mkdirSync(repo.file('rootfs/a/sym'));
      repo.ok(['commit', '-q', '-m', 's3']);
      for (const revision of ['HEAD~2', 'main~1', 'main']) repo.ok(['checkout', '-q', revision]);

      expect(repo.ok(['status', '--porcelain'])).toBe('');
      const first = fs.statSync(repo.file('rootfs/a/h1'));
      const second = fs.statSync(repo.file('rootfs/c/h3'));
      expect(second.ino).toBe(first.ino);
      expect(fs.readdirSync(repo.file('rootfs/c'))).toEqual(['h3']);
    } finally {
      repo.remove();
    }
  });
});

describe('a hardlink set whose first member moves with its directory', () => {
  it('gets the new first path in every member', async () => {
    const repo = await Repo.createInProcess({ spec: { ...other, 'A/x': shared(), 'B/y': hardlink('A/x') }, externalStore: true });
    repos.push(repo);
    const before = await repo.commitInProcess('before');
    // A commit past the stat cache's racy window trusts both members, so the next one takes B/y
    // from it and reads only the files of the renamed directory.
    await sleep(1100);
    repo.ok(['commit', '-q', '--allow-empty', '-m', 'trusted']);
    fs.renameSync(repo.file('rootfs/A'), repo.file('rootfs/Z'));
    const state = treeState(repo.rootfs);

    const moved = await repo.commitInProcess('moved');
    await repo.checkoutInProcess(before);
    await repo.checkoutInProcess(moved);

    expect(repo.git(['show', `${moved}:meta/B/.snap-meta`])).toMatch(/^y f .* link=B\/y$/m);
    expect(repo.git(['show', `${moved}:meta/Z/.snap-meta`])).toMatch(/^x f .* link=B\/y$/m);
    expect(treeState(repo.rootfs).mtree).toEqual(state.mtree);
    expect(repo.ok(['status', '--porcelain'])).toBe('');
  });
});
