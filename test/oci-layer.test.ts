// Tests of the OCI layer writer: tar structure read back byte by byte, and GNU tar as a judge.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { isSnapError } from '../src/errors.js';
import { writeLayer, type ContentSource, type LayerItem, type LayerProgress, type WriteLayerOptions } from '../src/oci/layer.js';
import { encodeHeader, formatPaxTime, paxRecord } from '../src/oci/tar-header.js';
import type { Entry, EntryType } from '../src/tree/entry.js';

// ---- builders ------------------------------------------------------------------------------

const MTIME = 1_700_000_000_123_456_789n;

function bytes(path: string | Buffer): Buffer {
  return typeof path === 'string' ? Buffer.from(path, 'utf8') : path;
}

function entry(path: string | Buffer, type: EntryType, extra: Partial<Entry> = {}): Entry {
  return {
    path: bytes(path),
    type,
    mode: type === 'dir' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtimeNs: MTIME,
    size: 0,
    xattrs: [],
    ...extra,
  };
}

/** In-memory blobs keyed by oid; each blob is streamed in chunks of `chunkSize` bytes. */
class FakeSource implements ContentSource {
  readonly blobs = new Map<string, Buffer>();
  readonly opened: string[] = [];
  constructor(private readonly chunkSize = 1000) {}

  add(content: string | Buffer): { oid: string; size: number } {
    const data = bytes(content);
    const oid = createHash('sha1').update(data).digest('hex');
    this.blobs.set(oid, data);
    return { oid, size: data.length };
  }

  async openBlob(oid: string): Promise<Readable> {
    this.opened.push(oid);
    const data = this.blobs.get(oid);
    if (!data) throw new Error(`no blob ${oid}`);
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += this.chunkSize) chunks.push(data.subarray(i, i + this.chunkSize));
    return Readable.from(chunks);
  }
}

function file(source: FakeSource, path: string | Buffer, content: string | Buffer, extra: Partial<Entry> = {}): Entry {
  return entry(path, 'file', { ...source.add(content), ...extra });
}

function add(...entries: Entry[]): LayerItem[] {
  return entries.map((e) => ({ kind: 'entry', entry: e }));
}

function whiteout(path: string | Buffer): LayerItem {
  return { kind: 'whiteout', path: bytes(path) };
}

class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk);
    callback();
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function write(items: LayerItem[], source: ContentSource, options?: WriteLayerOptions) {
  const out = new Collector();
  const result = await writeLayer(items, source, out, options);
  return { result, tar: out.bytes };
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

// ---- an independent tar reader ---------------------------------------------------------------

interface TarEntry {
  name: Buffer;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  ustarMtime: number;
  linkname: Buffer;
  uname: string;
  gname: string;
  devMajor: number;
  devMinor: number;
  pax: Map<string, Buffer>;
  data: Buffer;
}

function octal(block: Buffer, offset: number, length: number): number {
  const text = block.subarray(offset, offset + length).toString('latin1').replace(/[\0 ]+$/, '');
  return text === '' ? 0 : parseInt(text, 8);
}

function cString(block: Buffer, offset: number, length: number): Buffer {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return Buffer.from(end === -1 ? field : field.subarray(0, end));
}

function parsePax(data: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    const length = Number(data.subarray(offset, space).toString('latin1'));
    const record = data.subarray(offset, offset + length);
    if (record[record.length - 1] !== 0x0a) throw new Error(`PAX record at ${offset} does not end in a newline`);
    const equals = record.indexOf(0x3d, space - offset);
    records.set(record.subarray(space - offset + 1, equals).toString('utf8'), Buffer.from(record.subarray(equals + 1, length - 1)));
    offset += length;
  }
  return records;
}

/** Reads a ustar/PAX archive, checking every header checksum and the end-of-archive blocks. */
function readTar(tar: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let pax = new Map<string, Buffer>();
  let offset = 0;
  for (;;) {
    const block = tar.subarray(offset, offset + 512);
    if (block.length < 512) throw new Error('archive ends without two zero blocks');
    if (block.every((b) => b === 0)) break;

    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (sum !== octal(block, 148, 8)) throw new Error(`bad checksum at offset ${offset}`);
    expect(block.subarray(257, 265).toString('latin1')).toBe('ustar\u000000');

    const typeflag = String.fromCharCode(block[156]!);
    const ustarSize = octal(block, 124, 12);
    const size = typeflag !== 'x' && pax.has('size') ? Number(pax.get('size')!.toString()) : ustarSize;
    const data = tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;

    if (typeflag === 'x') {
      pax = parsePax(data);
      continue;
    }
    entries.push({
      name: pax.get('path') ?? cString(block, 0, 100),
      typeflag,
      mode: octal(block, 100, 8),
      uid: pax.has('uid') ? Number(pax.get('uid')!.toString()) : octal(block, 108, 8),
      gid: pax.has('gid') ? Number(pax.get('gid')!.toString()) : octal(block, 116, 8),
      size,
      ustarMtime: octal(block, 136, 12),
      linkname: pax.get('linkpath') ?? cString(block, 157, 100),
      uname: cString(block, 265, 32).toString('latin1'),
      gname: cString(block, 297, 32).toString('latin1'),
      devMajor: octal(block, 329, 8),
      devMinor: octal(block, 337, 8),
      pax,
      data: Buffer.from(data),
    });
    pax = new Map();
  }
  expect(tar.length).toBe(offset + 1024);
  expect(tar.subarray(offset).every((b) => b === 0)).toBe(true);
  return entries;
}

function names(tar: Buffer): string[] {
  return readTar(tar).map((e) => e.name.toString('latin1'));
}

function find(entries: TarEntry[], name: string | Buffer): TarEntry {
  const wanted = bytes(name);
  const found = entries.find((e) => e.name.equals(wanted));
  if (!found) throw new Error(`no tar entry '${wanted.toString('latin1')}'`);
  return found;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

// ---- a sample layer --------------------------------------------------------------------------

const CAPABILITY = Buffer.from('0100000200200000000000000000000000000000', 'hex'); // cap_net_bind_service+ep
const NON_UTF8 = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a, 0xff, 0xfe]); // "caf\xe9\n\xff\xfe"

function sampleLayer(source: FakeSource): LayerItem[] {
  return [
    ...add(
      entry('', 'dir', { mode: 0o755 }),
      entry('usr', 'dir'),
      entry('usr/bin', 'dir'),
      file(source, 'usr/bin/ping', 'ping binary', { mode: 0o4755, xattrs: [{ name: 'security.capability', value: CAPABILITY }] }),
      file(source, 'usr/bin/wall', 'wall', { mode: 0o2755, gid: 5 }),
      entry('tmp', 'dir', { mode: 0o1777 }),
      entry('dev', 'dir'),
      entry('dev/null', 'char', { mode: 0o666, rdevMajor: 1, rdevMinor: 3 }),
      entry('dev/sda', 'block', { mode: 0o660, gid: 6, rdevMajor: 8, rdevMinor: 0 }),
      entry('run', 'dir'),
      entry('run/fifo', 'fifo', { mode: 0o600 }),
      entry('usr/bin/sh', 'symlink', { mode: 0o777, target: Buffer.from('dash'), size: 4 }),
      file(source, Buffer.concat([Buffer.from('usr/'), NON_UTF8]), 'bytes in a name'),
    ),
    whiteout('etc/passwd'),
    whiteout('var/cache'),
  ];
}

// ---- tests -----------------------------------------------------------------------------------

describe('writeLayer output', () => {
  it('is byte-identical across runs and input orders', async () => {
    const source = new FakeSource();
    const items = sampleLayer(source);
    const first = await write(items, source);
    const second = await write([...items].reverse(), source);

    expect(second.tar.equals(first.tar)).toBe(true);
    expect(second.result).toEqual(first.result);
  });

  it('orders parents before children and whiteouts first', async () => {
    const source = new FakeSource();
    const items: LayerItem[] = [
      ...add(
        entry('a/b/c', 'dir'),
        entry('a', 'dir'),
        file(source, 'a/b/c/d', 'd'),
        entry('a/b', 'dir'),
        file(source, 'a-z', 'a-z'),
        file(source, 'a/a', 'a'),
        entry('', 'dir'),
      ),
      whiteout('a/zz'),
      whiteout('a/b/old'),
      whiteout('0'),
    ];
    const { tar } = await write(items, source);

    // '-' (0x2d) sorts before '/' (0x2f) bytewise, but 'a' is a whole component and precedes 'a-z'.
    expect(names(tar)).toEqual(['./', '.wh.0', 'a/', 'a/.wh.zz', 'a/a', 'a/b/', 'a/b/.wh.old', 'a/b/c/', 'a/b/c/d', 'a-z']);
  });

  it('writes whiteouts as empty regular files', async () => {
    const source = new FakeSource();
    const { tar } = await write([whiteout('etc/passwd'), whiteout('var/cache')], source);
    const entries = readTar(tar);

    expect(entries.map((e) => e.name.toString())).toEqual(['etc/.wh.passwd', 'var/.wh.cache']);
    for (const e of entries) {
      expect(e.typeflag).toBe('0');
      expect(e.size).toBe(0);
      expect(e.data.length).toBe(0);
    }
  });

  it('writes a hardlink set with content once, linking inside the layer', async () => {
    const source = new FakeSource();
    const shared = source.add('shared content');
    const linkTarget = Buffer.from('a/first'); // the set's first member is unchanged, so not in the layer
    const items = add(
      entry('c/three', 'file', { ...shared, linkTarget }),
      entry('b/two', 'file', { ...shared, linkTarget }),
      entry('single', 'file', { ...source.add('alone'), linkTarget: Buffer.from('elsewhere') }),
    );
    const { tar } = await write(items, source);
    const entries = readTar(tar);

    const two = find(entries, 'b/two');
    expect(two.typeflag).toBe('0');
    expect(two.data.toString()).toBe('shared content');
    const three = find(entries, 'c/three');
    expect(three.typeflag).toBe('1');
    expect(three.linkname.toString()).toBe('b/two');
    expect(three.size).toBe(0);
    const single = find(entries, 'single');
    expect(single.typeflag).toBe('0');
    expect(single.data.toString()).toBe('alone');
    expect(source.opened.filter((oid) => oid === shared.oid)).toHaveLength(1);
  });

  it('writes the rootfs as ./ and names without ./ prefix', async () => {
    const source = new FakeSource();
    const { tar } = await write(add(entry('', 'dir', { mode: 0o700 }), entry('etc', 'dir'), file(source, 'etc/hosts', 'h')), source);
    const entries = readTar(tar);

    expect(names(tar)).toEqual(['./', 'etc/', 'etc/hosts']);
    expect(entries[0]!.typeflag).toBe('5');
    expect(entries[0]!.mode).toBe(0o700);
  });

  it.each([
    ['setuid', 0o4755],
    ['setgid', 0o2711],
    ['sticky', 0o1777],
    ['all twelve bits', 0o7777],
  ])('keeps %s mode bits', async (_label, mode) => {
    const source = new FakeSource();
    const { tar } = await write(add(file(source, 'f', 'x', { mode })), source);

    expect(readTar(tar)[0]!.mode).toBe(mode);
  });

  it('writes devices, fifos and symlinks with their fields', async () => {
    const source = new FakeSource();
    const { tar } = await write(sampleLayer(source), source);
    const entries = readTar(tar);

    const nullDevice = find(entries, 'dev/null');
    expect([nullDevice.typeflag, nullDevice.devMajor, nullDevice.devMinor, nullDevice.mode]).toEqual(['3', 1, 3, 0o666]);
    const disk = find(entries, 'dev/sda');
    expect([disk.typeflag, disk.devMajor, disk.devMinor, disk.gid]).toEqual(['4', 8, 0, 6]);
    const fifo = find(entries, 'run/fifo');
    expect([fifo.typeflag, fifo.size]).toEqual(['6', 0]);
    const link = find(entries, 'usr/bin/sh');
    expect([link.typeflag, link.linkname.toString(), link.size]).toEqual(['2', 'dash', 0]);
    expect(find(entries, 'usr/bin/').typeflag).toBe('5');
  });

  it('writes numeric owners with empty user and group names', async () => {
    const source = new FakeSource();
    const { tar } = await write(add(file(source, 'f', 'x', { uid: 1000, gid: 100 }), file(source, 'g', 'y', { uid: 4_000_000_000, gid: 3_000_000 })), source);
    const [f, g] = readTar(tar);

    expect([f!.uid, f!.gid, f!.uname, f!.gname]).toEqual([1000, 100, '', '']);
    expect([g!.uid, g!.gid]).toEqual([4_000_000_000, 3_000_000]);
    expect(g!.pax.get('uid')?.toString()).toBe('4000000000');
  });

  it('writes nanosecond mtimes as PAX records and no atime or ctime', async () => {
    const source = new FakeSource();
    const items = add(
      file(source, 'nanos', 'x', { mtimeNs: 1_700_000_000_000_000_123n }),
      file(source, 'whole', 'y', { mtimeNs: 1_600_000_000_000_000_000n }),
      file(source, 'before-epoch', 'z', { mtimeNs: -1_500_000_000n }),
    );
    const entries = readTar((await write(items, source)).tar);

    const nanos = find(entries, 'nanos');
    expect(nanos.pax.get('mtime')?.toString()).toBe('1700000000.000000123');
    expect(nanos.ustarMtime).toBe(1_700_000_000);
    const whole = find(entries, 'whole');
    expect(whole.pax.has('mtime')).toBe(false);
    expect(whole.ustarMtime).toBe(1_600_000_000);
    expect(find(entries, 'before-epoch').pax.get('mtime')?.toString()).toBe('-1.500000000');
    for (const e of entries) {
      expect(e.pax.has('atime')).toBe(false);
      expect(e.pax.has('ctime')).toBe(false);
    }
  });

  it('writes raw bytes in PAX path records', async () => {
    const source = new FakeSource();
    const name255 = 'n'.repeat(255);
    const path300 = `${'d'.repeat(150)}/${'f'.repeat(149)}`;
    const path4k = Array.from({ length: 16 }, (_, i) => `${i}`.padEnd(255, 'x')).join('/');
    const items = add(
      file(source, NON_UTF8, 'a'),
      file(source, name255, 'b'),
      file(source, path300, 'c'),
      file(source, path4k, 'd'),
      file(source, 'short', 'e'),
    );
    const entries = readTar((await write(items, source)).tar);

    expect(find(entries, NON_UTF8).pax.get('path')).toEqual(NON_UTF8);
    expect(find(entries, name255).pax.get('path')?.toString()).toBe(name255);
    expect(find(entries, path300).pax.get('path')?.toString()).toBe(path300);
    expect(path4k.length).toBeGreaterThan(4000);
    expect(find(entries, path4k).data.toString()).toBe('d');
    expect([...find(entries, 'short').pax.keys()]).toEqual(['mtime']);
  });

  it('writes long and non-ASCII symlink targets as PAX linkpath', async () => {
    const source = new FakeSource();
    const long = Buffer.from(`/${'t'.repeat(300)}`);
    const items = add(entry('long', 'symlink', { target: long, size: long.length }), entry('raw', 'symlink', { target: NON_UTF8, size: NON_UTF8.length }));
    const entries = readTar((await write(items, source)).tar);

    expect(find(entries, 'long').pax.get('linkpath')).toEqual(long);
    expect(find(entries, 'raw').pax.get('linkpath')).toEqual(NON_UTF8);
  });

  it('writes binary xattr values unchanged', async () => {
    const source = new FakeSource();
    const binary = Buffer.from([0x00, 0xff, 0x0a, 0x3d, 0x20, 0xc3, 0x28]);
    const xattrs = [
      { name: 'security.capability', value: CAPABILITY },
      { name: 'trusted.overlay.x', value: binary },
      { name: 'user.empty', value: Buffer.alloc(0) },
      { name: 'user.text', value: Buffer.from('hello') },
    ];
    const entries = readTar((await write(add(file(source, 'f', 'x', { xattrs })), source)).tar);
    const pax = entries[0]!.pax;

    expect(pax.get('SCHILY.xattr.security.capability')).toEqual(CAPABILITY);
    expect(pax.get('SCHILY.xattr.trusted.overlay.x')).toEqual(binary);
    expect(pax.get('SCHILY.xattr.user.empty')).toEqual(Buffer.alloc(0));
    expect(pax.get('SCHILY.xattr.user.text')?.toString()).toBe('hello');
  });

  it('streams large files chunk by chunk', async () => {
    const source = new FakeSource(64 * 1024 + 7);
    const content = Buffer.alloc(3 * 1024 * 1024 + 5);
    for (let i = 0; i < content.length; i++) content[i] = (i * 31) & 0xff;
    const progress: LayerProgress[] = [];
    const { tar } = await write(add(file(source, 'big', content), file(source, 'small', 's')), source, { onProgress: (p) => progress.push(p) });

    expect(find(readTar(tar), 'big').data.equals(content)).toBe(true);
    expect(progress.filter((p) => p.entries === 0).length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toEqual({ entries: 2, bytes: tar.length });
  });
});

describe('writeLayer checks', () => {
  it('rejects .wh. names before writing anything', async () => {
    const source = new FakeSource();
    const items = [...add(file(source, 'a', 'first'), file(source, 'dir/.wh.secret', 'x')), whiteout('b')];
    const out = new Collector();
    const error = await rejection(writeLayer(items, source, out));

    expect(isSnapError(error, 'INVALID_NAME')).toBe(true);
    expect((error as Error).message).toBe("cannot export 'dir/.wh.secret': names starting with '.wh.' are reserved for whiteouts in OCI layers");
    expect(out.chunks).toHaveLength(0);
    expect(source.opened).toHaveLength(0);
  });

  it('rejects a whiteout of a .wh. name', async () => {
    const error = await rejection(write([whiteout('d/.wh..opq')], new FakeSource()));

    expect(isSnapError(error, 'INVALID_NAME')).toBe(true);
  });

  it.each([
    ['a whiteout and an entry for one path', [whiteout('x'), ...add(entry('x', 'dir'))]],
    ['two entries for one path', add(entry('x', 'dir'), entry('x', 'fifo'))],
    ['an entry beneath a whiteout', [whiteout('x'), ...add(entry('x/y', 'fifo'))]],
    ['a whiteout beneath a whiteout', [whiteout('x'), whiteout('x/y')]],
    ['an entry beneath a non-directory', add(entry('x', 'fifo'), entry('x/y', 'fifo'))],
    ['a rootfs that is not a directory', add(entry('', 'fifo'))],
    ['a whiteout of the rootfs', [whiteout('')]],
  ])('rejects %s as INTERNAL', async (_label, items) => {
    const out = new Collector();
    const error = await rejection(writeLayer(items as LayerItem[], new FakeSource(), out));

    expect(isSnapError(error, 'INTERNAL')).toBe(true);
    expect(out.chunks).toHaveLength(0);
  });

  it.each(['../etc', 'a/../b', '/abs', 'a//b', 'a/./b', 'a/'])('rejects unsafe path %j', async (path) => {
    const error = await rejection(write(add(entry(path, 'fifo')), new FakeSource()));

    expect(isSnapError(error, 'UNSAFE_PATH')).toBe(true);
  });

  it('rejects an xattr name containing =', async () => {
    const items = add(entry('f', 'fifo', { xattrs: [{ name: 'user.a=b', value: Buffer.from('v') }] }));
    const error = await rejection(write(items, new FakeSource()));

    expect(isSnapError(error, 'UNSUPPORTED')).toBe(true);
  });

  it.each([
    ['shorter', 'abc', 4],
    ['longer', 'abcde', 4],
  ])('reports a %s blob as CORRUPT', async (_label, content, size) => {
    const source = new FakeSource();
    const { oid } = source.add(content);
    const error = await rejection(write(add(entry('f', 'file', { oid, size })), source));

    expect(isSnapError(error, 'CORRUPT')).toBe(true);
    expect((error as Error).message).toContain("of 'f'");
  });
});

describe('writeLayer compression', () => {
  const zstdInstalled = spawnSync('zstd', ['--version']).status === 0;

  it('writes gzip without a timestamp or file name', async () => {
    const source = new FakeSource();
    const plain = await write(sampleLayer(source), source);
    const gzip = await write(sampleLayer(source), source, { compression: 'gzip' });

    expect(gunzipSync(gzip.tar).equals(plain.tar)).toBe(true);
    expect(gzip.result.diffId).toBe(plain.result.diffId);
    expect(gzip.result.digest).toBe(sha256(gzip.tar));
    expect(gzip.result.size).toBe(gzip.tar.length);
    expect(gzip.result.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(gzip.tar.subarray(0, 3)).toEqual(Buffer.from([0x1f, 0x8b, 0x08]));
    expect(gzip.tar[3]).toBe(0); // FLG: no FNAME, FCOMMENT or FEXTRA
    expect(gzip.tar.readUInt32LE(4)).toBe(0); // MTIME
  });

  it('writes uncompressed with digest equal to diffId', async () => {
    const source = new FakeSource();
    const { result, tar } = await write(sampleLayer(source), source);

    expect(result.diffId).toBe(sha256(tar));
    expect(result.digest).toBe(result.diffId);
    expect(result.size).toBe(tar.length);
    expect(result.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
  });

  it.skipIf(!zstdInstalled)('writes zstd that decompresses to the same tar', async () => {
    const source = new FakeSource();
    const plain = await write(sampleLayer(source), source);
    const first = await write(sampleLayer(source), source, { compression: 'zstd' });
    const second = await write(sampleLayer(source), source, { compression: 'zstd' });

    expect(execFileSync('zstd', ['-d', '-c'], { input: first.tar }).equals(plain.tar)).toBe(true);
    expect(first.result.diffId).toBe(plain.result.diffId);
    expect(first.result.digest).toBe(sha256(first.tar));
    expect(first.result.size).toBe(first.tar.length);
    expect(first.result.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(second.tar.equals(first.tar)).toBe(true);
  });

  it('reports a missing zstd program as NOT_FOUND', async () => {
    const emptyDir = mkdtempSync(join(tmpdir(), 'snap-nozstd-'));
    const savedPath = process.env.PATH;
    const out = new Collector();
    process.env.PATH = emptyDir;
    try {
      const error = await rejection(writeLayer(add(entry('d', 'dir')), new FakeSource(), out, { compression: 'zstd' }));

      expect(isSnapError(error, 'NOT_FOUND')).toBe(true);
      expect((error as Error).message).toBe("zstd compression needs the 'zstd' program; install it (apt-get install zstd) or use --gzip");
      expect(out.chunks).toHaveLength(0);
    } finally {
      process.env.PATH = savedPath;
      rmSync(emptyDir, { recursive: true });
    }
  });
});

describe('writeLayer from files', () => {
  const work = mkdtempSync(join(tmpdir(), 'snap-layer-files-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** A FakeSource whose blobs are also files under `work`, read through filePath. */
  class FileSource extends FakeSource {
    readonly paths = new Map<string, Buffer>();
    place(name: string, content: Buffer): Entry {
      const created = file(this, name, content);
      mkdirSync(dirname(join(work, name)), { recursive: true });
      writeFileSync(join(work, name), content);
      this.paths.set(created.oid!, Buffer.from(name));
      return created;
    }
    filePath(oid: string): { root: Buffer; path: Buffer } | undefined {
      const path = this.paths.get(oid);
      return path ? { root: Buffer.from(work), path } : undefined;
    }
  }

  function pattern(length: number, seed: number): Buffer {
    const content = Buffer.alloc(length);
    for (let i = 0; i < length; i++) content[i] = ((i * seed) >> 3) & 0xff;
    return content;
  }

  it('reads files directly, byte for byte as from blobs', async () => {
    const source = new FileSource();
    const entries = [source.place('big', pattern(5 * 1024 * 1024 + 123, 7)), source.place('small', Buffer.from('tiny\n'))];
    const fromFiles = await write(add(...entries), source);
    const fromBlobs = await write(add(...entries), { openBlob: (oid) => source.openBlob(oid) });

    expect(fromFiles.tar.equals(fromBlobs.tar)).toBe(true);
    expect(fromFiles.result.diffId).toBe(fromBlobs.result.diffId);
    expect(source.opened).toEqual(entries.map((e) => e.oid));
  });

  it('writes one gzip member per MiB of tar', async () => {
    const source = new FileSource();
    const content = pattern(3 * 1024 * 1024, 13);
    const plain = await write(add(source.place('three', content)), source);
    const gzip = await write(add(source.place('three', content)), source, { compression: 'gzip' });

    expect(gunzipSync(gzip.tar).equals(plain.tar)).toBe(true);
    expect(gzip.result.diffId).toBe(plain.result.diffId);
    expect(gzip.result.digest).toBe(sha256(gzip.tar));
    // Four members: three full MiB and the rest; each starts with the gzip magic and MTIME 0.
    let members = 0;
    for (let at = 0; at < gzip.tar.length; ) {
      expect(gzip.tar.subarray(at, at + 4)).toEqual(Buffer.from([0x1f, 0x8b, 0x08, 0x00]));
      members += 1;
      const rest = gzip.tar.subarray(at);
      at += rest.length - gunzipTail(rest);
    }
    expect(members).toBe(4);
  });

  it.each([
    ['grew', 10, 'more than 8'],
    ['shrank', 5, '5'],
  ])('reports a file that %s as IO', async (_label, actual, found) => {
    const source = new FileSource();
    const placed = source.place('changing', Buffer.alloc(8, 1));
    writeFileSync(join(work, 'changing'), Buffer.alloc(actual, 2));
    const error = await rejection(write(add(placed), source));

    expect(isSnapError(error, 'IO')).toBe(true);
    expect((error as Error).message).toBe(`file '${join(work, 'changing')}' changed size while being read (8 -> ${found} bytes); retry when it is not being written`);
  });

  it('does not follow a symlink in place of a file', async () => {
    const source = new FileSource();
    const placed = source.place('swapped', Buffer.from('content'));
    rmSync(join(work, 'swapped'));
    symlinkSync('/etc/hostname', join(work, 'swapped'));
    const error = await rejection(write(add(placed), source));

    expect(isSnapError(error, 'IO')).toBe(true);
    expect((error as Error).message).toMatch(/^opening '.*swapped' failed: ELOOP/);
  });

  it('does not wait on a FIFO in place of a file', async () => {
    const source = new FileSource();
    const placed = source.place('fifo', Buffer.from('content'));
    rmSync(join(work, 'fifo'));
    execFileSync('mkfifo', [join(work, 'fifo')]);
    const error = await rejection(write(add(placed), source));

    expect(isSnapError(error, 'IO')).toBe(true);
    expect((error as Error).message).toBe(`'${join(work, 'fifo')}' is no longer a regular file; retry when the rootfs is not being changed`);
  });

  it('does not follow a directory swapped for a symlink', async () => {
    const source = new FileSource();
    const placed = source.place('inside/f.txt', Buffer.from('late\n'));
    mkdirSync(join(work, 'elsewhere'));
    writeFileSync(join(work, 'elsewhere', 'f.txt'), 'SECRT\n');
    renameSync(join(work, 'inside'), join(work, 'inside.old'));
    symlinkSync(join(work, 'elsewhere'), join(work, 'inside'));
    const error = await rejection(write(add(placed), source));

    expect(isSnapError(error, 'IO')).toBe(true);
    expect((error as Error).message).toBe(`opening '${join(work, 'inside/f.txt')}' failed: ENOTDIR (a component of the path is not a directory)`);
  });

  it('reports a file rewritten at the same size while read', async () => {
    const source = new FileSource();
    const content = pattern(6 * 1024 * 1024, 5);
    const placed = source.place('rewritten', content);
    let rewritten = false;
    const out = new Writable({
      write: (_chunk, _encoding, callback) => {
        if (!rewritten) writeFileSync(join(work, 'rewritten'), Buffer.alloc(content.length, 0));
        rewritten = true;
        callback();
      },
    });
    const error = await rejection(writeLayer(add(placed), source, out));

    expect(isSnapError(error, 'IO')).toBe(true);
    expect((error as Error).message).toBe(`file '${join(work, 'rewritten')}' changed while being read; retry when it is not being written`);
  });

  it('reports a failing output as IO', async () => {
    const source = new FileSource();
    const out = new Writable({ write: (_chunk, _encoding, callback) => callback(new Error('disk full')) });
    const error = await rejection(writeLayer(add(source.place('f', pattern(2 * 1024 * 1024, 3))), source, out, { compression: 'gzip' }));

    expect(isSnapError(error, 'IO')).toBe(true);
    expect((error as Error).message).toBe('writing the layer failed: disk full');
    expect(out.destroyed).toBe(true);
  });
});

/** Returns how many bytes follow the first gzip member of `data`. */
function gunzipTail(data: Buffer): number {
  const stream = inflateRawSync(data.subarray(10), { info: true }) as unknown as { engine: { bytesWritten: number } };
  return data.length - 10 - stream.engine.bytesWritten - 8;
}

describe('PAX encoding', () => {
  it('moves sizes above 11 octal digits to a PAX record', () => {
    const size = 10 * 2 ** 30;
    const encoded = encodeHeader({ name: Buffer.from('big'), typeflag: 0x30, mode: 0o644, uid: 0, gid: 0, size, mtimeNs: 0n });
    const recordsLength = octal(encoded, 124, 12);

    expect(encoded.length).toBe(3 * 512);
    expect(parsePax(encoded.subarray(512, 512 + recordsLength)).get('size')?.toString()).toBe(String(size));
    expect(octal(encoded, 1024 + 124, 12)).toBe(0);
  });

  it.each([
    ['path', 'a', '9 path=a\n'],
    ['k', 'v'.repeat(93), `99 k=${'v'.repeat(93)}\n`],
    // 98 bytes without the length plus two digits is 100, which needs three digits.
    ['k', 'v'.repeat(94), `101 k=${'v'.repeat(94)}\n`],
  ])('counts the length digits of %s=%s', (key, value, expected) => {
    expect(paxRecord(key, Buffer.from(value)).toString()).toBe(expected);
  });

  it.each([
    [0n, '0'],
    [1_000_000_001n, '1.000000001'],
    [-1n, '-0.000000001'],
  ])('formats %s ns as %s', (ns, expected) => {
    expect(formatPaxTime(ns)).toBe(expected);
  });
});

describe('GNU tar as judge', () => {
  const gnuTar = spawnSync('tar', ['--version']).stdout?.toString().includes('GNU tar') ?? false;
  const work = mkdtempSync(join(tmpdir(), 'snap-gnutar-'));
  // rm(1) removes trees deeper than PATH_MAX, which fs.rmSync cannot.
  afterAll(() => execFileSync('rm', ['-rf', work]));

  it.skipIf(!gnuTar)('lists the layer with modes, owners and xattrs', async () => {
    const source = new FakeSource();
    const { tar } = await write(sampleLayer(source), source);
    writeFileSync(join(work, 'list.tar'), tar);
    const listing = execFileSync('tar', ['--xattrs', "--xattrs-include=*", '--numeric-owner', '-tvvf', join(work, 'list.tar')]).toString('latin1');

    expect(listing).toMatch(/^-rwsr-xr-x\* 0\/0 .* usr\/bin\/ping$/m);
    expect(listing).toMatch(/^ {2}x: +20 security\.capability$/m);
    expect(listing).toMatch(/^-rwxr-sr-x +0\/5 .* usr\/bin\/wall$/m);
    expect(listing).toMatch(/^drwxrwxrwt +0\/0 .* tmp\/$/m);
    expect(listing).toMatch(/^crw-rw-rw- +0\/0 +1,3 .* dev\/null$/m);
    expect(listing).toMatch(/^prw------- +0\/0 .* run\/fifo$/m);
    expect(listing).toMatch(/^lrwxrwxrwx +0\/0 .* usr\/bin\/sh -> dash$/m);
    expect(listing).toMatch(/ etc\/\.wh\.passwd$/m);
  });

  it.skipIf(!gnuTar)('extracts names, times, devices and xattrs exactly', async () => {
    const source = new FakeSource();
    const path4k = Array.from({ length: 16 }, (_, i) => `${i}`.padEnd(255, 'x')).join('/');
    const dirs = path4k.split('/').slice(0, -1).map((_, i, all) => entry(all.slice(0, i + 1).join('/'), 'dir'));
    const items = [...sampleLayer(source), ...add(...dirs, file(source, path4k, 'deep'))];
    const { tar } = await write(items, source);
    const root = join(work, 'root');
    writeFileSync(join(work, 'x.tar'), tar);
    execFileSync('mkdir', ['-p', root]);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', join(work, 'x.tar'), '-C', root]);

    const ping = lstatSync(join(root, 'usr/bin/ping'), { bigint: true });
    expect(ping.mode & 0o7777n).toBe(0o4755n);
    expect(ping.mtimeNs).toBe(MTIME);
    const nullDevice = lstatSync(join(root, 'dev/null'));
    expect(nullDevice.isCharacterDevice()).toBe(true);
    expect(nullDevice.rdev).toBe((1 << 8) | 3);
    expect(lstatSync(join(root, 'run/fifo')).isFIFO()).toBe(true);
    const caps = execFileSync('getfattr', ['-h', '-e', 'hex', '-n', 'security.capability', join(root, 'usr/bin/ping')]).toString();
    expect(caps).toContain(`security.capability=0x${CAPABILITY.toString('hex')}`);
    const usr = readdirSync(Buffer.from(join(root, 'usr')), { encoding: 'buffer' });
    expect(usr.some((name) => name.equals(NON_UTF8))).toBe(true);
    expect(readFileSync(Buffer.concat([Buffer.from(`${root}/usr/`), NON_UTF8])).toString()).toBe('bytes in a name');
    const deep = execFileSync('find', [root, '-type', 'f', '-name', '15x*']).toString().trim();
    expect(deep).toBe(join(root, path4k));
  });
});
