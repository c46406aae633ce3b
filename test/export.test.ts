// snap export and snap diff --export: whiteouts, type changes, entry order, rejected .wh. names,
// reproducible bytes, and compression with digests that match what is written. The tar is read
// byte by byte, and umoci applies layers where the result on disk matters.

import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, treeState, unpackLayers, type TreeState } from './helpers/judge.js';
import { Repo } from './helpers/repo.js';
import { has, runOk, run } from './helpers/snap.js';
import { readTar, tarNames, type TarMember } from './helpers/tar.js';
import { dir, emptyDir, file, hardlink, makeTree, symlink, type Spec } from './helpers/tree.js';
import { PassThrough } from 'node:stream';
import { layerItems } from '../src/api/layer-items.js';
import { writeLayer } from '../src/oci/layer.js';
import { diffSnapshots } from '../src/store/diff.js';
import { readCommit } from '../src/store/revision.js';
import { snapshotRoot } from '../src/store/snapshot-read.js';
import { openStore } from '../src/store/store.js';

const T = 1_650_000_000_123_456_789n;

const repos: Repo[] = [];
afterAll(() => {
  for (const repo of repos) repo.remove();
});

async function newRepo(spec?: Spec, externalStore = true): Promise<Repo> {
  const repo = await Repo.createInProcess({ spec, externalStore });
  repos.push(repo);
  return repo;
}

/** Replaces the rootfs contents with `spec` (the store lives outside it). */
function replaceTree(repo: Repo, spec: Spec): void {
  emptyDir(repo.rootfs);
  makeTree(repo.rootfs, spec);
}

function isWhiteout(name: string): boolean {
  return name.slice(name.lastIndexOf('/') + 1).startsWith('.wh.');
}

/** Returns the member names (latin1, without a trailing '/') in layer order. */
function paths(members: TarMember[]): string[] {
  return members.map((member) => member.name.toString('latin1').replace(/\/$/, ''));
}

function exportDiff(repo: Repo, from: string, to: string, name: string): Buffer {
  const out = repo.file(name);
  repo.ok(['diff', from, to, '--export', out]);
  return fs.readFileSync(out);
}

describe('whiteouts', () => {
  let repo: Repo;
  let names: string[] = [];

  beforeAll(async () => {
    repo = await newRepo({
      top: 'top',
      'etc/keep': 'keep',
      'etc/old': 'old',
      'var/cache/a': 'a',
      'var/cache/sub/b': 'b',
      'var/cache/sub/deeper/c': 'c',
      'var/log/keep': 'log',
    });
    const a = await repo.commitInProcess('base');
    fs.rmSync(repo.file('rootfs/top'));
    fs.rmSync(repo.file('rootfs/etc/old'));
    fs.rmSync(repo.file('rootfs/var/cache'), { recursive: true });
    const b = await repo.commitInProcess('deletions');
    names = tarNames(exportDiff(repo, a, b, 'deletions.tar'));
  });

  it('marks a deleted file with .wh.NAME in its directory', async () => {
    expect(names).toContain('etc/.wh.old');
    expect(names).toContain('.wh.top');
  });

  it('marks a deleted subtree with one whiteout and nothing beneath it', async () => {
    expect(names).toContain('var/.wh.cache');
    expect(names.filter((name) => name.startsWith('var/cache/'))).toEqual([]);
  });

  it('writes no other whiteout', async () => {
    expect(names.filter(isWhiteout).sort()).toEqual(['.wh.top', 'etc/.wh.old', 'var/.wh.cache']);
  });

  it('writes whiteouts as empty regular files', async () => {
    const whiteouts = readTar(fs.readFileSync(repo.file('deletions.tar'))).filter((member) => isWhiteout(member.name.toString('latin1')));
    expect(whiteouts.map((member) => [member.type, member.size])).toEqual([['0', 0], ['0', 0], ['0', 0]]);
  });
});

describe('type changes', () => {
  const before: Spec = {
    f2d: 'was a file',
    'd2f/x': 'x',
    'd2f/y/z': 'z',
    'd2l/child': 'c',
    l2d: symlink('f2l'),
    f2l: 'was a file',
    l2f: symlink('nowhere'),
    'd2d/kept': 'k',
  };
  const after: Spec = {
    'f2d/new': 'now in a directory',
    d2f: 'now a file',
    d2l: symlink('/outside/target'),
    'l2d/inside': 'i',
    f2l: symlink('d2f'),
    l2f: 'now a file',
    'd2d/kept': 'k',
  };
  let repo: Repo;
  let a = '';
  let afterState: TreeState;
  let members: TarMember[] = [];

  beforeAll(async () => {
    repo = await newRepo(before);
    a = await repo.commitInProcess('before');
    replaceTree(repo, after);
    afterState = treeState(repo.rootfs);
    const b = await repo.commitInProcess('after');
    members = readTar(exportDiff(repo, a, b, 'types.tar'));
  });

  const byName = (name: string) => members.find((member) => member.name.toString('latin1') === name);

  it('writes no whiteout for a path recreated with another type', async () => {
    expect(paths(members).filter(isWhiteout)).toEqual([]);
  });

  it.each([
    ['f2d/', '5'],
    ['f2d/new', '0'],
    ['d2f', '0'],
    ['d2l', '2'],
    ['l2d/', '5'],
    ['l2d/inside', '0'],
    ['f2l', '2'],
    ['l2f', '0'],
  ])('writes %s with typeflag %s', async (name, type) => {
    expect(byName(name)?.type).toBe(type);
  });

  it('writes nothing beneath a directory replaced by a file or symlink', async () => {
    expect(paths(members).filter((path) => path.startsWith('d2f/') || path.startsWith('d2l/'))).toEqual([]);
  });

  it.skipIf(!has('umoci'))('applies over the base layer to the new tree with umoci', async () => {
    const base = repo.file('types-base.tar');
    repo.ok(['export', a, '-o', base]);

    const unpacked = unpackLayers(repo.file('types-umoci'), [base, repo.file('types.tar')]);

    const state = treeState(unpacked);
    expect(state.mtree).toEqual(afterState.mtree);
    expect(state.xattrs).toEqual(afterState.xattrs);
  });
});

describe('entry order', () => {
  let repo: Repo;
  let a = '';
  let b = '';
  let full = '';

  beforeAll(async () => {
    repo = await newRepo({
      '': dir({ mtime: T }),
      'a/b/c/d': 'deep',
      'a/z': 'z',
      'a.b': 'dot sorts before slash',
      'a-b/c': 'dash',
      'z/y/x': 'x',
    });
    a = await repo.commitInProcess('one');
    makeTree(repo.rootfs, { 'a/b/new/file': 'n', 'a/b/c/e': 'e', 'n/m': 'm' });
    fs.rmSync(repo.file('rootfs/z/y'), { recursive: true });
    b = await repo.commitInProcess('two');
    full = repo.file('order-full.tar');
    repo.ok(['export', b, '-o', full]);
  });

  it.each([
    ['snap export', () => fs.readFileSync(full)],
    ['snap diff --export', () => exportDiff(repo, a, b, 'order-diff.tar')],
  ])('lists parent directories before their children in %s', async (_name, layer) => {
    const order = paths(readTar(layer()));
    for (const [index, path] of order.entries()) {
      for (let slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
        const parent = order.indexOf(path.slice(0, slash));
        if (parent >= 0) expect(parent, `${path.slice(0, slash)} before ${path}`).toBeLessThan(index);
      }
    }
  });

  it('writes every parent directory of an entry in a full export', async () => {
    const order = paths(readTar(fs.readFileSync(full)));
    for (const path of order) {
      if (path === '.' || !path.includes('/')) continue;
      expect(order, path).toContain(path.slice(0, path.lastIndexOf('/')));
    }
    expect(order[0]).toBe('.');
  });
});

describe('whole snapshot export', () => {
  it('writes the bytes of the planned layer of every entry', async () => {
    // Names where walk order and plain byte order of whole paths differ, and a hardlink set whose
    // first member in byte order ('a-x/h') comes after another member ('a/h') in walk order.
    const repo = await newRepo({
      '': dir({ mtime: T }),
      'a/h': 'linked',
      'a/b/c': 'c',
      'a-x/h': hardlink('a/h'),
      'a.b': 'dot',
      'z/h': hardlink('a/h'),
      'z/s': symlink('../a.b'),
    });
    const commit = await repo.commitInProcess('one');
    const streamed = repo.file('streamed.tar');
    repo.ok(['export', commit, '-o', streamed]);

    const store = await openStore({ dir: repo.rootfs, store: repo.gitdir });
    const root = await snapshotRoot(store.objects, (await readCommit(store, commit)).tree);
    const items = await layerItems(store.objects, await diffSnapshots(store.objects, undefined, root), root);
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => chunks.push(chunk));
    await writeLayer(items, { openBlob: (oid) => store.objects.openBlob(oid) }, sink);

    const written = fs.readFileSync(streamed);
    expect(paths(readTar(written))).toContain('a-x/h');
    expect(written.equals(Buffer.concat(chunks))).toBe(true);
  });
});

describe('a real file named .wh.*', () => {
  let repo: Repo;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    repo = await newRepo({ 'etc/ok': 'ok' });
    ids.before = await repo.commitInProcess('without a .wh. file');
    makeTree(repo.rootfs, { 'etc/.wh.foo': 'a real file' });
    ids.after = await repo.commitInProcess('with a .wh. file');
  });

  it.each([
    ['snap export', (id: Record<string, string>) => ['export', id.after, '-o']],
    ['snap diff --export', (id: Record<string, string>) => ['diff', id.before, id.after, '--export']],
  ])('makes %s fail and write nothing', async (_name, argsFor) => {
    const args = argsFor(ids);
    const out = repo.file(`rejected-${args[0]}.tar`);
    const listing = fs.readdirSync(repo.base).sort();

    const result = repo.snap([...args, out]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("'etc/.wh.foo'");
    expect(result.stderr).toMatch(/reserved for whiteouts/);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(repo.base).sort()).toEqual(listing);
  });

  it('makes diff --export of the rootfs fail when the file is new', async () => {
    const clean = await newRepo({ etc: dir() });
    await clean.commitInProcess('clean');
    makeTree(clean.rootfs, { 'etc/.wh.new': 'x' });
    const out = clean.file('rootfs.tar');

    const result = clean.snap(['diff', '--export', out]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("'etc/.wh.new'");
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('reproducible layers', () => {
  let repo: Repo;
  let a = '';
  let b = '';

  beforeAll(async () => {
    repo = await newRepo({ 'etc/hosts': '127.0.0.1 localhost\n', 'usr/bin/tool': file('#!/bin/sh\n', { mode: 0o755 }) });
    a = await repo.commitInProcess('one');
    makeTree(repo.rootfs, { 'etc/new': 'new', 'var/log/x': 'x' });
    b = await repo.commitInProcess('two');
  });

  it('writes the same bytes when a snapshot is exported twice', async () => {
    repo.ok(['export', b, '-o', repo.file('twice-1.tar')]);
    repo.ok(['export', b, '-o', repo.file('twice-2.tar')]);

    expect(fs.readFileSync(repo.file('twice-1.tar')).equals(fs.readFileSync(repo.file('twice-2.tar')))).toBe(true);
  });

  it.each([['--gzip'], ['--zstd']])('writes the same diff bytes twice with %s', (flag) => {
    const first = repo.file(`diff${flag}-1`);
    const second = repo.file(`diff${flag}-2`);
    repo.ok(['diff', a, b, flag, '--export', first]);
    repo.ok(['diff', a, b, flag, '--export', second]);

    expect(fs.readFileSync(first).equals(fs.readFileSync(second))).toBe(true);
  });
});

describe('compression and digests', () => {
  let repo: Repo;
  let id = '';
  let plain = '';
  let plainOutput = '';

  beforeAll(async () => {
    repo = await newRepo({ 'etc/motd': 'hello\n'.repeat(1000), 'bin/x': file('x', { mode: 0o755 }) });
    id = await repo.commitInProcess('one');
    plain = repo.file('plain.tar');
    plainOutput = repo.ok(['export', id, '-o', plain]);
  });

  it('prints only the diff ID without compression', async () => {
    expect(plainOutput).toBe(`diff-id ${sha256(fs.readFileSync(plain))}`);
  });

  it.each([
    ['--gzip', 'a.tar', 'gzip', 'application/vnd.oci.image.layer.v1.tar+gzip'],
    ['', 'b.tar.gz', 'gzip', 'application/vnd.oci.image.layer.v1.tar+gzip'],
    ['', 'c.tgz', 'gzip', 'application/vnd.oci.image.layer.v1.tar+gzip'],
    ['--zstd', 'd.tar', 'zstd', 'application/vnd.oci.image.layer.v1.tar+zstd'],
    ['', 'e.tar.zst', 'zstd', 'application/vnd.oci.image.layer.v1.tar+zstd'],
    ['', 'F.TAR.GZ', 'gzip', 'application/vnd.oci.image.layer.v1.tar+gzip'],
  ])('snap export %s -o %s decompresses with %s to the plain tar', async (flag, name, tool, mediaType) => {
    const out = repo.file(name);
    const stdout = repo.ok(['export', id, '-o', out, ...(flag ? [flag] : [])]);
    const json = JSON.parse(repo.ok(['export', id, '-o', repo.file(`again-${name}`), ...(flag ? [flag] : []), '--json'])) as Record<string, unknown>;
    const written = fs.readFileSync(out);
    const tar = run(tool, ['-dc'], { input: written }).stdoutBytes;

    expect(tar.equals(fs.readFileSync(plain))).toBe(true);
    expect(stdout.split('\n')).toEqual([`diff-id ${sha256(tar)}`, `digest ${sha256(written)}`, `size ${written.length}`]);
    expect(json.mediaType).toBe(mediaType);
    expect(json.diffId).toBe(sha256(tar));
    expect(json.digest).toBe(sha256(written));
  });

  it.each([
    ['gzip', 'levels.tar.gz', '9'],
    ['zstd', 'levels.tar.zst', '19'],
  ])('writes a smaller %s layer at a higher --compression-level', async (tool, name, high) => {
    const low = repo.file(`low-${name}`);
    const highOut = repo.file(`high-${name}`);
    repo.ok(['export', id, '-o', low, '--compression-level', '1']);
    repo.ok(['export', id, '-o', highOut, '--compression-level', high]);

    expect(run(tool, ['-dc'], { input: fs.readFileSync(highOut) }).stdoutBytes.equals(fs.readFileSync(plain))).toBe(true);
    expect(fs.statSync(highOut).size).toBeLessThan(fs.statSync(low).size);
  });

  it.each([
    [['--compression-level', '3'], 'x.tar', 'error: a compression level needs a compressed layer; add --gzip or --zstd, or name the file .gz or .zst\n'],
    [['--compression-level', '0'], 'x.tar.gz', /^error: invalid gzip level 0; use an integer from 1 to (12 \(libdeflate\)|9 \(zlib\))\n$/],
    [['--zstd', '--compression-level', '20'], 'x.tar', 'error: invalid zstd level 20; use an integer from 1 to 19\n'],
    [['--compression-level', 'fast'], 'x.tar.gz', /^error: option '--compression-level <n>' argument 'fast' is invalid\. 'fast' is not a whole number/],
  ])('rejects %j for %s without writing', async (flags, name, message) => {
    const result = repo.snap(['export', id, '-o', repo.file(name), ...flags]);

    expect(result.code).toBe(2);
    if (typeof message === 'string') expect(result.stderr).toBe(message);
    else expect(result.stderr).toMatch(message);
    expect(fs.existsSync(repo.file(name))).toBe(false);
  });

  it('prints the digest of a gzip diff layer', async () => {
    const a = repo.revParse('HEAD');
    makeTree(repo.rootfs, { 'etc/added': 'added' });
    const b = await repo.commitInProcess('two');
    const out = repo.file('diff.tar.gz');

    const result = JSON.parse(repo.ok(['diff', a, b, '--gzip', '--export', out, '--json'])) as Record<string, string>;
    const tar = run('gzip', ['-dc'], { input: fs.readFileSync(out) }).stdoutBytes;

    expect(result.digest).toBe(sha256(fs.readFileSync(out)));
    expect(result.diffId).toBe(sha256(tar));
    expect(tarNames(tar)).toContain('etc/added');
  });

  it('writes special and linked outputs in place', async () => {
    const dir = repo.file('targets');
    fs.mkdirSync(dir);
    run('mknod', [`${dir}/null`, 'c', '1', '3']);
    fs.writeFileSync(`${dir}/real.tar`, 'old');
    fs.symlinkSync('real.tar', `${dir}/link.tar`);
    fs.writeFileSync(`${dir}/shared.tar`, 'old');
    fs.linkSync(`${dir}/shared.tar`, `${dir}/shared-link.tar`);

    for (const name of ['null', 'link.tar', 'shared.tar']) repo.ok(['export', id, '-o', `${dir}/${name}`]);

    expect(fs.lstatSync(`${dir}/null`).isCharacterDevice()).toBe(true);
    expect(fs.lstatSync(`${dir}/link.tar`).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(`${dir}/real.tar`).equals(fs.readFileSync(plain))).toBe(true);
    expect(fs.statSync(`${dir}/shared.tar`).nlink).toBe(2);
    expect(fs.readFileSync(`${dir}/shared-link.tar`).equals(fs.readFileSync(plain))).toBe(true);
  });

  it('keeps the mode and owner of a file it replaces', async () => {
    const out = repo.file('private.tar');
    fs.writeFileSync(out, 'old');
    fs.chmodSync(out, 0o600);
    fs.chownSync(out, 1000, 1000);

    repo.ok(['export', id, '-o', out]);

    const stat = fs.statSync(out);
    expect(stat.mode & 0o7777).toBe(0o600);
    expect([stat.uid, stat.gid]).toEqual([1000, 1000]);
    expect(fs.readFileSync(out).equals(fs.readFileSync(plain))).toBe(true);
  });

  it('reports a full device as the output that failed', async () => {
    const result = repo.snap(['export', id, '-o', '/dev/full']);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe("error: writing layer '/dev/full' failed: ENOSPC (no space left on the device; free some space and run the command again)\n");
    expect(fs.lstatSync('/dev/full').isCharacterDevice()).toBe(true);
  });

  it('writes the layer to stdout for -o -', async () => {
    const result = repo.snap(['export', id, '-o', '-']);

    expect(result.code).toBe(0);
    expect(result.stdoutBytes.equals(fs.readFileSync(plain))).toBe(true);
    expect(result.stderr).toContain(`diff-id ${sha256(fs.readFileSync(plain))}`);
  });
});

describe('diff --export of the rootfs', () => {
  it('stacks over the base layer with umoci', async () => {
    const repo = await newRepo({ 'etc/a': 'a', 'etc/b': 'b', 'var/x/y': 'y' });
    const base = await repo.commitInProcess('base');
    fs.writeFileSync(repo.file('rootfs/etc/a'), 'changed');
    fs.rmSync(repo.file('rootfs/var/x'), { recursive: true });
    makeTree(repo.rootfs, { 'srv/new': file('new', { mode: 0o600, uid: 7, gid: 8 }) });
    const expected = treeState(repo.rootfs);
    repo.ok(['export', base, '-o', repo.file('base.tar')]);
    repo.ok(['diff', '--export', repo.file('work.tar')]);

    const members = readTar(fs.readFileSync(repo.file('work.tar')));
    expect(members.find((member) => member.name.toString() === 'etc/a')?.content.toString()).toBe('changed');
    if (!has('umoci')) return;
    const unpacked = unpackLayers(repo.file('umoci'), [repo.file('base.tar'), repo.file('work.tar')]);
    expect(treeState(unpacked).mtree).toEqual(expected.mtree);
  });
});

it('exports a symlink to unstored target bytes', async () => {
  const repo = await newRepo({ a: 'a' });
  await repo.commitInProcess('one');
  fs.symlinkSync('a-target-never-committed', repo.file('rootfs/link'));
  const out = repo.file('symlink.tar');

  const result = repo.snap(['diff', '--export', out]);

  expect(result.code, result.stderr).toBe(0);
  const link = readTar(fs.readFileSync(out)).find((member) => member.name.toString() === 'link');
  expect(link?.type).toBe('2');
  expect(link?.linkname.toString()).toBe('a-target-never-committed');
});

it('warns when the layer goes inside the rootfs', async () => {
  const repo = await newRepo({ a: 'a' });
  const id = await repo.commitInProcess('one');

  const inside = repo.snap(['export', id, '-o', repo.file('rootfs/layer.tar')]);
  const outside = repo.snap(['export', id, '-o', repo.file('layer.tar')]);

  expect(inside.code).toBe(0);
  expect(inside.stderr).toContain("warning: writing the layer inside the rootfs ('");
  expect(fs.existsSync(repo.file('rootfs/layer.tar'))).toBe(true);
  expect(outside.code).toBe(0);
  expect(outside.stderr).not.toContain('inside the rootfs');
});

it.each([
  ['a name starting with two dots', (repo: Repo) => repo.file('rootfs/..layer.tar')],
  ['a symlink to a rootfs file', (repo: Repo) => {
    fs.symlinkSync(repo.file('rootfs/a'), repo.file('to-a'));
    return repo.file('to-a');
  }],
])('warns for %s inside the rootfs', async (_what, output) => {
  const repo = await newRepo({ a: 'a' });
  const id = await repo.commitInProcess('one');

  const result = repo.snap(['export', id, '-o', output(repo)]);

  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toContain('warning: writing the layer inside the rootfs');
});

it('export fails for an unknown revision without writing', async () => {
  const repo = await newRepo({ a: 'a' });
  await repo.commitInProcess('one');
  const out = repo.file('never.tar');

  const result = repo.snap(['export', 'no-such-branch', '-o', out]);

  expect(result.code).toBe(1);
  expect(result.stderr).toContain("'no-such-branch'");
  expect(fs.existsSync(out)).toBe(false);
  expect(runOk('ls', ['-A', repo.base]).split('\n').filter(Boolean).sort()).toEqual(['rootfs', 'store']);
});
