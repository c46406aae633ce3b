// Tests of the native addon against real files, with Node's fs, stat(1) and getfattr(1) as judges.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import {
  fileClockNs,
  gzipBound,
  gzipInfo,
  gzipMember,
  hashFiles,
  inflateExact,
  listXattrs,
  lstatPath,
  makeDevice,
  makeFifo,
  readDirStat,
  readDirTable,
  readDirTables,
  removeXattr,
  setTimes,
  setXattr,
  toStatInfos,
  unlinkMany,
  type StatInfo,
  type StatTable,
} from '../src/native/index.js';

const ADDON_FILE = path.resolve(import.meta.dirname, '../native/build/Release/snap_native.node');

let root: string;

// ext4 without the ea_inode feature keeps an xattr value within one block (about 4 KiB), so tests of
// larger values use a directory on tmpfs, which takes values up to the VFS limit of 64 KiB.
const TMPFS_MAGIC = 0x01021994;
const shmIsTmpfs = fs.existsSync('/dev/shm') && fs.statfsSync('/dev/shm').type === TMPFS_MAGIC;
let shm: string;

/** Joins a directory and raw name bytes into one path Buffer. */
function join(dir: string | Buffer, ...names: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(dir)];
  for (const name of names) parts.push(Buffer.from('/'), Buffer.from(name));
  return Buffer.concat(parts);
}

/** Makes a fresh directory under root for one test. */
function freshDir(name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  return dir;
}

/** Returns the error that fn throws, failing the test if it throws nothing. */
function thrown(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error('expected an error, but the call returned');
}

/** Reads all xattrs of path with getfattr -h (no symlink following), values as Buffers. */
function getfattr(file: string): Map<string, Buffer> {
  const output = execFileSync('getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', file], {
    encoding: 'utf8',
  });
  const attrs = new Map<string, Buffer>();
  for (const line of output.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) attrs.set(line, Buffer.alloc(0));
    else attrs.set(line.slice(0, eq), Buffer.from(line.slice(eq + 3), 'hex'));
  }
  return attrs;
}

/** Checks every StatInfo field against Node's bigint lstat of the same path. */
function expectMatchesNode(info: StatInfo, file: Buffer): void {
  const st = fs.lstatSync(file, { bigint: true });
  expect(info.mode).toBe(Number(st.mode & 0o7777n));
  expect(info.uid).toBe(Number(st.uid));
  expect(info.gid).toBe(Number(st.gid));
  expect(info.size).toBe(Number(st.size));
  expect(info.dev).toBe(st.dev);
  expect(info.ino).toBe(st.ino);
  expect(info.nlink).toBe(Number(st.nlink));
  expect(info.mtimeNs).toBe(st.mtimeNs);
  expect(info.ctimeNs).toBe(st.ctimeNs);
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'snap-native-'));
  if (shmIsTmpfs) shm = fs.mkdtempSync('/dev/shm/snap-native-');
});

afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
  if (shmIsTmpfs) fs.rmSync(shm, { recursive: true, force: true });
});

describe('readDirStat', () => {
  let dir: string;
  let server: net.Server;
  let entries: Map<string, StatInfo>;

  beforeAll(async () => {
    dir = freshDir('types');
    fs.writeFileSync(path.join(dir, 'file'), 'hello');
    fs.chmodSync(path.join(dir, 'file'), 0o7755);
    fs.linkSync(path.join(dir, 'file'), path.join(dir, 'hardlink'));
    fs.mkdirSync(path.join(dir, 'dir'), 0o1777);
    fs.chmodSync(path.join(dir, 'dir'), 0o1777);
    fs.symlinkSync('file', path.join(dir, 'symlink'));
    makeDevice(join(dir, 'char'), 'char', 0o620, 4, 64);
    makeDevice(join(dir, 'block'), 'block', 0o660, 259, 70000);
    makeFifo(join(dir, 'fifo'), 0o640);
    server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, 'socket'), resolve));

    entries = new Map(readDirStat(Buffer.from(dir)).map((info) => [info.name.toString(), info]));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('lists every entry except . and ..', () => {
    expect([...entries.keys()].sort()).toEqual(fs.readdirSync(dir).sort());
    expect(entries.size).toBe(8);
  });

  it.each([
    ['file', 'file'],
    ['hardlink', 'file'],
    ['dir', 'dir'],
    ['symlink', 'symlink'],
    ['char', 'char'],
    ['block', 'block'],
    ['fifo', 'fifo'],
    ['socket', 'socket'],
  ])('reports %s as type %s', (name, type) => {
    expect(entries.get(name)?.type).toBe(type);
  });

  it.each(['file', 'hardlink', 'dir', 'symlink', 'char', 'block', 'fifo', 'socket'])(
    'matches Node lstat for %s',
    (name) => {
      expectMatchesNode(entries.get(name)!, join(dir, name));
    },
  );

  it('keeps all 12 mode bits', () => {
    expect(entries.get('file')!.mode).toBe(0o7755);
    expect(entries.get('dir')!.mode).toBe(0o1777);
  });

  it('counts hardlinks', () => {
    expect(entries.get('file')!.nlink).toBe(2);
    expect(entries.get('hardlink')!.ino).toBe(entries.get('file')!.ino);
  });

  it('reports symlink size as target length', () => {
    expect(entries.get('symlink')!.size).toBe(4);
  });

  it.each([
    ['char', 4, 64],
    ['block', 259, 70000],
  ])('reports device numbers of %s', (name, major, minor) => {
    const info = entries.get(name)!;
    expect(info.rdevMajor).toBe(major);
    expect(info.rdevMinor).toBe(minor);
    const judged = execFileSync('stat', ['-c', '%Hr %Lr', path.join(dir, name)], { encoding: 'utf8' }).trim();
    expect(judged).toBe(`${major} ${minor}`);
  });

  it('reports zero device numbers for non-devices', () => {
    for (const name of ['file', 'dir', 'symlink', 'fifo', 'socket']) {
      expect(entries.get(name)!.rdevMajor).toBe(0);
      expect(entries.get(name)!.rdevMinor).toBe(0);
    }
  });

  it('agrees with Node on a large directory', () => {
    const big = freshDir('big');
    const expected = new Map<string, bigint>();
    for (let i = 0; i < 3000; i++) {
      // Long names make the name buffer grow several times as well as the table.
      const name = `${String(i).padStart(5, '0')}-${'x'.repeat(200)}`;
      fs.writeFileSync(path.join(big, name), String(i).repeat(i % 7));
      expected.set(name, fs.lstatSync(path.join(big, name), { bigint: true }).ino);
    }

    const infos = readDirStat(Buffer.from(big));
    expect(infos).toHaveLength(3000);
    for (const info of infos) {
      const name = info.name.toString();
      expect(info.ino).toBe(expected.get(name));
      expect(info.size).toBe(String(Number(name.slice(0, 5))).length * (Number(name.slice(0, 5)) % 7));
    }
  });

  it('returns [] for an empty directory', () => {
    expect(readDirStat(Buffer.from(freshDir('empty')))).toEqual([]);
  });

  it('throws ENOTDIR for a file', () => {
    const error = thrown(() => readDirStat(join(dir, 'file')));
    expect(error.code).toBe('ENOTDIR');
    expect(error.syscall).toBe('open');
  });
});

describe('readDirTables', () => {
  let base: string;
  let dirs: string[];

  beforeAll(() => {
    base = freshDir('many');
    dirs = [];
    for (let i = 0; i < 40; i++) {
      const dir = path.join(base, `d${i}`);
      fs.mkdirSync(dir);
      for (let j = 0; j < i * 3; j++) fs.writeFileSync(path.join(dir, `f${j}`), 'x'.repeat(j));
      dirs.push(dir);
    }
    fs.symlinkSync('d1', path.join(base, 'link'));
  });

  it('returns what readDirTable returns for each directory', async () => {
    const tables = await readDirTables(dirs.map((dir) => Buffer.from(dir)));

    expect(tables).toHaveLength(dirs.length);
    dirs.forEach((dir, i) => {
      const expected = readDirTable(Buffer.from(dir));
      expect(tables[i]?.table.names).toEqual(expected.names);
      expect(tables[i]?.table.numbers).toEqual(expected.numbers);
      expect(tables[i]?.table.bigints).toEqual(expected.bigints);
    });
  });

  it('reports the device and inode of each directory', async () => {
    const tables = await readDirTables(dirs.map((dir) => Buffer.from(dir)));

    dirs.forEach((dir, i) => {
      const stat = fs.lstatSync(dir, { bigint: true });
      expect(tables[i]?.dev).toBe(stat.dev);
      expect(tables[i]?.ino).toBe(stat.ino);
    });
  });

  it('lists every entry of a directory', async () => {
    const [read] = await readDirTables([Buffer.from(dirs[5])]);

    const names = toStatInfos(read!.table).map((info) => info.name.toString()).sort();
    expect(names).toEqual(fs.readdirSync(dirs[5]).sort());
  });

  it('returns an expected table that is equal', async () => {
    const expected = [readDirTable(Buffer.from(dirs[6])), undefined, readDirTable(Buffer.from(dirs[8]))];
    fs.writeFileSync(path.join(dirs[8], 'added'), '');

    const tables = await readDirTables([6, 7, 8].map((i) => Buffer.from(dirs[i])), expected);

    expect(tables[0]?.table).toBe(expected[0]);
    expect(tables[1]?.table.numbers).toEqual(readDirTable(Buffer.from(dirs[7])).numbers);
    expect(tables[2]?.table).not.toBe(expected[2]);
    expect(tables[2]?.table.names).toEqual(readDirTable(Buffer.from(dirs[8])).names);
  });

  it('matches the entries of a changed table by name and stat', async () => {
    const dir = dirs[20];
    const expected = readDirTable(Buffer.from(dir));
    fs.writeFileSync(path.join(dir, 'added'), '');
    fs.writeFileSync(path.join(dir, 'f3'), 'rewritten');
    fs.rmSync(path.join(dir, 'f4'));

    const [read] = await readDirTables([Buffer.from(dir)], [expected]);
    const now = toStatInfos(read!.table);
    const before = toStatInfos(expected);
    const matched = now.map((info, i) => [info.name.toString(), read!.match![i] >= 0 ? before[read!.match![i]].name.toString() : null]);

    expect(read!.match).toBeInstanceOf(Int32Array);
    expect(read!.match).toHaveLength(now.length);
    for (const [name, previous] of matched) {
      if (name === 'added' || name === 'f3') expect(previous, name).toBeNull();
      else expect(previous, name).toBe(name);
    }
  });

  it('omits match for an equal or unexpected table', async () => {
    const expected = [readDirTable(Buffer.from(dirs[9])), undefined];

    const tables = await readDirTables([Buffer.from(dirs[9]), Buffer.from(dirs[10])], expected);

    expect(tables[0]?.match).toBeUndefined();
    expect(tables[1]?.match).toBeUndefined();
  });

  it('reads expected tables made in JS', async () => {
    const dir = freshDir('one-entry');
    fs.writeFileSync(path.join(dir, 'only'), 'x');
    const read = readDirTable(Buffer.from(dir));
    // Node 20's V8 keeps the data of a typed array of at most 64 bytes, as this 32-byte
    // BigUint64Array, inside its heap, where the garbage collector may move it.
    const copy = (): StatTable => ({ names: Buffer.from(read.names), numbers: new Float64Array(read.numbers), bigints: new BigUint64Array(read.bigints) });
    const equal = copy();
    const changed = copy();
    changed.bigints[2] += 1n;

    const tables = await readDirTables([Buffer.from(dir), Buffer.from(dir)], [equal, changed]);

    expect(equal.bigints.byteLength).toBe(32);
    expect(tables[0]?.table).toBe(equal);
    expect(tables[1]?.table).not.toBe(changed);
    expect(Array.from(tables[1]!.match!)).toEqual([-1]);
  });

  it('rejects an expected table without typed arrays', () => {
    const expected = [{ names: Buffer.alloc(0), numbers: [], bigints: [] }] as unknown as StatTable[];

    expect(() => readDirTables([Buffer.from(dirs[1])], expected)).toThrow(TypeError);
  });

  it.each([
    ['a missing path', 'missing'],
    ['a file', 'd3/f1'],
    ['a symlink to a directory', 'link'],
  ])('returns undefined for %s', async (_what, name) => {
    const tables = await readDirTables([Buffer.from(dirs[2]), join(base, name), Buffer.from(dirs[4])]);

    expect(tables[0]).toBeDefined();
    expect(tables[1]).toBeUndefined();
    expect(tables[2]).toBeDefined();
  });

  it('returns [] for no paths', async () => {
    expect(await readDirTables([])).toEqual([]);
  });

  it('rejects a path that is not a Buffer', () => {
    expect(() => readDirTables(['/tmp' as unknown as Buffer])).toThrow(TypeError);
  });
});

describe('names as raw bytes', () => {
  it('round-trips a name that is not UTF-8', () => {
    const dir = freshDir('bytes');
    const name = Buffer.from([0x66, 0xff, 0x0a]);
    fs.writeFileSync(join(dir, name), 'x');

    const [info] = readDirStat(Buffer.from(dir));
    expect(info.name.equals(name)).toBe(true);
    expect(lstatPath(join(dir, name)).type).toBe('file');
  });

  it('round-trips a 255-byte name', () => {
    const dir = freshDir('long-name');
    const name = Buffer.concat([Buffer.alloc(200, 0xe9), Buffer.alloc(55, 0x61)]);
    expect(name).toHaveLength(255);
    fs.mkdirSync(join(dir, name));

    const [info] = readDirStat(Buffer.from(dir));
    expect(info.name.equals(name)).toBe(true);
    expect(info.type).toBe('dir');
  });

  it('rejects a 256-byte name with ENAMETOOLONG', () => {
    const error = thrown(() => lstatPath(join(root, Buffer.alloc(256, 0x61))));
    expect(error.code).toBe('ENAMETOOLONG');
  });

  it('stats a path of several KB', () => {
    let deep = Buffer.from(freshDir('deep'));
    for (let i = 0; i < 15; i++) {
      deep = join(deep, Buffer.alloc(250, 0x61 + i));
      fs.mkdirSync(deep);
    }
    expect(deep.length).toBeGreaterThan(3750);

    const info = lstatPath(deep);
    expect(info.name.equals(deep)).toBe(true);
    expect(info.type).toBe('dir');
  });

  it('rejects a path containing NUL with EINVAL', () => {
    const error = thrown(() => lstatPath(Buffer.from('a\0b')));
    expect(error.code).toBe('EINVAL');
    expect(error.syscall).toBe('lstat');
  });
});

describe('hashFiles', () => {
  const gitHash = (file: string): string => execFileSync('git', ['hash-object', '--no-filters', file]).toString().trim();

  it('matches git hash-object ids', async () => {
    const dir = freshDir('hash-ids');
    const files = { empty: Buffer.alloc(0), text: Buffer.from('hello\n'), binary: Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 7) % 256)) };
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    const names = Object.keys(files);
    const reply = await hashFiles(names.map((name) => join(dir, name)), names.map((name) => fs.statSync(path.join(dir, name)).size), 'hash', dir);
    expect(reply.errors).toEqual([null, null, null]);
    expect(reply.data).toEqual([null, null, null]);
    names.forEach((name, i) => expect(reply.oids.toString('hex', i * 20, i * 20 + 20)).toBe(gitHash(path.join(dir, name))));
  });

  it('returns content deflated for a pack in pack mode', async () => {
    const dir = freshDir('hash-pack');
    const content = Buffer.from('a'.repeat(5000) + 'b');
    fs.writeFileSync(path.join(dir, 'f'), content);
    const reply = await hashFiles([join(dir, 'f')], [content.length], 'pack', dir);
    expect(zlib.inflateSync(reply.data[0]!)).toEqual(content);
    expect(reply.data[0]!.length).toBeLessThan(content.length);
  });

  it('copies deflated data into the out buffer while it has room', async () => {
    const dir = freshDir('hash-out');
    const small = Buffer.from('small '.repeat(100));
    const large = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31 + (i >> 3)) % 256));
    fs.writeFileSync(path.join(dir, 'small'), small);
    fs.writeFileSync(path.join(dir, 'large'), large);
    const out = Buffer.alloc(256);
    const reply = await hashFiles([join(dir, 'small'), join(dir, 'large')], [small.length, large.length], 'pack', dir, out);
    const [first, second] = reply.data;
    expect(first!.buffer).toBe(out.buffer);
    expect(zlib.inflateSync(first!)).toEqual(small);
    expect(second!.buffer).not.toBe(out.buffer);
    expect(zlib.inflateSync(second!)).toEqual(large);
  });

  it('stores loose objects that git reads back', async () => {
    const repo = freshDir('hash-loose');
    execFileSync('git', ['init', '-q', '--bare', repo]);
    fs.writeFileSync(path.join(repo, 'f'), 'stored\n');
    const reply = await hashFiles([join(repo, 'f')], [7], 'loose', path.join(repo, 'objects'));
    const oid = reply.oids.toString('hex', 0, 20);
    expect(execFileSync('git', ['--git-dir', repo, 'cat-file', '-p', oid]).toString()).toBe('stored\n');
    expect(fs.readdirSync(path.join(repo, 'objects', oid.slice(0, 2)))).toEqual([oid.slice(2)]);
  });

  // Above 1 MiB a file is read in chunks: these sizes end exactly on a chunk and just past one.
  it.each([2 * 1024 * 1024, 3 * 1024 * 1024 + 17])('streams a file of %i bytes into a loose object', async (size) => {
    const repo = freshDir(`hash-stream-${size}`);
    execFileSync('git', ['init', '-q', '--bare', repo]);
    const content = Buffer.alloc(size);
    for (let i = 0; i + 4 <= size; i += 4) content.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, i);
    fs.writeFileSync(path.join(repo, 'f'), content);
    const hashed = await hashFiles([join(repo, 'f')], [size], 'hash', path.join(repo, 'objects'));
    const stored = await hashFiles([join(repo, 'f')], [size], 'loose', path.join(repo, 'objects'));
    const oid = stored.oids.toString('hex', 0, 20);

    expect(hashed.errors).toEqual([null]);
    expect(stored.errors).toEqual([null]);
    expect(hashed.oids.toString('hex', 0, 20)).toBe(gitHash(path.join(repo, 'f')));
    expect(oid).toBe(gitHash(path.join(repo, 'f')));
    expect(execFileSync('git', ['--git-dir', repo, 'cat-file', 'blob', oid], { maxBuffer: 2 * size }).equals(content)).toBe(true);
    expect(fs.readdirSync(path.join(repo, 'objects')).filter((name) => name.startsWith('tmp_obj_'))).toEqual([]);
  });

  it('reports a streamed file that changed size and leaves no temporary object', async () => {
    const repo = freshDir('hash-stream-changed');
    execFileSync('git', ['init', '-q', '--bare', repo]);
    const size = 2 * 1024 * 1024;
    fs.writeFileSync(path.join(repo, 'grown'), Buffer.alloc(size + 5));
    fs.writeFileSync(path.join(repo, 'shrunk'), Buffer.alloc(size - 5));
    const reply = await hashFiles([join(repo, 'grown'), join(repo, 'shrunk')], [size, size], 'loose', path.join(repo, 'objects'));

    expect(reply.errors[0]).toEqual({ code: 'ECHANGED', message: `changed size while being read (${size} -> ${size + 1} bytes)` });
    expect(reply.errors[1]).toEqual({ code: 'ECHANGED', message: `changed size while being read (${size} -> ${size - 5} bytes)` });
    expect(fs.readdirSync(path.join(repo, 'objects')).filter((name) => name.startsWith('tmp_obj_'))).toEqual([]);
  });

  it('reports each failing file in its own slot and hashes the rest', async () => {
    const dir = freshDir('hash-errors');
    fs.writeFileSync(path.join(dir, 'ok'), 'x');
    fs.writeFileSync(path.join(dir, 'grown'), 'xyz');
    fs.symlinkSync('ok', path.join(dir, 'link'));
    const reply = await hashFiles([join(dir, 'missing'), join(dir, 'ok'), join(dir, 'grown'), join(dir, 'link')], [1, 1, 2, 1], 'hash', dir);
    expect(reply.errors[0]).toEqual({ code: 'ENOENT', message: 'ENOENT: no such file or directory, open' });
    expect(reply.errors[1]).toBeNull();
    expect(reply.oids.toString('hex', 20, 40)).toBe(gitHash(path.join(dir, 'ok')));
    expect(reply.errors[2]).toEqual({ code: 'ECHANGED', message: 'changed size while being read (2 -> 3 bytes)' });
    // A symlink is never followed: the scan saw a regular file, so one in its place is a change.
    expect(reply.errors[3]?.code).toBe('ELOOP');
  });

  it('hashes files above 1 MiB in chunks in hash mode', async () => {
    const dir = freshDir('hash-chunked');
    const mib = 1024 * 1024;
    const sizes = { exact: 2 * mib, odd: 3 * mib + 17, over: mib + 1 };
    for (const [name, size] of Object.entries(sizes)) {
      fs.writeFileSync(path.join(dir, name), Buffer.from(Array.from({ length: size }, (_, i) => (i * 13 + (i >> 11)) % 256)));
    }
    const names = Object.keys(sizes);
    const reply = await hashFiles(names.map((name) => join(dir, name)), Object.values(sizes), 'hash', dir);
    expect(reply.errors).toEqual([null, null, null]);
    names.forEach((name, i) => expect(reply.oids.toString('hex', i * 20, i * 20 + 20)).toBe(gitHash(path.join(dir, name))));
  });

  it('reports a large file that grew or shrank in hash mode', async () => {
    const dir = freshDir('hash-chunked-changed');
    const mib = 1024 * 1024;
    fs.writeFileSync(path.join(dir, 'grown'), Buffer.alloc(2 * mib + 1, 1));
    fs.writeFileSync(path.join(dir, 'shrunk'), Buffer.alloc(mib + 5, 2));
    const reply = await hashFiles([join(dir, 'grown'), join(dir, 'shrunk')], [2 * mib, 3 * mib], 'hash', dir);
    expect(reply.errors[0]).toEqual({ code: 'ECHANGED', message: `changed size while being read (${2 * mib} -> ${2 * mib + 1} bytes)` });
    expect(reply.errors[1]).toEqual({ code: 'ECHANGED', message: `changed size while being read (${3 * mib} -> ${mib + 5} bytes)` });
  });

  it('rejects arguments it cannot use', () => {
    expect(() => hashFiles([Buffer.from('/a\0b')], [1], 'hash', '/tmp')).toThrow(/NUL/);
    expect(() => hashFiles([Buffer.from('/a')], [], 'hash', '/tmp')).toThrow(/as long as paths/);
  });
});

describe('gzipMember', () => {
  /** Compresses `input` into a buffer of gzipBound bytes and returns the member. */
  async function member(input: Uint8Array, level: number): Promise<Buffer> {
    const output = Buffer.alloc(gzipBound(input.length));
    const length = await gzipMember(input, level, output);
    return output.subarray(0, length);
  }

  it('writes one gzip member that gunzip reads back', async () => {
    const input = Buffer.from(Array.from({ length: 300_000 }, (_, i) => 'snapshot layer '.charCodeAt(i % 15) ^ (i % 7)));
    const written = await member(input, 1);
    expect(zlib.gunzipSync(written)).toEqual(input);
    expect(written.subarray(0, 4)).toEqual(Buffer.from([0x1f, 0x8b, 0x08, 0x00])); // magic, deflate, no FLG bits
    expect(written.readUInt32LE(4)).toBe(0); // MTIME
    expect(written.length).toBeLessThan(input.length / 2);
  });

  it('compresses a view of a larger buffer and an empty input', async () => {
    const whole = Buffer.from('0123456789'.repeat(1000));
    const view = whole.subarray(100, 5100);
    expect(zlib.gunzipSync(await member(view, 1))).toEqual(view);
    expect(zlib.gunzipSync(await member(Buffer.alloc(0), 1))).toEqual(Buffer.alloc(0));
  });

  it('fits incompressible input in gzipBound at every level', async () => {
    // Higher levels take seconds per MiB of random bytes, so only level 1 gets a whole layer chunk.
    for (let level = 1; level <= gzipInfo().maxLevel; level += 1) {
      const input = crypto.randomBytes(level === 1 ? 1024 * 1024 : 32 * 1024);
      expect(zlib.gunzipSync(await member(input, level))).toEqual(input);
    }
  });

  it('rejects an output buffer that is too small', async () => {
    const input = crypto.randomBytes(4096);
    await expect(gzipMember(input, 1, Buffer.alloc(100))).rejects.toThrow(/output buffer is too small/);
  });

  it('compresses smaller at its top level', async () => {
    const input = Buffer.from(Array.from({ length: 200_000 }, (_, i) => 'abcdefghij'.charCodeAt((i * i) % 10)));
    const fast = await member(input, 1);
    const best = await member(input, gzipInfo().maxLevel);
    expect(zlib.gunzipSync(best)).toEqual(input);
    expect(best.length).toBeLessThan(fast.length);
  });

  it('names its library and top level', () => {
    const info = gzipInfo();
    expect(info).toEqual(info.library === 'libdeflate' ? { library: 'libdeflate', maxLevel: 12 } : { library: 'zlib', maxLevel: 9 });
  });

  it('rejects input that is not bytes and levels out of range', () => {
    const output = Buffer.alloc(2048);
    expect(() => gzipMember('text' as unknown as Uint8Array, 1, output)).toThrow(/data must be a Buffer or Uint8Array/);
    expect(() => gzipMember(Buffer.from('x'), 1, 'out' as unknown as Uint8Array)).toThrow(/output must be a Buffer or Uint8Array/);
    expect(() => gzipMember(Buffer.from('x'), 0, output)).toThrow(/level must be an integer from 1 to/);
    expect(() => gzipMember(Buffer.from('x'), gzipInfo().maxLevel + 1, output)).toThrow(/level must be an integer from 1 to/);
  });
});

describe('lstatPath', () => {
  it('does not follow a final symlink', () => {
    const dir = freshDir('lstat');
    fs.writeFileSync(path.join(dir, 'target'), 'content');
    fs.symlinkSync('target', path.join(dir, 'link'));

    const info = lstatPath(join(dir, 'link'));
    expect(info.type).toBe('symlink');
    expect(info.size).toBe(6);
    expectMatchesNode(info, join(dir, 'link'));
  });

  it('returns a copy of the path as name', () => {
    const file = join(root);
    const info = lstatPath(file);
    file.fill(0x7a);
    expect(info.name.toString()).toBe(root);
  });
});

describe('setTimes', () => {
  it.each([
    ['2023', 1_700_000_000_123_456_789n],
    ['before 1970', -1_234_567_891n],
    ['after 2262', 10_413_792_000_987_654_321n],
  ])('round-trips nanoseconds on a file (%s)', (_label, mtimeNs) => {
    const file = join(root, `times-${mtimeNs}`);
    fs.writeFileSync(file, 'x');
    const atimeNs = 1_600_000_000_000_000_001n;

    setTimes(file, atimeNs, mtimeNs);

    const st = fs.lstatSync(file, { bigint: true });
    expect(st.mtimeNs).toBe(mtimeNs);
    expect(st.atimeNs).toBe(atimeNs);
    expect(lstatPath(file).mtimeNs).toBe(mtimeNs);
    const [listed] = readDirStat(join(root)).filter((info) => info.name.toString() === `times-${mtimeNs}`);
    expect(listed.mtimeNs).toBe(mtimeNs);
  });

  it('changes the symlink itself, not its target', () => {
    const dir = freshDir('symlink-times');
    const target = join(dir, 'target');
    const link = join(dir, 'link');
    fs.writeFileSync(target, 'x');
    fs.symlinkSync('target', link);
    const targetBefore = fs.lstatSync(target, { bigint: true }).mtimeNs;

    setTimes(link, 1_500_000_000_000_000_007n, 1_500_000_000_999_999_999n);

    expect(lstatPath(link).mtimeNs).toBe(1_500_000_000_999_999_999n);
    expect(fs.lstatSync(link, { bigint: true }).mtimeNs).toBe(1_500_000_000_999_999_999n);
    expect(fs.lstatSync(target, { bigint: true }).mtimeNs).toBe(targetBefore);
  });

  it('throws ENOENT for a missing path', () => {
    const error = thrown(() => setTimes(join(root, 'missing'), 0n, 0n));
    expect(error.code).toBe('ENOENT');
    expect(error.syscall).toBe('utimensat');
  });
});

describe('xattrs', () => {
  // VFS_CAP_REVISION_2 with the effective flag, permitting CAP_NET_RAW (bit 13).
  const capability = Buffer.from([
    0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00,
  ]);
  const binary = Buffer.from([0x00, 0xff, 0x00, 0x01, 0x0a, 0x00]);
  const large = Buffer.alloc(65536, 0xab);

  it('sets and lists every namespace, sorted by name', () => {
    const file = join(root, 'xattr-file');
    fs.writeFileSync(file, 'x');

    setXattr(file, 'user.zeta', Buffer.from('last'));
    setXattr(file, 'user.binary', binary);
    setXattr(file, 'user.empty', Buffer.alloc(0));
    setXattr(file, 'trusted.overlay.opaque', Buffer.from('y'));
    setXattr(file, 'security.capability', capability);

    const attrs = listXattrs(file);
    expect(attrs.map((attr) => attr.name)).toEqual([
      'security.capability',
      'trusted.overlay.opaque',
      'user.binary',
      'user.empty',
      'user.zeta',
    ]);
    expect(attrs[0].value.equals(capability)).toBe(true);
    expect(attrs[2].value.equals(binary)).toBe(true);
    expect(attrs[3].value).toHaveLength(0);

    const judged = getfattr(file.toString());
    expect(judged.size).toBe(5);
    for (const attr of attrs) expect(judged.get(attr.name)?.equals(attr.value)).toBe(true);
  });

  it('reads values that setfattr wrote', () => {
    const file = path.join(root, 'xattr-setfattr');
    fs.writeFileSync(file, 'x');
    execFileSync('setfattr', ['-n', 'user.hex', '-v', '0x00ff00', file]);
    execFileSync('setfattr', ['-n', 'trusted.text', '-v', 'hello', file]);

    expect(listXattrs(Buffer.from(file))).toEqual([
      { name: 'trusted.text', value: Buffer.from('hello') },
      { name: 'user.hex', value: Buffer.from([0x00, 0xff, 0x00]) },
    ]);
  });

  it.skipIf(!shmIsTmpfs)('round-trips a 64 KiB value', () => {
    const file = join(shm, 'xattr-large');
    fs.writeFileSync(file, 'x');
    setXattr(file, 'trusted.large', large);

    const [attr] = listXattrs(file);
    expect(attr.value.equals(large)).toBe(true);
  });

  it('replaces and removes values', () => {
    const file = join(root, 'xattr-remove');
    fs.writeFileSync(file, 'x');
    setXattr(file, 'user.a', Buffer.from('one'));
    setXattr(file, 'user.a', Buffer.from('two'));
    expect(listXattrs(file)).toEqual([{ name: 'user.a', value: Buffer.from('two') }]);

    removeXattr(file, 'user.a');
    expect(listXattrs(file)).toEqual([]);

    const error = thrown(() => removeXattr(file, 'user.a'));
    expect(error.code).toBe('ENODATA');
    expect(error.syscall).toBe('lremovexattr');
  });

  it('works on a symlink itself', () => {
    const dir = freshDir('xattr-symlink');
    const target = join(dir, 'target');
    const link = join(dir, 'link');
    fs.writeFileSync(target, 'x');
    fs.symlinkSync('target', link);

    setXattr(link, 'trusted.link', Buffer.from('on the link'));

    expect(listXattrs(link)).toEqual([{ name: 'trusted.link', value: Buffer.from('on the link') }]);
    expect(listXattrs(target)).toEqual([]);
    expect(getfattr(link.toString()).get('trusted.link')?.toString()).toBe('on the link');

    removeXattr(link, 'trusted.link');
    expect(listXattrs(link)).toEqual([]);
  });

  it('rejects user.* on a symlink with EPERM', () => {
    const link = join(root, 'xattr-user-link');
    fs.symlinkSync('anything', link);
    const error = thrown(() => setXattr(link, 'user.x', Buffer.from('v')));
    expect(error.code).toBe('EPERM');
    expect(error.errno).toBe(-os.constants.errno.EPERM);
    expect(error.syscall).toBe('lsetxattr');
  });

  it('reports ENOTSUP from a filesystem without xattrs', () => {
    const error = thrown(() => setXattr(Buffer.from('/proc/self/status'), 'user.x', Buffer.from('v')));
    expect(error.code).toBe('ENOTSUP');
    expect(listXattrs(Buffer.from('/proc/self/status'))).toEqual([]);
  });

  /** How long the race tests read while the writer thread has not yet changed anything. */
  const RACE_DEADLINE_MS = 20_000;

  /** Starts a worker thread that runs body in a loop with addon, file, small and large defined. */
  async function startWriter(file: Buffer, body: string): Promise<Worker> {
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const addon = require(workerData.addon);
       const file = Buffer.from(workerData.file);
       const small = Buffer.from('s');
       const large = Buffer.alloc(65536, 0xab);
       parentPort.postMessage('started');
       for (;;) { ${body} }`,
      { eval: true, workerData: { addon: ADDON_FILE, file: file.toString() } },
    );
    await new Promise((resolve) => worker.once('message', resolve));
    return worker;
  }

  it.skipIf(!shmIsTmpfs)('re-reads a value that grows between calls', async () => {
    const file = join(shm, 'xattr-grow');
    fs.writeFileSync(file, 'x');
    setXattr(file, 'user.race', Buffer.from('s'));

    // lgetxattr keeps meeting a value larger than the size it just asked for (ERANGE).
    const worker = await startWriter(
      file,
      `addon.setXattr(file, 'user.race', large); addon.setXattr(file, 'user.race', small);`,
    );
    const sizes = new Set<number>();
    try {
      // The writer thread may not run for a while on a busy machine, so reading goes on
      // until both values were seen or the deadline passes.
      const deadline = Date.now() + RACE_DEADLINE_MS;
      for (let i = 0; i < 5000 || (sizes.size < 2 && Date.now() < deadline); i++) {
        const attrs = listXattrs(file);
        expect(attrs.map((attr) => attr.name)).toEqual(['user.race']);
        const value = attrs[0].value;
        expect(value.equals(Buffer.from('s')) || value.equals(large)).toBe(true);
        sizes.add(value.length);
      }
    } finally {
      await worker.terminate();
    }
    expect([...sizes].sort()).toEqual([1, 65536]);
  });

  it('re-lists attributes that come and go between calls', async () => {
    const file = join(root, 'xattr-names');
    fs.writeFileSync(file, 'x');
    setXattr(file, 'user.keep', Buffer.from('k'));
    const names = Array.from({ length: 16 }, (_, i) => `user.churn-${String(i).padStart(2, '0')}-${'n'.repeat(40)}`);

    // The name list grows between the size query and the read (ERANGE from llistxattr), and
    // attributes vanish between llistxattr and lgetxattr (ENODATA).
    const worker = await startWriter(
      file,
      `for (const name of ${JSON.stringify(names)}) addon.setXattr(file, name, small);
       for (const name of ${JSON.stringify(names)}) addon.removeXattr(file, name);`,
    );
    const counts = new Set<number>();
    try {
      const deadline = Date.now() + RACE_DEADLINE_MS;
      for (let i = 0; i < 20000 || (counts.size < 3 && Date.now() < deadline); i++) {
        const attrs = listXattrs(file);
        const listed = attrs.map((attr) => attr.name);
        expect(listed).toEqual([...listed].sort());
        expect(attrs.find((attr) => attr.name === 'user.keep')?.value.toString()).toBe('k');
        for (const attr of attrs.filter((attr) => attr.name !== 'user.keep')) {
          expect(names).toContain(attr.name);
          expect(attr.value.toString()).toBe('s');
        }
        counts.add(attrs.length);
      }
    } finally {
      await worker.terminate();
    }
    expect(counts.size).toBeGreaterThan(2);
  });
});

describe('makeDevice and makeFifo', () => {
  it('creates nodes with the given permission bits', () => {
    const dir = freshDir('nodes');
    const previous = process.umask(0);
    try {
      makeDevice(join(dir, 'null'), 'char', 0o666, 1, 3);
      makeDevice(join(dir, 'loop'), 'block', 0o640, 7, 1);
      makeFifo(join(dir, 'fifo'), 0o600);
    } finally {
      process.umask(previous);
    }

    expect(lstatPath(join(dir, 'null'))).toMatchObject({ type: 'char', mode: 0o666, rdevMajor: 1, rdevMinor: 3 });
    expect(lstatPath(join(dir, 'loop'))).toMatchObject({ type: 'block', mode: 0o640, rdevMajor: 7, rdevMinor: 1 });
    expect(lstatPath(join(dir, 'fifo'))).toMatchObject({ type: 'fifo', mode: 0o600 });
    expect(fs.lstatSync(path.join(dir, 'fifo')).isFIFO()).toBe(true);
  });

  it('throws EEXIST for an existing path', () => {
    const error = thrown(() => makeFifo(join(root), 0o600));
    expect(error.code).toBe('EEXIST');
    expect(error.syscall).toBe('mkfifo');
  });

  it('rejects a mode beyond 0o7777', () => {
    const error = thrown(() => makeFifo(join(root, 'bad-mode'), 0o10000));
    expect(error).toBeInstanceOf(RangeError);
  });
});

describe('inflateExact', () => {
  const content = Buffer.from('tree 1234\0'.repeat(500));
  const deflated = zlib.deflateSync(content);

  it.each([
    ['some content', content],
    ['empty content', Buffer.alloc(0)],
    ['content of 100 KiB', Buffer.alloc(100 * 1024, 7)],
  ])('returns %s as zlib.inflateSync does', (_name, data) => {
    expect(inflateExact(zlib.deflateSync(data), data.length).equals(data)).toBe(true);
  });

  it('ignores bytes after the stream', () => {
    const input = Buffer.concat([deflated, Buffer.from('next entry of the pack')]);
    expect(inflateExact(input, content.length).equals(content)).toBe(true);
  });

  it('reads a view into a larger buffer', () => {
    const larger = Buffer.concat([Buffer.from('header'), deflated]);
    expect(inflateExact(larger.subarray(6), content.length).equals(content)).toBe(true);
  });

  it.each([
    ['a size too small', deflated, content.length - 1],
    ['a size too large', deflated, content.length + 1],
    ['a stream cut short', deflated.subarray(0, deflated.length - 10), content.length],
    ['bytes that are no zlib stream', Buffer.from('not zlib at all'), 15],
  ])('throws Z_DATA_ERROR for %s', (_name, input, size) => {
    const error = thrown(() => inflateExact(input, size));
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('Z_DATA_ERROR');
  });

  it.each([-1, 1.5, Number.NaN])('rejects the size %s', (size) => {
    expect(thrown(() => inflateExact(deflated, size))).toBeInstanceOf(RangeError);
  });

  it('rejects input that is not a Uint8Array', () => {
    expect(thrown(() => inflateExact('zlib' as unknown as Buffer, 4))).toBeInstanceOf(TypeError);
  });
});

describe('unlinkMany', () => {
  it('unlinks every path and reports each failure', async () => {
    const dir = join(root, 'unlink-many');
    fs.mkdirSync(dir);
    const files = Array.from({ length: 40 }, (_, i) => join(dir, `file-${i}`));
    for (const file of files) fs.writeFileSync(file, 'x');
    fs.symlinkSync('file-0', join(dir, 'link'));
    fs.mkdirSync(join(dir, 'sub'));

    const paths = [...files, join(dir, 'link'), join(dir, 'missing'), join(dir, 'sub')];
    const codes = await unlinkMany(paths);

    expect(codes).toEqual([...files.map(() => null), null, 'ENOENT', 'EISDIR']);
    expect(fs.readdirSync(dir)).toEqual(['sub']);
  });

  it('resolves [] for no paths', async () => {
    expect(await unlinkMany([])).toEqual([]);
  });

  it('rejects a path that is not a Buffer', () => {
    expect(thrown(() => unlinkMany(['/tmp/x' as unknown as Buffer]))).toBeInstanceOf(TypeError);
  });
});

describe('fileClockNs', () => {
  it('is never later than a ctime stamped after it', () => {
    // The stat cache depends on this: a change after a scan starts gets a ctime at or after the
    // start. Date.now() fails it for new files, which get a ctime from the coarse clock.
    const dir = freshDir('file-clock');
    for (let i = 0; i < 1000; i++) {
      const file = path.join(dir, String(i));
      const before = fileClockNs();
      fs.writeFileSync(file, '');
      const ctimeNs = fs.statSync(file, { bigint: true }).ctimeNs;
      expect(ctimeNs >= before, `ctime ${ctimeNs} before ${before}`).toBe(true);
    }
  });

  it('follows the system clock within one second', () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const difference = now - fileClockNs();
    expect(difference < 1_000_000_000n).toBe(true);
    expect(difference > -1_000_000_000n).toBe(true);
  });
});

describe('errors', () => {
  it.each([
    ['lstatPath', () => lstatPath(join(root, 'missing')), 'lstat'],
    ['readDirStat', () => readDirStat(join(root, 'missing')), 'open'],
    ['listXattrs', () => listXattrs(join(root, 'missing')), 'llistxattr'],
    ['setXattr', () => setXattr(join(root, 'missing'), 'user.a', Buffer.from('v')), 'lsetxattr'],
    ['makeFifo', () => makeFifo(join(root, 'missing', 'fifo'), 0o600), 'mkfifo'],
  ])('%s throws a Node-style ENOENT', (_name, call, syscall) => {
    const error = thrown(call);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('ENOENT');
    expect(error.errno).toBe(-os.constants.errno.ENOENT);
    expect(error.syscall).toBe(syscall);
    expect(error.message).toBe(`ENOENT: no such file or directory, ${syscall}`);
  });

  it('rejects a path that is not a Buffer', () => {
    const error = thrown(() => lstatPath('/tmp' as unknown as Buffer));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe('ERR_INVALID_ARG_TYPE');
  });
});
