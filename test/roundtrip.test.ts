// Every entry kind and attribute survives commit and checkout: the tree is committed, destroyed or
// changed in place, checked out again, and compared with the original by mtree, getfattr and
// find. git fsck --strict judges the store, and git show reads content back from it.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkout, commit, init } from '../src/index.js';
import { removeXattr, setTimes, setXattr } from '../src/native/index.js';
import { treeState } from './helpers/judge.js';
import { run, runOk, runSnap, snapOk } from './helpers/snap.js';
import { at, device, dir, emptyDir, fifo, file, hardlink, listenSocket, makeTree, setAttrs, symlink, tempDir, type Spec } from './helpers/tree.js';

const T1 = 1_650_000_000_123_456_789n;
const T2 = 1_600_000_000_000_000_001n;
const T3 = 1_500_000_000_999_999_999n;

// A file capability as setcap writes it: VFS_CAP_REVISION_2 (0x02000001, little-endian) with
// CAP_NET_RAW (bit 13) permitted, and no inheritable or rootid fields set.
const CAPABILITY = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, ...new Array(12).fill(0)]);
const BINARY_VALUE = Buffer.from([0x00, 0x01, 0x00, 0xff, 0x0a, 0x3d, 0x25]);
const NON_UTF8_NAME = Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x73, 0x2f, 0x66, 0xff, 0xfe]); // names/f\xff\xfe
const NON_UTF8_TARGET = Buffer.from([0x74, 0xe9, 0xff, 0x2f, 0x0a, 0x78]);
const NAME_255 = 'n'.repeat(255);
// Twelve nested 250-byte names: a path of about 3 KB.
const LONG_PATH = Array.from({ length: 12 }, (_, i) => `d${i}`.padEnd(250, 'p')).join('/');
// Names git fsck --strict rejects in a tree, and names snap reserves for its own entries.
const GIT_NAMES = ['.git', '.GIT', 'git~1', '.gitmodules', '.Gitattributes', 'back\\slash', '.snap-meta', '.snap-name-2e676974', '.snap-x'];

const work: string[] = [];
afterAll(() => {
  for (const dir of work) fs.rmSync(dir, { recursive: true, force: true });
});

/** Creates a work directory with rootfs/, an outside/ directory for symlink targets and store/. */
function setup(): { base: string; rootfs: string; store: string; outside: string } {
  const base = tempDir();
  work.push(base);
  const outside = join(base, 'outside');
  makeTree(outside, { sentinel: file('outside\n', { mode: 0o600, mtime: T1 }) });
  return { base, rootfs: join(base, 'rootfs'), store: join(base, 'store'), outside };
}

function fullSpec(outside: string, big: Buffer): Spec {
  return [
    ['', dir({ mode: 0o755, mtime: T3, xattrs: { 'user.root': 'top' } })],
    ['empty', file('', { mtime: T1 })],
    ['big', file(big, { mode: 0o640, mtime: T2 })],
    ['etc', dir({ mtime: T2 })],
    ['etc/passwd', file('root:x:0:0:root:/root:/bin/sh\n', { mtime: T1 })],
    ['emptydir', dir({ mode: 0o750, mtime: T1 })],
    ['nested/empty/deeper', dir({ mtime: T2 })],
    ['links/rel', symlink('../etc/passwd', { mtime: T1 })],
    ['links/abs', symlink(join(outside, 'sentinel'), { mtime: T2 })],
    ['links/dangling', symlink('no/such/file', { mtime: T3 })],
    ['links/raw', symlink(NON_UTF8_TARGET)],
    ['links/owned', symlink('x', { uid: 42, gid: 43, mtime: T1 })],
    ['links/to-outside-dir', symlink(outside)],
    ['hard/a', file('shared\n', { mtime: T1 })],
    ['hard/b', hardlink('hard/a')],
    ['hard/sub/c', hardlink('hard/a')],
    ['hard/x', file('other\n')],
    ['hard/y', hardlink('hard/x')],
    ['dev/null', device('char', 1, 3, { mode: 0o666, mtime: T1, xattrs: { 'trusted.dev': 'node' } })],
    ['dev/sda1', device('block', 8, 1, { mode: 0o660, gid: 6 })],
    ['dev/wide', device('char', 511, 300000, { mode: 0o600 })],
    ['run/initctl', fifo({ mode: 0o640, mtime: T2 })],
    ['modes/setuid', file('su', { mode: 0o4755 })],
    ['modes/setgid', file('sg', { mode: 0o2755 })],
    ['modes/sticky', dir({ mode: 0o1777 })],
    ['modes/all-bits', file('all', { mode: 0o7777 })],
    ['modes/readonly', file('ro', { mode: 0o444 })],
    ['modes/none', file('none', { mode: 0o000 })],
    ['modes/rx', file('rx', { mode: 0o555 })],
    ['modes/setgid-dir', dir({ mode: 0o2775, gid: 50 })],
    ['modes/closed', dir({ mode: 0o000 })],
    ['modes/closed/inside', file('in', { mode: 0o600 })],
    ['owned', file('owned\n', { uid: 1234, gid: 5678, mtime: T3 })],
    ['owned-dir', dir({ uid: 1234, gid: 5678, mode: 0o700 })],
    ['x/user', file('u', { xattrs: { 'user.a': 'one', 'user.b': '', 'user.mime_type': 'text/plain' } })],
    ['x/trusted', file('t', { xattrs: { 'trusted.overlay.opaque': 'y', 'trusted.b': 'b' } })],
    ['x/cap', file('#!/bin/true\n', { mode: 0o755, xattrs: { 'security.capability': CAPABILITY } })],
    ['x/binary', file('b', { xattrs: { 'user.bin': BINARY_VALUE } })],
    ['x/link', symlink('user', { xattrs: { 'trusted.link': 'on-the-link' }, mtime: T1 })],
    ['x/dir', dir({ xattrs: { 'user.dir': 'd', 'trusted.dir': 'td' }, mtime: T3 })],
    [NON_UTF8_NAME, file('raw name\n')],
    ['names/new\nline', file('nl\n')],
    ['names/-dash', file('dash\n')],
    ['names/ space ', file('spaces\n')],
    [`names/${NAME_255}`, file('255\n')],
    [`names/${LONG_PATH}`, file('deep\n', { mtime: T1 })],
    ['names/.wh-not-whiteout', file('x')],
    ...GIT_NAMES.map((name) => [`git/${name}`, file(`${name}\n`)] as [string, ReturnType<typeof file>]),
    ['git/.git-dir/.git/config', file('[core]\n')],
  ];
}

/** Builds the full tree, commits it through the CLI with the store outside, and returns its state. */
function commitFullTree() {
  const paths = setup();
  makeTree(paths.rootfs, fullSpec(paths.outside, randomBytes(3 * 1024 * 1024)));
  const before = treeState(paths.rootfs);
  const outsideBefore = treeState(paths.outside);
  snapOk(['--store', paths.store, 'init', paths.rootfs]);
  const id = snapOk(['--store', paths.store, 'commit', '-m', 'full tree']);
  return { ...paths, before, outsideBefore, id };
}

describe('commit and checkout round-trip', () => {
  it('recreates a destroyed tree exactly', () => {
    const { rootfs, store, outside, before, outsideBefore, id } = commitFullTree();
    emptyDir(rootfs);
    snapOk(['--store', store, 'commit', '-m', 'empty']);

    const result = runSnap(['--store', store, 'checkout', id]);
    expect(result.code, result.stderr).toBe(0);

    const after = treeState(rootfs);
    expect(after.mtree).toEqual(before.mtree);
    expect(after.xattrs).toEqual(before.xattrs);
    expect(after.links).toEqual(before.links);
    expect(treeState(outside)).toEqual(outsideBefore);
  });

  it('restores attributes and entries changed in place', () => {
    const { rootfs, store, outside, before, outsideBefore, id } = commitFullTree();
    const p = (path: string | Buffer) => at(rootfs, path);

    fs.writeFileSync(p('etc/passwd'), 'root:x:0:0:root:/root:/bin/zz\n');
    setTimes(p('etc/passwd'), T1, T1);
    const big = fs.readFileSync(p('big'));
    big[2_000_000] ^= 0xff;
    fs.writeFileSync(p('big'), big);
    setTimes(p('big'), T2, T2);
    setAttrs(p('modes/setuid'), { mode: 0o755 });
    setAttrs(p('modes/sticky'), { mode: 0o777 });
    setAttrs(p('owned'), { uid: 1, gid: 1 });
    setAttrs(p('links/owned'), { uid: 7, gid: 7, type: 'symlink' });
    setTimes(p('links/rel'), T3, T3);
    setTimes(p('x/dir'), T1, T1);
    removeXattr(p('x/user'), 'user.a');
    setXattr(p('x/user'), 'user.added', Buffer.from('new'));
    removeXattr(p('x/cap'), 'security.capability');
    setXattr(p('x/link'), 'trusted.link', Buffer.from('changed'));
    setXattr(p(''), 'user.root', Buffer.from('changed'));
    fs.chmodSync(p(''), 0o700);
    fs.rmSync(p('emptydir'), { recursive: true });
    fs.writeFileSync(p('emptydir'), 'now a file');
    fs.rmSync(p('links/dangling'));
    makeTree(p('links/dangling'), { inside: 'now a directory' });
    fs.rmSync(p('run/initctl'));
    fs.writeFileSync(p('run/initctl'), 'not a fifo');
    fs.rmSync(p('dev/null'));
    fs.rmSync(p('hard/b'));
    fs.writeFileSync(p('hard/b'), 'shared\n');
    fs.rmSync(p('links/abs'));
    fs.writeFileSync(p('links/abs'), 'plain file');
    fs.rmSync(p(NON_UTF8_NAME));
    makeTree(rootfs, { 'junk/deep/file': 'junk', 'names/extra': 'x' });

    const result = runSnap(['--store', store, 'checkout', '--force', id]);
    expect(result.code, result.stderr).toBe(0);

    const after = treeState(rootfs);
    expect(after.mtree).toEqual(before.mtree);
    expect(after.xattrs).toEqual(before.xattrs);
    expect(after.links).toEqual(before.links);
    expect(treeState(outside)).toEqual(outsideBefore);
  });
});

describe('the store of the full tree', () => {
  let committed: ReturnType<typeof commitFullTree>;
  beforeAll(() => {
    committed = commitFullTree();
  });

  it('passes git fsck --strict', () => {
    const fsck = run('git', ['--git-dir', committed.store, 'fsck', '--strict', '--no-dangling']);

    expect(fsck.stderr).toBe('');
    expect(fsck.code).toBe(0);
  });

  it('holds file content that git show reads back', () => {
    const { store, rootfs } = committed;

    expect(runOk('git', ['--git-dir', store, 'show', 'HEAD:rootfs/etc/passwd'])).toBe('root:x:0:0:root:/root:/bin/sh\n');
    expect(runOk('git', ['--git-dir', store, 'show', `HEAD:rootfs/names/${LONG_PATH}`])).toBe('deep\n');
    const big = run('git', ['--git-dir', store, 'cat-file', 'blob', 'HEAD:rootfs/big']).stdoutBytes;
    expect(big.equals(fs.readFileSync(join(rootfs, 'big')))).toBe(true);
    expect(runOk('git', ['--git-dir', store, 'cat-file', 'blob', 'HEAD:rootfs/links/rel'])).toBe('../etc/passwd');
  });
});

describe('tree names', () => {
  // Each name is committed alone, so a failure names the one that breaks the store.
  it.each([
    ...GIT_NAMES,
    'a\\.git',
    'b\\git~1',
    'c\\.gitmodules',
    'd\\.GIT\\e',
    // HFS+ ignores these code points in names, so git fsck reads each name as ".git".
    '.g\u200cit',
    '\u200d.GIT',
    '.gi\ufefft',
  ])('name %j passes fsck and round-trips', async (name) => {
    const { rootfs, store } = setup();
    makeTree(rootfs, { [name]: file(`content of ${name}\n`), [`sub/${name}/child`]: 'child\n' });
    await init({ dir: rootfs, store });
    const { oid } = await commit({ store, message: 'names' });

    const fsck = run('git', ['--git-dir', store, 'fsck', '--strict', '--no-dangling']);
    emptyDir(rootfs);
    await checkout({ store, revision: oid, force: true });

    expect(fsck.stderr).toBe('');
    expect(fsck.code).toBe(0);
    expect(fs.readFileSync(join(rootfs, name), 'utf8')).toBe(`content of ${name}\n`);
    expect(fs.readFileSync(join(rootfs, 'sub', name, 'child'), 'utf8')).toBe('child\n');
  });
});

describe('sockets', () => {
  it('skips a socket with a warning on stderr', async () => {
    const { rootfs, store } = setup();
    makeTree(rootfs, { 'run/keep': 'kept\n' });
    const close = await listenSocket(join(rootfs, 'run', 'app.sock'));
    let result;
    try {
      snapOk(['--store', store, 'init', rootfs]);
      result = runSnap(['--store', store, 'commit', '-m', 'with socket']);
    } finally {
      await close();
    }

    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/warning: skipping socket 'run\/app\.sock'/);
    expect(result.stdout).toMatch(/^[0-9a-f]{7}\n$/);
    const listing = runOk('git', ['--git-dir', store, 'ls-tree', '--name-only', 'HEAD:rootfs/run']);
    expect(listing).toBe('keep\n');
  });
});

describe('file content', () => {
  // A commit writes its first 100 new entries as loose objects and switches to a pack after that.
  it.each([3, 600])('is stored as git stores it, for %i small files', (count) => {
    const { rootfs, store } = setup();
    const spec: Spec = {};
    for (let i = 0; i < count; i++) spec[`d${i % 7}/f${i}`] = `content ${i}\n`.repeat(i % 5);
    makeTree(rootfs, spec);

    snapOk(['--store', store, 'init', rootfs]);
    snapOk(['--store', store, 'commit', '-m', 'files']);

    const listing = runOk('git', ['--git-dir', store, 'ls-tree', '-r', 'HEAD:rootfs']).trim().split('\n').map((line) => line.split(/\s+/));
    const paths = listing.map(([, , , path]) => join(rootfs, path));
    const hashed = runOk('git', ['hash-object', ...paths]).trim().split('\n');
    expect(listing).toHaveLength(count);
    expect(listing.map(([, , oid]) => oid)).toEqual(hashed);
  });
});
