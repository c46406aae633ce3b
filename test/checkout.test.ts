// snap checkout: it rejects a dirty rootfs unless forced, detaches HEAD for anything but a branch
// name, warns before leaving a commit no branch reaches, and never writes through a symlink.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setTimes } from '../src/native/index.js';
import { fingerprint, treeState } from './helpers/judge.js';
import { Repo } from './helpers/repo.js';
import { run } from './helpers/snap.js';
import { dir, emptyDir, file, hardlink, listenSocket, makeTree, symlink, tempDir, type Spec } from './helpers/tree.js';

const T = 1_650_000_000_123_456_789n;
const STORE = { exclude: ['.snap'] };

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

async function newRepo(spec: Spec, externalStore = false): Promise<Repo> {
  const repo = await Repo.createInProcess({ spec, externalStore });
  cleanups.push(() => repo.remove());
  return repo;
}

/** A repo with two snapshots on main: A (etc/a, etc/gone) and B (etc/a changed, etc/b added). */
async function twoSnapshots() {
  const repo = await newRepo({ 'etc/a': file('a1\n', { mtime: T }), 'etc/gone': 'gone\n', keep: 'keep\n' });
  const stateA = treeState(repo.rootfs, STORE);
  const a = await repo.commitInProcess('A');
  fs.writeFileSync(join(repo.rootfs, 'etc/a'), 'a2\n');
  fs.writeFileSync(join(repo.rootfs, 'etc/b'), 'b\n');
  const stateB = treeState(repo.rootfs, STORE);
  const b = await repo.commitInProcess('B');
  return { repo, a, b, stateA, stateB };
}

/** Reports whether this process may mount a tmpfs (root with CAP_SYS_ADMIN). */
function canMount(): boolean {
  const target = tempDir('snap-mount-probe-');
  try {
    if (run('mount', ['-t', 'tmpfs', 'snap-probe', target]).code !== 0) return false;
    return run('umount', [target]).code === 0;
  } finally {
    fs.rmdirSync(target);
  }
}

function symbolicHead(repo: Repo): { code: number; ref: string } {
  const result = run('git', ['--git-dir', repo.gitdir, 'symbolic-ref', '-q', 'HEAD']);
  return { code: result.code, ref: result.stdout.trim() };
}

describe('a dirty rootfs', () => {
  async function dirty() {
    const history = await twoSnapshots();
    const { repo } = history;
    fs.writeFileSync(join(repo.rootfs, 'etc/a'), 'edited\n');
    fs.writeFileSync(join(repo.rootfs, 'new-file'), 'new\n');
    fs.rmSync(join(repo.rootfs, 'etc/b'));
    fs.chmodSync(join(repo.rootfs, 'keep'), 0o600);
    return history;
  }

  it('is rejected with exit 1, naming the changed paths', async () => {
    const { repo, a } = await dirty();

    const result = repo.snap(['checkout', a]);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    for (const change of ['M etc/a', 'A new-file', 'D etc/b', 'm keep']) expect(result.stderr).toContain(change);
    expect(result.stderr).toContain('--force');
  });

  it('is left unchanged, and so are HEAD and the store', async () => {
    const { repo, a } = await dirty();
    const tree = treeState(repo.rootfs, STORE);
    const store = fingerprint(repo.gitdir);

    repo.snap(['checkout', a]);

    expect(treeState(repo.rootfs, STORE)).toEqual(tree);
    expect(fingerprint(repo.gitdir)).toEqual(store);
    expect(symbolicHead(repo).ref).toBe('refs/heads/main');
  });

  it('is overwritten with --force', async () => {
    const { repo, a, stateA } = await dirty();

    const result = repo.snap(['checkout', '--force', a]);

    expect(result.code, result.stderr).toBe(0);
    expect(treeState(repo.rootfs, STORE)).toEqual(stateA);
  });

  // Each change leaves a path that the diff from HEAD to A does not touch, so a checkout that
  // applied that diff to the dirty rootfs would leave the change in place.
  it.each([
    ['a mode alone', (rootfs: string) => fs.chmodSync(join(rootfs, 'keep'), 0o600)],
    ['content alone', (rootfs: string) => {
      const path = join(rootfs, 'keep');
      const { atimeNs, mtimeNs } = fs.statSync(path, { bigint: true });
      fs.writeFileSync(path, 'KEEP\n');
      setTimes(Buffer.from(path), atimeNs, mtimeNs);
    }],
    ['an added file', (rootfs: string) => fs.writeFileSync(join(rootfs, 'new-file'), 'new\n')],
    ['a removed file', (rootfs: string) => fs.rmSync(join(rootfs, 'keep'))],
  ])('with %s ends exactly at the target with --force', async (_change, change) => {
    const { repo, a, stateA } = await twoSnapshots();
    change(repo.rootfs);

    await repo.checkoutInProcess(a, true);

    expect(treeState(repo.rootfs, STORE)).toEqual(stateA);
    expect(repo.ok(['status'])).toContain('rootfs clean');
  });
});

describe('a clean rootfs', () => {
  it('ends exactly at the target', async () => {
    const { repo, a, stateA, stateB } = await twoSnapshots();

    await repo.checkoutInProcess(a);
    const atA = treeState(repo.rootfs, STORE);
    const statusAtA = repo.ok(['status']);
    await repo.checkoutInProcess('main');

    expect(atA).toEqual(stateA);
    expect(statusAtA).toContain('rootfs clean');
    expect(treeState(repo.rootfs, STORE)).toEqual(stateB);
    expect(repo.ok(['status'])).toContain('rootfs clean');
  });
});

describe('HEAD', () => {
  type Ids = { a: string; b: string };
  it.each([
    ['HEAD~1', () => 'HEAD~1', (ids: Ids) => ids.a],
    ['a full id', (ids: Ids) => ids.a, (ids: Ids) => ids.a],
    ['the full id of the branch tip', (ids: Ids) => ids.b, (ids: Ids) => ids.b],
  ])('is detached by checkout of %s', async (_name, revision, expected) => {
    const { repo, a, b } = await twoSnapshots();

    repo.ok(['checkout', revision({ a, b })]);

    expect(symbolicHead(repo).code).not.toBe(0);
    expect(repo.revParse('HEAD')).toBe(expected({ a, b }));
    expect(JSON.parse(repo.ok(['status', '--json'])).branch).toBeNull();
  });

  it('returns to the branch with snap checkout main', async () => {
    const { repo, stateB } = await twoSnapshots();
    repo.ok(['checkout', 'HEAD~1']);

    const result = repo.snap(['checkout', 'main']);

    expect(result.code, result.stderr).toBe(0);
    expect(symbolicHead(repo).ref).toBe('refs/heads/main');
    expect(treeState(repo.rootfs, STORE)).toEqual(stateB);
    expect(result.stderr).not.toContain('warning');
  });

  it('reports the checked-out snapshot as JSON', async () => {
    const { repo, a } = await twoSnapshots();

    const json = JSON.parse(repo.ok(['checkout', 'HEAD~1', '--json']));

    expect(json.oid).toBe(a);
    expect(json.branch).toBeUndefined();
    expect(json.changed).toBeGreaterThan(0);
  });
});

describe('leaving a commit that no branch reaches', () => {
  async function detachedCommit() {
    const history = await twoSnapshots();
    const { repo } = history;
    await repo.checkoutInProcess('HEAD~1');
    fs.writeFileSync(join(repo.rootfs, 'detached'), 'work\n');
    const lost = await repo.commitInProcess('on a detached HEAD');
    return { ...history, lost };
  }

  it('prints a warning naming the commit', async () => {
    const { repo, lost } = await detachedCommit();

    const result = repo.snap(['checkout', 'main']);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`warning: .*${lost.slice(0, 7)}`));
    expect(result.stdout).toBe('');
  });

  it('suggests a snap command that keeps the commit', async () => {
    const { repo, lost } = await detachedCommit();
    const result = repo.snap(['checkout', 'main']);
    const suggested = /'snap ([^']*)'/.exec(result.stderr);
    expect(suggested, result.stderr).not.toBeNull();

    const args = suggested![1].split(' ').map((word) => (word === 'NAME' ? 'kept' : word));
    const keep = repo.snap(args);

    expect(keep.code, `snap ${args.join(' ')}: ${keep.stderr}`).toBe(0);
    expect(repo.revParse('refs/heads/kept')).toBe(lost);
  });
});

// Each case also checks that the directory a symlink points to, outside the rootfs, is unchanged.
describe('symlinks in the rootfs', () => {
  function outsideDir() {
    const outside = tempDir('snap-outside-');
    cleanups.push(() => fs.rmSync(outside, { recursive: true, force: true }));
    makeTree(outside, { '': dir({ mtime: T }), f: file('outside content\n', { mtime: T }), 'sub/g': file('outside g\n', { mtime: T }) });
    return { outside, before: treeState(outside) };
  }

  const withDir: Spec = { 'd/f': 'inside\n', 'd/sub/g': 'inside g\n', 'd/new': 'new\n', other: 'o' };

  it('replaces a symlink by a directory safely', async () => {
    const { outside, before } = outsideDir();
    const repo = await newRepo(withDir, true);
    const stateA = treeState(repo.rootfs);
    const a = await repo.commitInProcess('d is a directory');
    emptyDir(repo.rootfs);
    makeTree(repo.rootfs, { d: symlink(outside), other: 'o' });
    await repo.commitInProcess('d is a symlink to a directory outside');

    const result = repo.snap(['checkout', a]);

    expect(result.code, result.stderr).toBe(0);
    expect(treeState(outside)).toEqual(before);
    expect(fs.lstatSync(join(repo.rootfs, 'd')).isDirectory()).toBe(true);
    expect(treeState(repo.rootfs)).toEqual(stateA);
  });

  it('forces over a dirty symlink safely', async () => {
    const { outside, before } = outsideDir();
    // The second symlink stores the target bytes, so the dirty check can read the new symlink back
    // (a symlink to bytes never stored is covered by the status tests).
    const repo = await newRepo({ ...withDir, 'same-target': symlink(outside) }, true);
    const stateA = treeState(repo.rootfs);
    const a = await repo.commitInProcess('d is a directory');
    fs.rmSync(join(repo.rootfs, 'd'), { recursive: true });
    fs.symlinkSync(outside, join(repo.rootfs, 'd'));

    const result = repo.snap(['checkout', '--force', a]);

    expect(result.code, result.stderr).toBe(0);
    expect(treeState(outside)).toEqual(before);
    expect(treeState(repo.rootfs)).toEqual(stateA);
  });

  it('replaces a directory by a symlink safely', async () => {
    const { outside, before } = outsideDir();
    const repo = await newRepo({ d: symlink(outside), other: 'o' }, true);
    const stateA = treeState(repo.rootfs);
    const a = await repo.commitInProcess('d is a symlink');
    fs.rmSync(join(repo.rootfs, 'd'));
    makeTree(repo.rootfs, { ...withDir, 'd/f': file('inside\n', { mode: 0o600, uid: 99 }) });
    await repo.commitInProcess('d is a directory');

    const result = repo.snap(['checkout', a]);

    expect(result.code, result.stderr).toBe(0);
    expect(treeState(outside)).toEqual(before);
    expect(treeState(repo.rootfs)).toEqual(stateA);
  });
});

describe('unchanged paths', () => {
  it('keeps their inodes: only what differs is written', async () => {
    const { repo, a } = await twoSnapshots();
    const inode = (path: string) => fs.lstatSync(join(repo.rootfs, path)).ino;
    const keep = inode('keep');
    const changed = inode('etc/a');

    repo.ok(['checkout', a]);

    expect(inode('keep')).toBe(keep);
    expect(inode('etc/a')).not.toBe(changed);
  });
});

describe('removed directories', () => {
  it('go with everything below them', async () => {
    const repo = await newRepo({ keep: 'keep\n' });
    const a = await repo.commitInProcess('A');
    const stateA = treeState(repo.rootfs, STORE);
    makeTree(repo.rootfs, { 'usr/share/doc/x/copyright': 'x\n', 'usr/share/doc/x/changelog': 'y\n', 'usr/bin/tool': 'z\n', 'usr/lib/empty': dir() });
    await repo.commitInProcess('B');

    repo.ok(['checkout', a]);

    expect(treeState(repo.rootfs, STORE)).toEqual(stateA);
  });

  it.skipIf(!canMount())('stop at a mount point before any change', async () => {
    const repo = await newRepo({ 'etc/a': 'a\n' });
    const a = await repo.commitInProcess('A');
    makeTree(repo.rootfs, { 'mnt/data': dir() });
    await repo.commitInProcess('B');
    const mountPoint = join(repo.rootfs, 'mnt/data');
    run('mount', ['-t', 'tmpfs', 'snap-test', mountPoint]);
    let result;
    try {
      fs.writeFileSync(join(mountPoint, 'other-fs-file'), 'kept\n');
      fs.writeFileSync(join(repo.rootfs, 'etc/a'), 'changed\n');
      result = repo.snap(['checkout', '--force', a]);
      expect(fs.readFileSync(join(mountPoint, 'other-fs-file'), 'utf8')).toBe('kept\n');
    } finally {
      run('umount', [mountPoint]);
    }

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("'mnt/data' is a mount point");
    expect(fs.readFileSync(join(repo.rootfs, 'etc/a'), 'utf8')).toBe('changed\n');
  });

  it.skipIf(!canMount())('stop at a bind mount of the same filesystem', async () => {
    const repo = await newRepo({ 'etc/a': 'a\n' });
    const a = await repo.commitInProcess('A');
    makeTree(repo.rootfs, { 'mnt/data': dir() });
    await repo.commitInProcess('B');
    const outside = tempDir('snap-bind-source-');
    cleanups.push(() => fs.rmSync(outside, { recursive: true, force: true }));
    fs.writeFileSync(join(outside, 'outside-file'), 'kept\n');
    const mountPoint = join(repo.rootfs, 'mnt/data');
    run('mount', ['--bind', outside, mountPoint]);
    let status;
    let result;
    try {
      status = repo.snap(['status', '--porcelain']);
      fs.writeFileSync(join(repo.rootfs, 'etc/a'), 'changed\n');
      result = repo.snap(['checkout', '--force', a]);
    } finally {
      run('umount', [mountPoint]);
    }

    expect(status.stdout).not.toContain('outside-file');
    expect(status.stderr).toContain("not entering 'mnt/data': it is a mount point");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("'mnt/data' is a mount point");
    expect(fs.readFileSync(join(outside, 'outside-file'), 'utf8')).toBe('kept\n');
    expect(fs.readFileSync(join(repo.rootfs, 'etc/a'), 'utf8')).toBe('changed\n');
  });

  it('go even when they contain a socket', async () => {
    const repo = await newRepo({ keep: 'keep\n' });
    const a = await repo.commitInProcess('A');
    makeTree(repo.rootfs, { 'run/app/keep': 'kept\n' });
    const close = await listenSocket(join(repo.rootfs, 'run/app/app.sock'));
    let result;
    try {
      await repo.commitInProcess('B');
      result = repo.snap(['checkout', a]);
    } finally {
      await close();
    }

    expect(result.code, result.stderr).toBe(0);
    expect(fs.existsSync(join(repo.rootfs, 'run'))).toBe(false);
  });
});

// A checkout reads the blobs of the files it writes while the removed files are unlinked on
// native threads. These tests check the tree it ends with and where a failed read stops it.
describe('rollbacks that remove and write', () => {
  const MiB = 1024 * 1024;

  it('end with the exact tree when both share directories', async () => {
    const repo = await newRepo({
      'etc/a': file('a1\n', { mtime: T }),
      'etc/b': file('b1\n', { mode: 0o600, uid: 7 }),
      'etc/same-1': 'same\n',
      'etc/same-2': 'same\n',
      'etc/x': file('x is a file\n', { mtime: T }),
      'etc/empty': '',
      'etc/large': crypto.randomBytes(MiB + 1),
      'etc/link': hardlink('etc/a'),
      'lib/y': dir(),
      'lib/y/kept': 'kept\n',
    });
    const stateA = treeState(repo.rootfs, STORE);
    const a = await repo.commitInProcess('A');
    fs.rmSync(join(repo.rootfs, 'etc/b'));
    fs.rmSync(join(repo.rootfs, 'etc/x'));
    fs.rmSync(join(repo.rootfs, 'etc/link'));
    fs.rmSync(join(repo.rootfs, 'lib/y/kept'));
    fs.rmdirSync(join(repo.rootfs, 'lib/y'));
    makeTree(repo.rootfs, {
      'etc/a': 'a2\n',
      'etc/same-2': 'changed\n',
      'etc/x/inside': 'x is a directory\n',
      'etc/new': 'new\n',
      'etc/empty': 'not empty\n',
      'lib/y': 'y is a file\n',
    });
    await repo.commitInProcess('B');

    repo.ok(['checkout', a]);

    expect(treeState(repo.rootfs, STORE)).toEqual(stateA);
  });

  it('end with the exact tree past the prefetch budget', async () => {
    // 40 MiB of whole-blob files is more than the 32 MiB read during the unlinks, so the walk
    // reads the rest.
    const spec: Spec = {};
    for (let i = 0; i < 40; i++) spec[`data/f${String(i).padStart(2, '0')}`] = crypto.randomBytes(MiB);
    const repo = await newRepo(spec);
    const stateA = treeState(repo.rootfs, STORE);
    const a = await repo.commitInProcess('A');
    for (let i = 0; i < 40; i += 2) fs.rmSync(join(repo.rootfs, `data/f${String(i).padStart(2, '0')}`));
    for (let i = 1; i < 40; i += 2) fs.writeFileSync(join(repo.rootfs, `data/f${String(i).padStart(2, '0')}`), `changed ${i}\n`);
    await repo.commitInProcess('B');

    repo.ok(['checkout', a]);

    expect(treeState(repo.rootfs, STORE)).toEqual(stateA);
  });

  it('fail on a missing blob after the writes before it', async () => {
    const repo = await newRepo({ a: 'a1\n', z: 'z1\n' });
    const a = await repo.commitInProcess('A');
    fs.writeFileSync(join(repo.rootfs, 'a'), 'a2\n');
    fs.writeFileSync(join(repo.rootfs, 'z'), 'z2\n');
    fs.writeFileSync(join(repo.rootfs, 'gone'), 'gone\n');
    await repo.commitInProcess('B');
    // Small commits store loose objects, and a blob's id is the SHA-1 of its git header and content.
    const missing = crypto.createHash('sha1').update('blob 3\0z1\n').digest('hex');
    fs.rmSync(join(repo.gitdir, 'objects', missing.slice(0, 2), missing.slice(2)));

    const result = repo.snap(['checkout', a]);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`object ${missing} not found`);
    expect(fs.existsSync(join(repo.rootfs, 'gone'))).toBe(false);
    expect(fs.readFileSync(join(repo.rootfs, 'a'), 'utf8')).toBe('a1\n');
    expect(fs.readFileSync(join(repo.rootfs, 'z'), 'utf8')).toBe('z2\n');
  });
});
