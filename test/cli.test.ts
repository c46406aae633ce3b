// Conventions of the snap program: results on stdout and everything else on stderr, exit codes
// (0 success, 1 failure, 2 usage error), and finding the store by walking up, with -C, with
// --store and with SNAP_STORE.

import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Repo } from './helpers/repo.js';
import { runOk, runSnap, snapOk } from './helpers/snap.js';
import { makeTree, tempDir } from './helpers/tree.js';

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

async function newRepo(spec = { 'etc/a': 'a\n', 'sub/dir/b': 'b\n' }): Promise<Repo> {
  const repo = await Repo.createInProcess({ spec });
  cleanups.push(() => repo.remove());
  return repo;
}

function newDir(): string {
  const dir = tempDir();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const ESC = '\x1b[';

describe('output streams', () => {
  it('commit prints the short id alone on stdout and its summary on stderr', async () => {
    const repo = await newRepo();

    const result = repo.snap(['commit', '-m', 'first snapshot']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^[0-9a-f]{7}\n$/);
    expect(repo.revParse('HEAD').startsWith(result.stdout.trim())).toBe(true);
    expect(result.stderr).toContain(`[main ${result.stdout.trim()}] first snapshot`);
  });

  it('-q leaves stderr empty on success', async () => {
    const repo = await newRepo();

    const result = repo.snap(['-q', 'commit', '-m', 'quiet']);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^[0-9a-f]{7}\n$/);
  });

  it('checkout prints nothing on stdout and its summary on stderr', async () => {
    const repo = await newRepo();
    await repo.commitInProcess('one');
    fs.writeFileSync(join(repo.rootfs, 'etc/a'), 'changed\n');
    await repo.commitInProcess('two');

    const result = repo.snap(['checkout', 'HEAD~1']);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/path\(s\) updated; now on detached HEAD at [0-9a-f]{7}/);
  });

  it('--json prints one JSON document on stdout', async () => {
    const repo = await newRepo();
    await repo.commitInProcess('one');

    for (const args of [['status', '--json'], ['log', '--json'], ['diff', '--json'], ['commit', '--allow-empty', '-m', 'x', '--json']]) {
      const result = repo.snap(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(() => JSON.parse(result.stdout), args.join(' ')).not.toThrow();
    }
  });

  it('colours only with --color=always', async () => {
    const repo = await newRepo();
    await repo.commitInProcess('one');
    fs.writeFileSync(join(repo.rootfs, 'etc/a'), 'changed\n');

    const piped = repo.snap(['status'], { env: { NO_COLOR: '' } });
    const forced = repo.snap(['--color=always', 'status']);

    expect(piped.stdout).toContain('etc/a');
    expect(piped.stdout).not.toContain(ESC);
    expect(forced.stdout).toContain(ESC);
  });

  it('shows errors as one line without a stack trace unless --debug', async () => {
    const dir = newDir();

    const plain = runSnap(['status'], { cwd: dir });
    const debug = runSnap(['--debug', 'status'], { cwd: dir });

    expect(plain.stderr).toMatch(/^error: no store found/);
    expect(plain.stderr.trim().split('\n')).toHaveLength(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});

describe('exit codes', () => {
  it.each([
    ['an unknown option', ['status', '--no-such-option'], /unknown option '--no-such-option'/],
    ['an unknown global option', ['--bogus', 'status'], /unknown option '--bogus'/],
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['a missing required option', ['commit'], /required option '-m, --message <text>' not specified/],
    ['a missing argument', ['checkout'], /missing required argument 'revision'/],
  ])('is 2 for %s', async (_name, args, message) => {
    const repo = await newRepo();

    const result = repo.snap(args);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('is 1 for a failure, with the message on stderr', async () => {
    const result = runSnap(['log'], { cwd: newDir() });

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/no store found/);
  });

  it.each([['--help'], ['--version'], ['commit', '--help']])('is 0 for %s, with the text on stdout', (...args) => {
    const result = runSnap(args, { cwd: newDir() });

    expect(result.code).toBe(0);
    expect(result.stdout).not.toBe('');
  });

  it('prints examples at the end of each command help', async () => {
    for (const command of ['init', 'commit', 'status', 'log', 'diff', 'export', 'checkout']) {
      expect(runSnap([command, '--help']).stdout, command).toMatch(/Examples:\n(\s+snap .*\n)+$/);
    }
  });
});

describe('finding the store', () => {
  it('walks up from a subdirectory, and paths stay relative to the rootfs', async () => {
    const repo = await newRepo();
    await repo.commitInProcess('one');
    fs.writeFileSync(join(repo.rootfs, 'etc/a'), 'changed\n');
    const cwd = join(repo.rootfs, 'sub', 'dir');

    const status = JSON.parse(snapOk(['status', '--json'], { cwd }));
    snapOk(['commit', '-m', 'from a subdirectory'], { cwd });

    expect(status.changes.map((change: { path: string }) => change.path)).toEqual(['etc/a']);
    expect(repo.git(['show', 'HEAD:rootfs/etc/a'])).toBe('changed\n');
  });

  it('uses the directory given with -C', async () => {
    const repo = await newRepo();
    const elsewhere = newDir();

    const id = snapOk(['-C', repo.rootfs, 'commit', '-m', 'via -C'], { cwd: elsewhere });
    const log = snapOk(['-C', join(repo.rootfs, 'sub'), 'log', '--oneline'], { cwd: elsewhere });

    expect(log).toBe(`${id} via -C`);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });

  it('initialises with -C and a relative directory', async () => {
    const base = newDir();
    makeTree(join(base, 'rootfs'), { a: 'a' });

    snapOk(['-C', base, 'init', 'rootfs']);

    expect(fs.existsSync(join(base, 'rootfs', '.snap', 'HEAD'))).toBe(true);
  });

  it('keeps the store outside the rootfs with --store', async () => {
    const base = newDir();
    const rootfs = join(base, 'rootfs');
    const store = join(base, 'stores', 'web');
    makeTree(rootfs, { 'etc/a': 'a' });

    snapOk(['--store', store, 'init', rootfs]);
    const id = snapOk(['--store', store, 'commit', '-m', 'outside'], { cwd: base });
    const status = runSnap(['--store', store, 'status'], { cwd: newDir() });

    expect(fs.readdirSync(rootfs)).toEqual(['etc']);
    expect(runOk('git', ['--git-dir', store, 'rev-parse', 'HEAD']).startsWith(id)).toBe(true);
    expect(status.stdout).toContain('nothing to commit');
  });

  it('init fills an existing empty --store directory', async () => {
    const base = newDir();
    const rootfs = join(base, 'rootfs');
    const store = join(base, 'volume');
    makeTree(rootfs, { 'etc/a': 'a' });
    fs.mkdirSync(store, { mode: 0o700 });

    snapOk(['--store', store, 'init', rootfs]);
    snapOk(['--store', store, 'commit', '-m', 'into the volume']);

    expect(fs.statSync(store).mode & 0o777).toBe(0o700);
    expect(runOk('git', ['--git-dir', store, 'show', 'HEAD:rootfs/etc/a'])).toBe('a');
  });

  it('init rejects a --store directory that is not empty', async () => {
    const base = newDir();
    makeTree(join(base, 'rootfs'), { a: 'a' });
    makeTree(join(base, 'data'), { keep: 'mine' });

    const result = runSnap(['--store', join(base, 'data'), 'init', join(base, 'rootfs')]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: '${join(base, 'data')}' exists and is not an empty directory; give a new or empty directory for the store\n`);
    expect(fs.readdirSync(join(base, 'data'))).toEqual(['keep']);
  });

  it('resolves a relative --store against the working directory', async () => {
    const base = newDir();
    makeTree(join(base, 'rootfs'), { a: 'a' });

    snapOk(['--store', 'store', 'init', 'rootfs'], { cwd: base });
    snapOk(['--store', 'store', 'commit', '-m', 'relative'], { cwd: base });

    expect(runOk('git', ['--git-dir', join(base, 'store'), 'show', 'HEAD:rootfs/a'])).toBe('a');
  });

  it('init resolves --store against -C', async () => {
    const base = newDir();
    const elsewhere = newDir();
    makeTree(join(base, 'rootfs'), { a: 'a' });

    snapOk(['-C', base, '--store', 'store', 'init', 'rootfs'], { cwd: elsewhere });
    const commit = runSnap(['-C', base, '--store', 'store', 'commit', '-m', 'x'], { cwd: elsewhere });

    expect(fs.existsSync(join(base, 'store', 'HEAD'))).toBe(true);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
    expect(commit.code, commit.stderr).toBe(0);
  });

  it('takes the store from SNAP_STORE', async () => {
    const base = newDir();
    const rootfs = join(base, 'rootfs');
    const store = join(base, 'store');
    makeTree(rootfs, { a: 'a' });
    const env = { SNAP_STORE: store };

    snapOk(['init', rootfs], { env });
    fs.writeFileSync(join(rootfs, 'b'), 'b');
    const id = snapOk(['commit', '-m', 'env'], { env, cwd: newDir() });
    const log = snapOk(['log', '--oneline'], { env, cwd: '/' });

    expect(fs.readdirSync(rootfs).sort()).toEqual(['a', 'b']);
    expect(log).toBe(`${id} env`);
  });

  it('prefers --store over SNAP_STORE', async () => {
    const base = newDir();
    makeTree(join(base, 'rootfs'), { a: 'a' });
    snapOk(['--store', join(base, 'real'), 'init', join(base, 'rootfs')]);

    const result = runSnap(['--store', join(base, 'real'), 'commit', '-m', 'x'], { env: { SNAP_STORE: join(base, 'missing') } });

    expect(result.code, result.stderr).toBe(0);
    expect(fs.existsSync(join(base, 'missing'))).toBe(false);
  });

  it('reports a --store path without a store', async () => {
    const base = newDir();

    const result = runSnap(['--store', join(base, 'none'), 'status'], { cwd: base });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no store at '${join(base, 'none')}'`);
  });
});
