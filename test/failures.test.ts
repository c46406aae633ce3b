// A command that fails leaves the store and the rootfs exactly as they were: every file of the
// store keeps its content and mtime, and the rootfs keeps every entry and attribute. Each case
// also checks the exit code (1 failure, 2 usage error) and that the message names the problem.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprint, treeState } from './helpers/judge.js';
import { Repo } from './helpers/repo.js';
import { runSnap } from './helpers/snap.js';
import { file, makeTree, tempDir } from './helpers/tree.js';

const T = 1_650_000_000_123_456_789n;
const STORE = { exclude: ['.snap'] };

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

async function committedRepo(): Promise<Repo> {
  const repo = await Repo.createInProcess({ spec: { 'etc/a': file('a\n', { mtime: T }), 'etc/b': 'b\n' } });
  cleanups.push(() => repo.remove());
  await repo.commitInProcess('first');
  fs.writeFileSync(join(repo.rootfs, 'etc/b'), 'b2\n');
  await repo.commitInProcess('second');
  return repo;
}

interface FailureCase {
  name: string;
  args: string[];
  code: number;
  message: RegExp;
  /** Changes the repo before the command runs (and before the before-state is taken). */
  prepare?: (repo: Repo) => void | Promise<void>;
  /** Files beside the rootfs that must not exist afterwards. */
  absent?: string[];
}

const cases: FailureCase[] = [
  {
    name: 'checkout of an unknown name',
    args: ['checkout', 'no-such-rev'],
    code: 1,
    message: /revision 'no-such-rev' not found.*run 'snap log'/,
  },
  {
    name: 'checkout of an unknown id',
    args: ['checkout', 'deadbeefdeadbeef'],
    code: 1,
    message: /'deadbeefdeadbeef' not found.*snap log/,
  },
  {
    name: 'checkout past the first snapshot',
    args: ['checkout', 'HEAD~5'],
    code: 1,
    message: /'HEAD~5' not found/,
  },
  {
    name: 'checkout of a dirty rootfs',
    args: ['checkout', 'HEAD~1'],
    code: 1,
    message: /uncommitted changes.*M etc\/a/,
    prepare: (repo) => fs.writeFileSync(join(repo.rootfs, 'etc/a'), 'dirty\n'),
  },
  {
    name: 'export of a snapshot with a .wh. file',
    args: ['export', 'HEAD', '-o', '../layer.tar'],
    code: 1,
    message: /'etc\/\.wh\.foo'.*reserved for whiteouts/,
    prepare: async (repo) => {
      makeTree(repo.rootfs, { 'etc/.wh.foo': 'x' });
      await repo.commitInProcess('with .wh.foo');
    },
    absent: ['layer.tar'],
  },
  {
    name: 'diff --export of a rootfs with a new .wh. file',
    args: ['diff', '--export', '../layer.tar.gz'],
    code: 1,
    message: /'etc\/\.wh\.foo'.*reserved for whiteouts/,
    prepare: (repo) => makeTree(repo.rootfs, { 'etc/.wh.foo': 'x' }),
    absent: ['layer.tar.gz'],
  },
  {
    name: 'commit with nothing changed',
    args: ['commit', '-m', 'again'],
    code: 1,
    message: /nothing to commit.*--allow-empty/,
  },
  {
    name: 'init where a store exists',
    args: ['init'],
    code: 1,
    message: /already exists/,
  },
  {
    name: 'commit with an empty message',
    args: ['commit', '-m', ''],
    code: 2,
    message: /empty commit message/,
  },
  {
    name: 'diff with a malformed revision',
    args: ['diff', 'no*such'],
    code: 2,
    message: /invalid revision 'no\*such'/,
  },
  {
    name: 'commit while another process holds the lock',
    args: ['commit', '-m', 'locked'],
    code: 1,
    message: /snap\.lock' exists/,
    prepare: (repo) => {
      fs.writeFileSync(join(repo.rootfs, 'etc/a'), 'changed\n');
      fs.writeFileSync(join(repo.gitdir, 'snap.lock'), '1\n');
    },
  },
  {
    name: 'commit after a killed command left the lock',
    args: ['commit', '-m', 'locked'],
    code: 1,
    message: /snap\.lock' was left by process \d+, which is no longer running/,
    prepare: (repo) => {
      fs.writeFileSync(join(repo.rootfs, 'etc/a'), 'changed\n');
      // The id of a process that has ended.
      fs.writeFileSync(join(repo.gitdir, 'snap.lock'), `${spawnSync('true').pid}\n`);
    },
  },
];

describe.each(cases)('$name', ({ args, code, message, prepare, absent }) => {
  it(`exits ${code} and leaves store and rootfs unchanged`, async () => {
    const repo = await committedRepo();
    await prepare?.(repo);
    const store = fingerprint(repo.gitdir);
    const tree = treeState(repo.rootfs, STORE);

    const result = repo.snap(args);

    expect(result.code, result.stderr).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    expect(fingerprint(repo.gitdir)).toEqual(store);
    expect(treeState(repo.rootfs, STORE)).toEqual(tree);
    for (const name of absent ?? []) expect(fs.existsSync(repo.file(name)), name).toBe(false);
    expect(fs.readdirSync(repo.base).sort()).toEqual(['rootfs']);
  });
});

describe('no store', () => {
  it('fails with exit 1 and creates nothing', async () => {
    const dir = tempDir();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    makeTree(dir, { a: 'a' });
    const before = treeState(dir);

    const result = runSnap(['commit', '-m', 'x'], { cwd: dir });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no store found in '.*'.*snap init/);
    expect(treeState(dir)).toEqual(before);
  });
});
