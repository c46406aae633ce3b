// Typed access to snap_native, the project's Node-API addon for the Linux calls Node's fs lacks.

import { createRequire } from 'node:module';
import { SnapError } from '../errors.js';

/** The metadata of one filesystem entry, from lstat or fstatat without following a final symlink. */
export interface StatInfo {
  /** The entry name bytes (readDirStat) or the full path given (lstatPath). */
  name: Buffer;
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  /** st_mode & 0o7777: permission, setuid, setgid and sticky bits. */
  mode: number;
  uid: number;
  gid: number;
  /** st_size in bytes, exact up to 2^53. */
  size: number;
  dev: bigint;
  ino: bigint;
  nlink: number;
  /** st_mtim in nanoseconds since the Unix epoch. */
  mtimeNs: bigint;
  /** st_ctim in nanoseconds since the Unix epoch. */
  ctimeNs: bigint;
  /** major() of st_rdev for character and block devices, and 0 for every other type. */
  rdevMajor: number;
  /** minor() of st_rdev for character and block devices, and 0 for every other type. */
  rdevMinor: number;
}

/**
 * The flat form in which the addon returns stat results; native/snap_native.c describes it.
 * The field indexes below must match its F_* and B_* enums, and TYPES its type codes.
 */
export interface StatTable {
  names: Buffer;
  numbers: Float64Array;
  bigints: BigUint64Array;
}

const NUMBER_FIELDS = 12;
const F_TYPE = 0, F_MODE = 1, F_UID = 2, F_GID = 3, F_SIZE = 4, F_NLINK = 5, F_RDEV_MAJOR = 6;
const F_RDEV_MINOR = 7, F_NAME_END = 8, F_WIDE = 9, F_MTIME_NSEC = 10, F_CTIME_NSEC = 11;
const BIGINT_FIELDS = 4;
const B_DEV = 0, B_INO = 1, B_MTIME = 2, B_CTIME = 3;
const WIDE_MTIME = 1, WIDE_CTIME = 2;
const TYPES: readonly StatInfo['type'][] = ['file', 'dir', 'symlink', 'char', 'block', 'fifo', 'socket'];
/** The code of a regular file in the F_TYPE field (its index in TYPES). */
const TYPE_FILE = 0;

const NS_PER_SECOND = 1_000_000_000n;

/** The functions of native/snap_native.c as the addon exports them. */
interface Addon {
  readDirStat(dir: Buffer): StatTable;
  readDirTables(dirs: Buffer[], expected?: (StatTable | undefined)[]): Promise<((Partial<StatTable> & { dev: bigint; ino: bigint; match?: Int32Array }) | null)[]>;
  lstatPath(path: Buffer): StatTable;
  openBeneath(root: Buffer, relative: Buffer): number;
  listXattrs(path: Buffer): { name: string; value: Buffer }[];
  setXattr(path: Buffer, name: string, value: Buffer): void;
  removeXattr(path: Buffer, name: string): void;
  makeDevice(path: Buffer, type: 'char' | 'block', mode: number, major: number, minor: number): void;
  makeFifo(path: Buffer, mode: number): void;
  setTimes(path: Buffer, atimeSec: bigint, atimeNsec: number, mtimeSec: bigint, mtimeNsec: number): void;
  hashFiles(paths: Buffer[], sizes: number[], mode: number, objectsDir: string, out?: Buffer): Promise<HashFilesReply>;
  gzipMember(data: Uint8Array, level: number, output: Uint8Array): Promise<number>;
  gzipInfo(): GzipInfo;
  gzipBound(length: number): number;
  fixMallocThresholds(): void;
  inflateExact(input: Uint8Array, size: number): Buffer;
  unlinkMany(paths: Buffer[]): Promise<(string | null)[]>;
  fileClockNs(): bigint;
  unmatchedTreeNames(a: Uint8Array, b: Uint8Array): string | null;
  unmatchedMetaNames(a: Uint8Array, b: Uint8Array): string;
  findTreeEntries(tree: Uint8Array, names: Uint8Array): Int32Array | null;
  findMetaLines(blob: Uint8Array, fields: Uint8Array): Int32Array;
}

/** The library that gzipMember compresses with, chosen when the addon was built, and its top level. */
export interface GzipInfo {
  library: 'libdeflate' | 'zlib';
  /** 12 for libdeflate, 9 for zlib; the lowest level is 1. */
  maxLevel: number;
}

/** The work hashFiles does with each file besides hashing it. */
export type HashMode = 'hash' | 'pack' | 'loose';

const HASH_MODES: Record<HashMode, number> = { hash: 0, pack: 1, loose: 2 };

/** The result of hashFiles, item by item in the order of the paths given. */
export interface HashFilesReply {
  /** The 20-byte blob ids, one after another; an item that failed has zeros. */
  oids: Buffer;
  /**
   * In 'pack' mode, each file's content deflated (zlib format): a view of `out` where it fit, else
   * a Buffer of its own. null in the other modes.
   */
  data: (Uint8Array | null)[];
  /** null, or the failure: `code` is an errno name or 'ECHANGED' (the size differed from the one given). */
  errors: ({ code: string; message: string } | null)[];
}

// Relative to this file, which is dist/native/index.js when compiled and src/native/index.ts under
// vitest. Both sit two levels below the package root.
const ADDON_PATH = '../../native/build/Release/snap_native.node';

let addon: Addon | undefined;

/** Loads the addon on first use, so that importing this module never fails. */
function loadAddon(): Addon {
  if (addon !== undefined) return addon;
  const require = createRequire(import.meta.url);
  try {
    addon = require(ADDON_PATH) as Addon;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') {
      throw new SnapError('NATIVE', "native addon not built; run 'npm install' (needs g++ and make)", { cause });
    }
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new SnapError('NATIVE', `native addon failed to load: ${detail}; run 'npm install' to rebuild it`, {
      cause,
    });
  }
  return addon;
}

/**
 * Turns the addon's stat table into StatInfo objects, of every entry or only of entries of type
 * `only`. Each name is a view into table.names.
 */
export function toStatInfos(table: StatTable, only?: StatInfo['type']): StatInfo[] {
  const { names, numbers, bigints } = table;
  const signed = new BigInt64Array(bigints.buffer, bigints.byteOffset, bigints.length);
  const count = numbers.length / NUMBER_FIELDS;
  const infos: StatInfo[] = [];
  let nameStart = 0;

  for (let i = 0; i < count; i++) {
    const n = i * NUMBER_FIELDS;
    const b = i * BIGINT_FIELDS;
    const nameEnd = numbers[n + F_NAME_END];
    const wide = numbers[n + F_WIDE];
    if (only !== undefined && TYPES[numbers[n + F_TYPE]] !== only) {
      nameStart = nameEnd;
      continue;
    }
    infos.push({
      name: names.subarray(nameStart, nameEnd),
      type: TYPES[numbers[n + F_TYPE]],
      mode: small(numbers[n + F_MODE]),
      uid: small(numbers[n + F_UID]),
      gid: small(numbers[n + F_GID]),
      size: small(numbers[n + F_SIZE]),
      dev: bigints[b + B_DEV],
      ino: bigints[b + B_INO],
      nlink: small(numbers[n + F_NLINK]),
      mtimeNs: wide & WIDE_MTIME ? wideNs(signed[b + B_MTIME], numbers[n + F_MTIME_NSEC]) : signed[b + B_MTIME],
      ctimeNs: wide & WIDE_CTIME ? wideNs(signed[b + B_CTIME], numbers[n + F_CTIME_NSEC]) : signed[b + B_CTIME],
      rdevMajor: small(numbers[n + F_RDEV_MAJOR]),
      rdevMinor: small(numbers[n + F_RDEV_MINOR]),
    });
    nameStart = nameEnd;
  }
  return infos;
}

/**
 * Reads the files on one of libuv's threads and computes each one's Git blob id. In 'pack' mode it
 * also returns the content deflated for a pack entry; in 'loose' mode it stores each object as
 * `objectsDir`/xx/yyyy unless present. A file whose length differs from its size in `sizes` fails
 * with 'ECHANGED'. Failures are per item, in the reply; the promise rejects only on bad arguments.
 * Deflated data is copied into `out` while it has room. The caller must not touch `out` until the
 * promise settles, and the views in the reply are valid until `out` is reused.
 */
export function hashFiles(paths: Buffer[], sizes: number[], mode: HashMode, objectsDir: string, out?: Buffer): Promise<HashFilesReply> {
  return loadAddon().hashFiles(paths, sizes, HASH_MODES[mode], objectsDir, out);
}

/**
 * Compresses `data` at `level` into one complete gzip member at the start of `output` on libuv's
 * thread pool, and returns the member's length. An output of gzipBound(data.length) bytes always
 * has room. The member has MTIME 0 and no file name, so equal input gives equal output with one
 * build of the addon. Neither buffer may change until the promise settles.
 */
export function gzipMember(data: Uint8Array, level: number, output: Uint8Array): Promise<number> {
  return loadAddon().gzipMember(data, level, output);
}

/** Returns the size of an output buffer that any gzip member of `length` input bytes fits in. */
export function gzipBound(length: number): number {
  return loadAddon().gzipBound(length);
}

/** Returns the library that gzipMember uses and its top level. */
export function gzipInfo(): GzipInfo {
  return loadAddon().gzipInfo();
}

/** Reports whether a stat table lists a regular file with more than one link, without building StatInfo objects. */
export function hasLinkedFiles(table: StatTable): boolean {
  const { numbers } = table;
  for (let n = 0; n < numbers.length; n += NUMBER_FIELDS) {
    if (numbers[n + F_NLINK] > 1 && numbers[n + F_TYPE] === TYPE_FILE) return true;
  }
  return false;
}

/** Returns the "DEV:INO" keys of a stat table's regular files with more than one link. */
export function linkedFileKeys(table: StatTable): string[] {
  const { numbers, bigints } = table;
  const keys: string[] = [];
  for (let n = 0, b = 0; n < numbers.length; n += NUMBER_FIELDS, b += BIGINT_FIELDS) {
    if (numbers[n + F_NLINK] > 1 && numbers[n + F_TYPE] === TYPE_FILE) keys.push(`${bigints[b + B_DEV]}:${bigints[b + B_INO]}`);
  }
  return keys;
}

/**
 * Returns the names, as latin1 strings, of the entries whose ctime or mtime is at or after
 * `limitNs`, or after `coarseLimitNs` for an entry whose two times are whole seconds. It builds no
 * StatInfo objects. `coarseLimitNs` must not be later than `limitNs`.
 */
export function namesChangedSince(table: StatTable, limitNs: bigint, coarseLimitNs: bigint): string[] {
  return entriesChangedSince(table, limitNs, coarseLimitNs).map((entry) => entry.name);
}

/** Returns what namesChangedSince picks, each name (latin1) with its ctime and mtime. */
export function entriesChangedSince(table: StatTable, limitNs: bigint, coarseLimitNs: bigint): { name: string; ctimeNs: bigint; mtimeNs: bigint }[] {
  const { names, numbers, bigints } = table;
  const signed = new BigInt64Array(bigints.buffer, bigints.byteOffset, bigints.length);
  const found: { name: string; ctimeNs: bigint; mtimeNs: bigint }[] = [];
  let nameStart = 0;
  for (let n = 0, b = 0; n < numbers.length; n += NUMBER_FIELDS, b += BIGINT_FIELDS) {
    const nameEnd = numbers[n + F_NAME_END];
    const wide = numbers[n + F_WIDE];
    const mtimeNs = wide & WIDE_MTIME ? wideNs(signed[b + B_MTIME], numbers[n + F_MTIME_NSEC]) : signed[b + B_MTIME];
    const ctimeNs = wide & WIDE_CTIME ? wideNs(signed[b + B_CTIME], numbers[n + F_CTIME_NSEC]) : signed[b + B_CTIME];
    // Entries older than the earlier limit, most of them, need no check of their nanoseconds.
    if (ctimeNs >= coarseLimitNs || mtimeNs >= coarseLimitNs) {
      const coarse = ctimeNs % NS_PER_SECOND === 0n && mtimeNs % NS_PER_SECOND === 0n;
      const limit = coarse ? coarseLimitNs : limitNs;
      if (ctimeNs >= limit || mtimeNs >= limit) found.push({ name: names.toString('latin1', nameStart, nameEnd), ctimeNs, mtimeNs });
    }
    nameStart = nameEnd;
  }
  return found;
}

/** Returns the number of entries in a stat table. */
export function tableCount(table: StatTable): number {
  return table.numbers.length / NUMBER_FIELDS;
}

/**
 * Returns an integer read from a Float64Array as a small integer where it fits in 30 bits. V8 keeps
 * small integers inside objects, but gives each double its own heap box, about 16 bytes.
 */
function small(value: number): number {
  return value <= 0x3fffffff ? value | 0 : value;
}

/** Combines seconds and nanoseconds for a time whose nanosecond count exceeds 64 bits. */
function wideNs(seconds: bigint, nanoseconds: number): bigint {
  return seconds * NS_PER_SECOND + BigInt(nanoseconds);
}

/** Splits nanoseconds since the epoch into seconds and nanoseconds in [0, 1e9), flooring. */
function splitNs(ns: bigint): [bigint, number] {
  let seconds = ns / NS_PER_SECOND;
  let rest = ns % NS_PER_SECOND;
  if (rest < 0n) {
    rest += NS_PER_SECOND;
    seconds -= 1n;
  }
  return [seconds, Number(rest)];
}

/**
 * Lists dir and stats every entry except . and .. with fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW),
 * in one native call. Order is unspecified (readdir order). An entry removed between readdir and
 * fstatat is left out. The returned names are views into one Buffer shared by the whole result.
 * Throws a Node-style system error (code, errno, syscall) if dir cannot be read.
 */
export function readDirStat(dir: Buffer): StatInfo[] {
  return toStatInfos(loadAddon().readDirStat(dir));
}

/**
 * Returns readDirStat's result in the addon's flat form, which is cheap to keep and to compare
 * as bytes; toStatInfos turns it into StatInfo objects.
 */
export function readDirTable(dir: Buffer): StatTable {
  return loadAddon().readDirStat(dir);
}

/** A directory's stat table with the device and inode of the directory that was read. */
export interface DirTable {
  table: StatTable;
  dev: bigint;
  ino: bigint;
  /**
   * Set when an expected table was given and differs: for each entry of `table`, the index of the
   * expected entry with the same name and stat, or -1.
   */
  match?: Int32Array;
}

/**
 * Reads many directories as readDirTable does, in one native call that spreads the reads over a
 * few threads off the JS thread. Unlike readDirTable, a symlink is never followed as the last path
 * component. Each result is the directory's table with its own device and inode, or undefined
 * when it could not be read (for whatever reason: call readDirTable on that path to get the
 * error). When a table read equals expected[i] byte for byte, the result's table is that same
 * expected[i] object, which saves copying it out of native memory. Otherwise the result has
 * `match`, which spares the caller comparing the entries again (left out only when the addon
 * could not allocate it).
 *
 * Invalid arguments and a failed allocation throw before anything is read, and the promise rejects
 * only when the addon cannot build its result. The native threads read the expected tables in
 * place, so neither `expected` nor its tables may change, be replaced or be detached until the
 * promise settles.
 */
export function readDirTables(dirs: Buffer[], expected?: (StatTable | undefined)[]): Promise<(DirTable | undefined)[]> {
  // Not an async function, so that invalid arguments throw here rather than reject.
  return loadAddon().readDirTables(dirs, expected).then((reads) => reads.map((read, i) => {
    if (!read) return undefined;
    const table = read.names ? { names: read.names, numbers: read.numbers!, bigints: read.bigints! } : expected![i]!;
    return { table, dev: read.dev, ino: read.ino, ...(read.match ? { match: read.match } : {}) };
  }));
}

/**
 * Fixes glibc malloc's mmap threshold at its initial 128 KiB for the rest of the process, which
 * also fixes its trim threshold (mallopt(3), M_MMAP_THRESHOLD). By default glibc raises both once
 * a large block is freed. Memory freed afterwards in the main heap and in the arenas of the threads
 * that hash files then stays resident. In a commit of 100,000 changed files on glibc 2.36 that was
 * 15-20 MB of peak RSS. This changes the whole process, so the CLI calls it and the library does
 * not. It does nothing outside glibc.
 */
export function fixMallocThresholds(): void {
  loadAddon().fixMallocThresholds();
}

/**
 * Returns the clock that Linux stamps file times from (CLOCK_REALTIME_COARSE), in nanoseconds
 * since the epoch. A file changed after this call gets a ctime at or after the value returned,
 * which the system clock read by Date.now() does not promise: the coarse clock lags it by up to
 * one scheduler tick.
 */
export function fileClockNs(): bigint {
  return loadAddon().fileClockNs();
}

/**
 * Opens `root`/`relative` for reading and returns the file descriptor. No symlink is followed on
 * the way, so a directory replaced by a symlink fails with ELOOP or ENOTDIR instead of leading out
 * of `root`. The file is opened non-blocking, so a FIFO in its place does not block.
 */
export function openBeneath(root: Buffer, relative: Buffer): number {
  return loadAddon().openBeneath(root, relative);
}

/** Returns lstat of one path, never following a final symlink. Its name is a copy of path. */
export function lstatPath(path: Buffer): StatInfo {
  const [info] = toStatInfos(loadAddon().lstatPath(path));
  return info;
}

/**
 * Returns all extended attributes of the path itself (llistxattr + lgetxattr, never following a
 * symlink), sorted by name in byte order. A filesystem without xattr support yields []. An
 * attribute removed between the two calls is left out, and one that changes size is read again.
 * Throws EILSEQ for an attribute name that is not UTF-8, since a string cannot carry it exactly.
 */
export function listXattrs(path: Buffer): { name: string; value: Buffer }[] {
  return loadAddon().listXattrs(path);
}

/** Creates or replaces one extended attribute of the path itself (lsetxattr, flags 0). */
export function setXattr(path: Buffer, name: string, value: Buffer): void {
  loadAddon().setXattr(path, name, value);
}

/** Removes one extended attribute of the path itself (lremovexattr). Throws ENODATA if absent. */
export function removeXattr(path: Buffer, name: string): void {
  loadAddon().removeXattr(path, name);
}

/**
 * Creates a character or block device node (mknod with makedev(major, minor)). mode is the
 * permission bits, which the process umask still masks, so callers chmod afterwards.
 */
export function makeDevice(path: Buffer, type: 'char' | 'block', mode: number, major: number, minor: number): void {
  loadAddon().makeDevice(path, type, mode, major, minor);
}

/** Creates a FIFO (mkfifo). mode is masked by the process umask, so callers chmod afterwards. */
export function makeFifo(path: Buffer, mode: number): void {
  loadAddon().makeFifo(path, mode);
}

/**
 * Sets access and modification times with exact nanoseconds: utimensat(AT_FDCWD, path,
 * [atime, mtime], AT_SYMLINK_NOFOLLOW), so a symlink's own times change, never its target's.
 */
export function setTimes(path: Buffer, atimeNs: bigint, mtimeNs: bigint): void {
  const [atimeSec, atimeNsec] = splitNs(atimeNs);
  const [mtimeSec, mtimeNsec] = splitNs(mtimeNs);
  loadAddon().setTimes(path, atimeSec, atimeNsec, mtimeSec, mtimeNsec);
}

/**
 * Returns the stored names (latin1) of the entries of two Git tree objects that have no identical
 * entry (mode, name and id) in the other, or undefined when either tree is damaged. A name can
 * be listed twice: a subtree on one side and another type on the other. Entries are matched byte
 * for byte, walking both trees in Git's order.
 */
export function unmatchedTreeNames(a: Uint8Array, b: Uint8Array): string[] | undefined {
  const joined = loadAddon().unmatchedTreeNames(a, b);
  if (joined === null) return undefined;
  return joined === '' ? [] : joined.split('\0');
}

/**
 * Returns the name fields (latin1, percent-encoded as written) of the record lines of two
 * metadata blobs that have no identical line in the other, each name once. The first line of
 * each blob, the format header, is skipped without a check.
 */
export function unmatchedMetaNames(a: Uint8Array, b: Uint8Array): string[] {
  const joined = loadAddon().unmatchedMetaNames(a, b);
  return joined === '' ? [] : joined.split('\0');
}

/**
 * Returns, for each stored name (latin1, never empty), the offset in the tree object where the
 * entry of that name starts, or -1 when there is none. Returns undefined when the tree is damaged.
 */
export function findTreeEntries(tree: Uint8Array, names: string[]): Int32Array | undefined {
  return loadAddon().findTreeEntries(tree, Buffer.from(names.join('\0'), 'latin1')) ?? undefined;
}

/**
 * Returns, for each name field (latin1, percent-encoded, never empty), the offset in the metadata blob where
 * the line of that name starts, or -1 when there is none. The header line never matches.
 */
export function findMetaLines(blob: Uint8Array, fields: string[]): Int32Array {
  return loadAddon().findMetaLines(blob, Buffer.from(fields.join('\0'), 'latin1'));
}

/**
 * Inflates the zlib stream at the start of `input` into a new Buffer of `size` bytes, in one
 * synchronous call (zlib.inflateSync builds a stream object per call). Bytes after the end of the
 * stream are ignored. Throws an Error with code Z_DATA_ERROR when the stream is damaged, cut
 * short, or inflates to another number of bytes than `size`.
 */
export function inflateExact(input: Uint8Array, size: number): Buffer {
  return loadAddon().inflateExact(input, size);
}

/**
 * Unlinks every path, in no particular order, on threads of the addon's own. Resolves with null for
 * each path unlinked and the errno code (such as 'ENOENT' or 'EISDIR') for each that was not. One
 * failure does not stop the others.
 */
export function unlinkMany(paths: Buffer[]): Promise<(string | null)[]> {
  return loadAddon().unlinkMany(paths);
}
