// snap status against HEAD: each kind of change (added, modified, deleted, type-changed,
// metadata-only) gets its letter in `snap status --json`, and nothing else is listed.

import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimes, setXattr, removeXattr } from '../src/native/index.js';
import { runSnap, snapOk } from './helpers/snap.js';
import { at, dir, fifo, file, hardlink, makeTree, symlink, tempDir } from './helpers/tree.js';

const T = 1_650_000_000_123_456_789n;

interface JsonEntry {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  mtime: string;
  xattrs: Record<string, string>;
  link?: string;
}

interface JsonChange {
  status: string;
  path: string;
  old?: JsonEntry;
  new?: JsonEntry;
}

const work: string[] = [];
afterAll(() => {
  for (const path of work) fs.rmSync(path, { recursive: true, force: true });
});

function newRootfs(): string {
  const base = tempDir();
  work.push(base);
  return join(base, 'rootfs');
}

function statusJson(rootfs: string): { branch: string | null; head: string | null; changes: JsonChange[] } {
  return JSON.parse(snapOk(['status', '--json'], { cwd: rootfs }));
}

describe('status of each kind of change', () => {
  let changes: JsonChange[] = [];
  const byPath = (path: string) => changes.find((change) => change.path === path);

  beforeAll(() => {
    const rootfs = newRootfs();
    makeTree(rootfs, {
      '': dir({ mtime: T }),
      keep: file('same', { mtime: T }),
      mod: file('old', { mtime: T }),
      del: file('gone', { mtime: T }),
      'deldir/a': file('a', { mtime: T }),
      'deldir/sub/b': file('b', { mtime: T }),
      f2d: file('was a file', { mtime: T }),
      'd2l/child': file('c', { mtime: T }),
      l2f: symlink('keep', { mtime: T }),
      fifo2f: fifo({ mtime: T }),
      chmod: file('c', { mode: 0o644, mtime: T }),
      chown: file('o', { uid: 10, gid: 20, mtime: T }),
      touch: file('t', { mtime: T }),
      'xattr-add': file('x', { mtime: T }),
      'xattr-del': file('x', { mtime: T, xattrs: { 'user.gone': 'soon' } }),
      'link/a': file('l', { mtime: T }),
      'link/b': hardlink('link/a'),
      dirmode: dir({ mode: 0o755, mtime: T }),
      'link': dir({ mtime: T }),
    });
    snapOk(['init'], { cwd: rootfs });
    setTimes(at(rootfs), T, T);
    snapOk(['commit', '-m', 'base'], { cwd: rootfs });

    const p = (path: string) => join(rootfs, path);
    fs.writeFileSync(p('added'), 'new');
    makeTree(rootfs, { 'newdir/x': 'x' });
    fs.writeFileSync(p('mod'), 'new');
    setTimes(at(rootfs, 'mod'), T, T);
    fs.rmSync(p('del'));
    fs.rmSync(p('deldir'), { recursive: true });
    fs.rmSync(p('f2d'));
    makeTree(rootfs, { 'f2d/inner': 'inner' });
    fs.rmSync(p('d2l'), { recursive: true });
    fs.symlinkSync('keep', p('d2l'));
    fs.rmSync(p('l2f'));
    fs.writeFileSync(p('l2f'), 'keep');
    fs.rmSync(p('fifo2f'));
    fs.writeFileSync(p('fifo2f'), '');
    fs.chmodSync(p('chmod'), 0o600);
    fs.chownSync(p('chown'), 11, 20);
    setTimes(at(rootfs, 'touch'), T + 1n, T + 1n);
    setXattr(at(rootfs, 'xattr-add'), 'user.new', Buffer.from('v'));
    removeXattr(at(rootfs, 'xattr-del'), 'user.gone');
    fs.rmSync(p('link/b'));
    fs.writeFileSync(p('link/b'), 'l');
    for (const path of ['link/a', 'link/b', 'link', '']) setTimes(at(rootfs, path), T, T);
    fs.chmodSync(p('dirmode'), 0o700);

    changes = statusJson(rootfs).changes;
  });

  it.each([
    ['added', 'A'],
    ['newdir', 'A'],
    ['newdir/x', 'A'],
    ['mod', 'M'],
    ['del', 'D'],
    ['deldir', 'D'],
    ['deldir/a', 'D'],
    ['deldir/sub', 'D'],
    ['deldir/sub/b', 'D'],
    ['f2d', 'T'],
    ['f2d/inner', 'A'],
    ['d2l', 'T'],
    ['d2l/child', 'D'],
    ['l2f', 'T'],
    ['fifo2f', 'T'],
    ['chmod', 'm'],
    ['chown', 'm'],
    ['touch', 'm'],
    ['xattr-add', 'm'],
    ['xattr-del', 'm'],
    ['link/a', 'm'],
    ['link/b', 'm'],
    ['dirmode', 'm'],
  ])('reports %s as %s', (path, status) => {
    expect(byPath(path)?.status).toBe(status);
  });

  it('lists no other path', () => {
    const expected = ['added', 'newdir', 'newdir/x', 'mod', 'del', 'deldir', 'deldir/a', 'deldir/sub', 'deldir/sub/b', 'f2d', 'f2d/inner',
      'd2l', 'd2l/child', 'l2f', 'fifo2f', 'chmod', 'chown', 'touch', 'xattr-add', 'xattr-del', 'link/a', 'link/b', 'dirmode'];
    expect(changes.map((change) => change.path).sort()).toEqual(expected.sort());
  });

  it('lists parents before children', () => {
    const paths = changes.map((change) => change.path);
    for (const [index, path] of paths.entries()) {
      const parent = path.slice(0, path.lastIndexOf('/'));
      if (parent !== '' && paths.includes(parent)) expect(paths.indexOf(parent), path).toBeLessThan(index);
    }
  });

  it('shows old and new attributes of metadata changes', () => {
    expect([byPath('chmod')?.old?.mode, byPath('chmod')?.new?.mode]).toEqual(['0644', '0600']);
    expect([byPath('chown')?.old?.uid, byPath('chown')?.new?.uid]).toEqual([10, 11]);
    expect(BigInt(byPath('touch')!.new!.mtime) - BigInt(byPath('touch')!.old!.mtime)).toBe(1n);
    expect(byPath('xattr-add')?.new?.xattrs).toEqual({ 'user.new': Buffer.from('v').toString('base64') });
    expect(byPath('link/b')?.old?.link).toBe('link/a');
    expect(byPath('link/b')?.new?.link).toBeUndefined();
  });

  it('shows old and new types of type changes', () => {
    expect([byPath('f2d')?.old?.type, byPath('f2d')?.new?.type]).toEqual(['file', 'dir']);
    expect([byPath('d2l')?.old?.type, byPath('d2l')?.new?.type]).toEqual(['dir', 'symlink']);
    expect([byPath('l2f')?.old?.type, byPath('l2f')?.new?.type]).toEqual(['symlink', 'file']);
    expect([byPath('fifo2f')?.old?.type, byPath('fifo2f')?.new?.type]).toEqual(['fifo', 'file']);
  });
});

describe('status output', () => {
  it('reports a clean rootfs', () => {
    const rootfs = newRootfs();
    makeTree(rootfs, { a: 'a' });
    snapOk(['init'], { cwd: rootfs });
    const id = snapOk(['commit', '-m', 'one'], { cwd: rootfs });

    const json = statusJson(rootfs);

    expect(json.changes).toEqual([]);
    expect(json.branch).toBe('main');
    expect(json.head?.startsWith(id)).toBe(true);
  });

  it('lists everything as added before the first commit', () => {
    const rootfs = newRootfs();
    makeTree(rootfs, { 'etc/hosts': 'h' });
    snapOk(['init'], { cwd: rootfs });

    const json = statusJson(rootfs);

    expect(json.head).toBeNull();
    expect(json.changes.map((change) => [change.status, change.path])).toEqual([['A', ''], ['A', 'etc'], ['A', 'etc/hosts']]);
  });

  it('gives non-UTF-8 paths as pathBase64', () => {
    const rootfs = newRootfs();
    makeTree(rootfs, { a: 'a' });
    snapOk(['init'], { cwd: rootfs });
    snapOk(['commit', '-m', 'one'], { cwd: rootfs });
    const name = Buffer.from([0x6e, 0xff, 0x0a]);
    fs.writeFileSync(at(rootfs, name), 'raw');

    const changes = statusJson(rootfs).changes as (JsonChange & { pathBase64?: string })[];
    const added = changes.find((change) => change.pathBase64 !== undefined);

    expect(added?.status).toBe('A');
    expect(Buffer.from(added!.pathBase64!, 'base64')).toEqual(name);
  });

  it('never lists the store inside the rootfs', () => {
    const rootfs = newRootfs();
    makeTree(rootfs, { a: 'a' });
    snapOk(['init'], { cwd: rootfs });

    const paths = statusJson(rootfs).changes.map((change) => change.path);

    expect(paths).toEqual(['', 'a']);
  });

  it('lists a symlink to unstored target bytes', () => {
    const rootfs = newRootfs();
    makeTree(rootfs, { a: 'a' });
    snapOk(['init'], { cwd: rootfs });
    snapOk(['commit', '-m', 'one'], { cwd: rootfs });
    fs.symlinkSync('a-target-never-committed', join(rootfs, 'link'));

    const result = runSnap(['status', '--json'], { cwd: rootfs });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).changes.map((change: JsonChange) => [change.status, change.path])).toContainEqual(['A', 'link']);
  });
});
