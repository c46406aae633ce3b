// Judges the OCI layer writer with umoci: layers are added to a real image, unpacked as root, and
// the unpacked rootfs is checked with lstat, readdir and getfattr.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLayer, type Compression, type ContentSource, type LayerItem, type LayerResult } from '../src/oci/layer.js';
import type { Entry, EntryType } from '../src/tree/entry.js';

const umociInstalled = spawnSync('umoci', ['--version']).status === 0;
const isRoot = process.getuid?.() === 0;
const skopeoInstalled = spawnSync('skopeo', ['--version']).status === 0;

// ---- builders ------------------------------------------------------------------------------

class MemorySource implements ContentSource {
  private readonly blobs = new Map<string, Buffer>();

  add(content: string | Buffer): { oid: string; size: number } {
    const data = typeof content === 'string' ? Buffer.from(content) : content;
    const oid = createHash('sha1').update(data).digest('hex');
    this.blobs.set(oid, data);
    return { oid, size: data.length };
  }

  async openBlob(oid: string): Promise<Readable> {
    return Readable.from([this.blobs.get(oid)!]);
  }
}

const T1 = 1_650_000_000_111_222_333n;
const T2 = 1_660_000_000_999_000_001n;

function entry(path: string | Buffer, type: EntryType, extra: Partial<Entry> = {}): Entry {
  return {
    path: typeof path === 'string' ? Buffer.from(path) : path,
    type,
    mode: type === 'dir' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtimeNs: T1,
    size: 0,
    xattrs: [],
    ...extra,
  };
}

function add(...entries: Entry[]): LayerItem[] {
  return entries.map((e) => ({ kind: 'entry', entry: e }));
}

function whiteout(path: string | Buffer): LayerItem {
  return { kind: 'whiteout', path: typeof path === 'string' ? Buffer.from(path) : path };
}

async function layerBytes(items: LayerItem[], source: ContentSource, compression: Compression = 'none') {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const result = await writeLayer(items, source, out, { compression });
  return { bytes: Buffer.concat(chunks), result };
}

function run(command: string, args: string[]): string {
  const done = spawnSync(command, args, { encoding: 'latin1' });
  if (done.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${done.status}): ${done.stderr}`);
  return done.stdout;
}

function xattrs(path: string): Map<string, string> {
  const found = new Map<string, string>();
  const output = run('getfattr', ['-h', '-e', 'hex', '-d', '-m', '-', path]);
  for (const line of output.split('\n')) {
    const match = /^([^#=][^=]*)=0x([0-9a-f]*)$/.exec(line);
    if (match) found.set(match[1]!, match[2]!);
  }
  return found;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Appends an already compressed layer blob to the image's tagged manifest, recording the result's
 * digest, size and media type in the manifest and its diffId in the config, as an OCI image does.
 */
function appendLayerBlob(image: string, tag: string, blob: Buffer, result: LayerResult): void {
  const blobPath = (digest: string) => join(image, 'blobs', digest.replace(':', '/'));
  const putJson = (value: unknown) => {
    const text = JSON.stringify(value);
    const digest = `sha256:${sha256(text)}`;
    writeFileSync(blobPath(digest), text);
    return { digest, size: Buffer.byteLength(text) };
  };

  writeFileSync(blobPath(result.digest), blob);
  const index = JSON.parse(readFileSync(join(image, 'index.json'), 'utf8'));
  const descriptor = index.manifests.find((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  const manifest = JSON.parse(readFileSync(blobPath(descriptor.digest), 'utf8'));
  const config = JSON.parse(readFileSync(blobPath(manifest.config.digest), 'utf8'));

  config.rootfs.diff_ids.push(result.diffId);
  manifest.config = { ...manifest.config, ...putJson(config) };
  manifest.layers.push({ mediaType: result.mediaType, digest: result.digest, size: result.size });
  Object.assign(descriptor, putJson(manifest));
  writeFileSync(join(image, 'index.json'), JSON.stringify(index));
}

// ---- the layers ------------------------------------------------------------------------------

const CAPABILITY = '0100000200200000000000000000000000000000';
const NON_UTF8 = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0xff, 0x0a, 0x7e]); // "caf\xe9\xff\n~"
const NAME_255 = 'n'.repeat(255);
const LONG_TARGET = Buffer.from(`../lib/${'v'.repeat(150)}`);
const LONG_PATH = Array.from({ length: 11 }, (_, i) => `c${i}`.padEnd(250, 'y')).join('/'); // 2.7 KB

function firstLayer(source: MemorySource): LayerItem[] {
  const longDirs = LONG_PATH.split('/').slice(0, -1).map((_, i, all) => entry(`names/${all.slice(0, i + 1).join('/')}`, 'dir'));
  const shared = source.add('hardlinked content\n');
  return add(
    entry('', 'dir', { mode: 0o755, mtimeNs: T1 }),
    entry('etc', 'dir', { mode: 0o755, mtimeNs: T2 }),
    entry('etc/passwd', 'file', { ...source.add('root:x:0:0::/root:/bin/sh\n'), mtimeNs: T1 }),
    entry('etc/hosts', 'file', source.add('127.0.0.1 localhost\n')),
    entry('etc/keep', 'file', source.add('kept\n')),
    entry('usr', 'dir'),
    entry('usr/bin', 'dir'),
    entry('usr/bin/ping', 'file', {
      ...source.add('#!/bin/true\n'),
      mode: 0o4755,
      xattrs: [
        { name: 'security.capability', value: Buffer.from(CAPABILITY, 'hex') },
        { name: 'trusted.note', value: Buffer.from([0x00, 0xff, 0x01]) },
        { name: 'user.comment', value: Buffer.from('ping=ok') },
      ],
    }),
    entry('usr/bin/wall', 'file', { ...source.add('wall'), mode: 0o2755, gid: 5 }),
    entry('usr/bin/sh', 'symlink', { mode: 0o777, target: Buffer.from('dash'), size: 4 }),
    entry('usr/bin/vi', 'symlink', { mode: 0o777, target: LONG_TARGET, size: LONG_TARGET.length }),
    entry('tmp', 'dir', { mode: 0o1777 }),
    entry('dev', 'dir'),
    entry('dev/null', 'char', { mode: 0o666, rdevMajor: 1, rdevMinor: 3 }),
    entry('dev/loop0', 'block', { mode: 0o660, gid: 6, rdevMajor: 7, rdevMinor: 0 }),
    entry('run', 'dir'),
    entry('run/initctl', 'fifo', { mode: 0o600 }),
    entry('home', 'dir'),
    entry('home/user', 'dir', { mode: 0o700, uid: 1000, gid: 1000 }),
    entry('home/user/notes', 'file', { ...source.add('mine'), mode: 0o600, uid: 1000, gid: 1000 }),
    entry('srv', 'dir'),
    // Two members of a set of three: srv/a, the set's first member, is not in this layer.
    entry('srv/b', 'file', { ...shared, linkTarget: Buffer.from('srv/a') }),
    entry('srv/c', 'file', { ...shared, linkTarget: Buffer.from('srv/a') }),
    entry('names', 'dir'),
    entry(Buffer.concat([Buffer.from('names/'), NON_UTF8]), 'file', source.add('raw name')),
    entry(`names/${NAME_255}`, 'file', source.add('255')),
    ...longDirs,
    entry(`names/${LONG_PATH}`, 'file', source.add('deep')),
    entry('var', 'dir'),
    entry('var/cache', 'dir'),
    entry('var/cache/apt', 'dir'),
    entry('var/cache/apt/pkgcache.bin', 'file', source.add('cache')),
  );
}

function secondLayer(source: MemorySource): LayerItem[] {
  return [
    whiteout('etc/hosts'),
    whiteout('var/cache'),
    whiteout(Buffer.concat([Buffer.from('names/'), NON_UTF8])),
    ...add(
      entry('etc/passwd', 'file', { ...source.add('root:x:0:0::/root:/bin/bash\n'), mtimeNs: T2 }),
      // A type change: the symlink becomes a regular file.
      entry('usr/bin/sh', 'file', { ...source.add('#!/bin/false\n'), mode: 0o755 }),
    ),
  ];
}

// ---- tests -----------------------------------------------------------------------------------

describe.skipIf(!umociInstalled || !isRoot)('umoci unpacks written layers', () => {
  let work = '';
  let rootfs = '';

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'snap-umoci-'));
    const image = join(work, 'img');
    run('umoci', ['init', '--layout', image]);
    run('umoci', ['new', '--image', `${image}:t`]);

    const source = new MemorySource();
    for (const [index, items] of [firstLayer(source), secondLayer(source)].entries()) {
      const { bytes } = await layerBytes(items, source);
      const path = join(work, `layer${index + 1}.tar`);
      writeFileSync(path, bytes);
      run('umoci', ['raw', 'add-layer', '--image', `${image}:t`, path]);
    }
    run('umoci', ['unpack', '--image', `${image}:t`, join(work, 'bundle')]);
    rootfs = join(work, 'bundle', 'rootfs');
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const at = (path: string) => join(rootfs, path);

  it.each([
    ['usr/bin/ping', 0o4755],
    ['usr/bin/wall', 0o2755],
    ['tmp', 0o1777],
    ['home/user', 0o700],
    ['run/initctl', 0o600],
  ])('keeps the mode of %s', (path, mode) => {
    expect(lstatSync(at(path)).mode & 0o7777).toBe(mode);
  });

  it('keeps owners', () => {
    const notes = lstatSync(at('home/user/notes'));
    expect([notes.uid, notes.gid]).toEqual([1000, 1000]);
    const wall = lstatSync(at('usr/bin/wall'));
    expect([wall.uid, wall.gid]).toEqual([0, 5]);
  });

  it('keeps nanosecond mtimes of files and directories', () => {
    expect(lstatSync(at('usr/bin/ping'), { bigint: true }).mtimeNs).toBe(T1);
    expect(lstatSync(at('etc'), { bigint: true }).mtimeNs).toBe(T2);
    expect(lstatSync(at('usr/bin'), { bigint: true }).mtimeNs).toBe(T1);
  });

  it('creates devices, fifos and symlinks', () => {
    expect(readlinkSync(at('usr/bin/vi'), { encoding: 'buffer' })).toEqual(LONG_TARGET);
    const nullDevice = lstatSync(at('dev/null'));
    expect(nullDevice.isCharacterDevice()).toBe(true);
    expect(nullDevice.rdev).toBe((1 << 8) | 3);
    const loop = lstatSync(at('dev/loop0'));
    expect(loop.isBlockDevice()).toBe(true);
    expect(loop.rdev).toBe(7 << 8);
    expect(lstatSync(at('run/initctl')).isFIFO()).toBe(true);
  });

  it('restores xattrs with binary values', () => {
    const found = xattrs(at('usr/bin/ping'));

    expect(found.get('security.capability')).toBe(CAPABILITY);
    expect(found.get('trusted.note')).toBe('00ff01');
    expect(found.get('user.comment')).toBe(Buffer.from('ping=ok').toString('hex'));
  });

  it('links hardlink set members to one inode', () => {
    const b = lstatSync(at('srv/b'));
    const c = lstatSync(at('srv/c'));

    expect(c.ino).toBe(b.ino);
    expect(b.nlink).toBe(2);
    expect(readFileSync(at('srv/c'), 'utf8')).toBe('hardlinked content\n');
    expect(existsSync(at('srv/a'))).toBe(false);
  });

  it('creates long and 255-byte names', () => {
    expect(readFileSync(at(`names/${NAME_255}`), 'utf8')).toBe('255');
    expect(readFileSync(at(`names/${LONG_PATH}`), 'utf8')).toBe('deep');
  });

  it('applies whiteouts of files, subtrees and non-UTF-8 names', () => {
    expect(existsSync(at('etc/hosts'))).toBe(false);
    expect(existsSync(at('var/cache'))).toBe(false);
    expect(existsSync(at('var'))).toBe(true);
    expect(readFileSync(at('etc/keep'), 'utf8')).toBe('kept\n');
    const names = readdirSync(Buffer.from(at('names')), { encoding: 'buffer' });
    expect(names.some((name) => name.equals(NON_UTF8))).toBe(false);
    expect(names.some((name) => name.toString() === NAME_255)).toBe(true);
  });

  it('applies modifications and type changes', () => {
    expect(readFileSync(at('etc/passwd'), 'utf8')).toBe('root:x:0:0::/root:/bin/bash\n');
    expect(lstatSync(at('etc/passwd'), { bigint: true }).mtimeNs).toBe(T2);
    const sh = lstatSync(at('usr/bin/sh'));
    expect(sh.isFile()).toBe(true);
    expect(sh.mode & 0o7777).toBe(0o755);
  });
});

describe.skipIf(!umociInstalled || !isRoot)('umoci reads written layer descriptors', () => {
  let work = '';
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'snap-umoci-gz-'));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('unpacks a gzip layer by its digest and diffId', async () => {
    const image = join(work, 'img');
    run('umoci', ['init', '--layout', image]);
    run('umoci', ['new', '--image', `${image}:t`]);
    const source = new MemorySource();
    const { bytes, result } = await layerBytes(
      add(entry('etc', 'dir'), entry('etc/motd', 'file', { ...source.add('hello\n'), mtimeNs: T2 })),
      source,
      'gzip',
    );
    appendLayerBlob(image, 't', bytes, result);
    run('umoci', ['unpack', '--image', `${image}:t`, join(work, 'bundle')]);

    expect(result.digest).not.toBe(result.diffId);
    const motd = join(work, 'bundle', 'rootfs', 'etc', 'motd');
    expect(readFileSync(motd, 'utf8')).toBe('hello\n');
    expect(lstatSync(motd, { bigint: true }).mtimeNs).toBe(T2);
  });

  it.skipIf(!skopeoInstalled)('copies zstd and gzip layers with skopeo', async () => {
    const image = join(work, 'img2');
    run('umoci', ['init', '--layout', image]);
    run('umoci', ['new', '--image', `${image}:t`]);
    const source = new MemorySource();
    for (const compression of ['gzip', 'zstd'] as const) {
      const { bytes, result } = await layerBytes(add(entry(compression, 'file', source.add(compression))), source, compression);
      appendLayerBlob(image, 't', bytes, result);
    }
    run('skopeo', ['copy', '--quiet', `oci:${image}:t`, `oci:${join(work, 'copy')}:t`]);

    const inspected = JSON.parse(run('skopeo', ['inspect', '--raw', `oci:${join(work, 'copy')}:t`]));
    expect(inspected.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.layer.v1.tar+zstd',
    ]);
  });
});
