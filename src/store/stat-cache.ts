// The stat cache: for every directory of the last commit, its stat table (names and stats of its
// children, as the native addon returns them) and the ids of its subtrees. A later scan trusts a
// child whose stat is unchanged and reuses a whole subtree whose tables are all unchanged, so only
// changed files are read again (as Git's index does).

import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { entriesChangedSince, namesChangedSince, toStatInfos, type StatInfo, type StatTable } from '../native/index.js';
import { decodeCache, writeCache } from './stat-cache-file.js';

const CACHE_FILE = 'snap-index';
const CACHE_VERSION = 3;

/**
 * A path whose ctime or mtime is this close to the start of the scan that recorded it, or later,
 * may have changed again after it was read without changing its times, so it is read again next
 * time. The start is read from the clock Linux stamps files from (fileClockNs), so a change made
 * after it gets a time at or after it. The window covers filesystems that round times down to a
 * coarser unit: 10 ms covers exFAT's, and one second covers those whose times hold whole seconds
 * (recognised by a zero nanosecond part in both times).
 */
export const RACY_WINDOW_NS = 10_000_000n;
const COARSE_RACY_WINDOW_NS = 1_000_000_000n;

/** What the cache keeps of one directory. */
export interface CachedDir {
  table: StatTable;
  /** Children whose stat was too recent to trust (see RACY_WINDOW_NS). */
  racy: string[];
  rootfsOid: string;
  metaOid?: string;
}

/** A directory record as loaded. Its `table` is unset once releaseTable has dropped it. */
export type LoadedDir = Omit<CachedDir, 'table'> & { table?: StatTable };

/**
 * Reports whether two stat tables are equal byte for byte, so every child has the same name and
 * stat in the same readdir order. A reordered but otherwise equal directory counts as changed.
 */
export function sameTable(a: StatTable, b: StatTable): boolean {
  if (a === b) return true;
  return a.numbers.length === b.numbers.length && a.names.equals(b.names) &&
    bytesOf(a.numbers).equals(bytesOf(b.numbers)) && bytesOf(a.bigints).equals(bytesOf(b.bigints));
}

function bytesOf(array: Float64Array | BigUint64Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

/** Reports whether two stats describe the same unchanged entry (atime aside). */
export function sameStat(a: StatInfo, b: StatInfo): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid &&
    a.type === b.type && a.nlink === b.nlink && a.rdevMajor === b.rdevMajor && a.rdevMinor === b.rdevMinor;
}

/** Returns the names (latin1) of a table's entries that are too recent to trust next time, as isRacy decides. */
export function racyNames(table: StatTable, scanStartNs: bigint): string[] {
  return namesChangedSince(table, scanStartNs - RACY_WINDOW_NS, scanStartNs - COARSE_RACY_WINDOW_NS);
}

/**
 * Returns the names (latin1) of a table's entries to distrust after a checkout. Its capture
 * started at `sinceNs`, and it read this table at `scanStartNs`. Distrusted are the entries that
 * isRacy picks, and those changed since `sinceNs` other than as the checkout left them.
 * `expected` gives the ctime an entry had right after the checkout wrote it. An entry it did not
 * write has none there, so a change to it since the capture read it makes it distrusted too.
 */
export function distrustedAfterCheckout(table: StatTable, dirPath: string, sinceNs: bigint, scanStartNs: bigint, expected: Map<string, bigint>): string[] {
  const names: string[] = [];
  for (const entry of entriesChangedSince(table, sinceNs - RACY_WINDOW_NS, sinceNs - COARSE_RACY_WINDOW_NS)) {
    const path = dirPath === '' ? entry.name : `${dirPath}/${entry.name}`;
    if (isRacy(entry, scanStartNs) || expected.get(path) !== entry.ctimeNs) names.push(entry.name);
  }
  return names;
}

/** Reports whether a stat is too recent to trust next time. */
export function isRacy(stat: Pick<StatInfo, 'ctimeNs' | 'mtimeNs'>, scanStartNs: bigint): boolean {
  const coarse = stat.ctimeNs % 1_000_000_000n === 0n && stat.mtimeNs % 1_000_000_000n === 0n;
  const limit = scanStartNs - (coarse ? COARSE_RACY_WINDOW_NS : RACY_WINDOW_NS);
  return stat.ctimeNs >= limit || stat.mtimeNs >= limit;
}

/** StatCache maps directory paths of the rootfs to what the last commit recorded of them. */
export class StatCache {
  private dirs = new Map<string, LoadedDir>();
  private readonly next = new Map<string, CachedDir>();
  private rootStat?: StatInfo;
  private nextRootStat?: StatInfo;
  private readonly childIndex = new Map<string, Map<string, StatInfo>>();
  /** Device, inode, size and ctime of the cache file as loaded, to tell whether another command replaced it since. */
  private loadedFile?: string;

  /** Number of children answered from the cache since it was loaded. */
  hits = 0;

  /** Returns every directory the cache has, with its path relative to the rootfs. */
  allDirs(): { path: Buffer; dir: LoadedDir }[] {
    return [...this.dirs].map(([key, dir]) => ({ path: Buffer.from(key, 'latin1'), dir }));
  }

  /** Returns what the cache has of a directory, if anything. */
  dir(path: Buffer): LoadedDir | undefined {
    return this.dirs.get(path.toString('latin1'));
  }

  /** Returns the cached stat of one child of a directory, unless it was racy. */
  childStat(dirPath: Buffer, name: Buffer): StatInfo | undefined {
    const key = dirPath.toString('latin1');
    const cached = this.dirs.get(key);
    if (!cached?.table) return undefined;
    let index = this.childIndex.get(key);
    if (!index) {
      index = new Map(toStatInfos(cached.table).map((info) => [info.name.toString('latin1'), info]));
      for (const racy of cached.racy) index.delete(racy);
      this.childIndex.set(key, index);
    }
    return index.get(name.toString('latin1'));
  }

  /**
   * Drops what the cache loaded for a directory that has been scanned, so a scan of a large tree
   * does not keep the old and the new records of every directory at once. The root stays.
   */
  forget(dirPath: Buffer): void {
    if (dirPath.length === 0) return;
    const key = dirPath.toString('latin1');
    this.dirs.delete(key);
    this.childIndex.delete(key);
  }

  /**
   * Drops the loaded stat table of a directory whose children were already compared with it, and
   * keeps the rest of its record. The cache file's memory is freed once no table refers to it.
   * Release nothing that keepLoaded may keep afterwards.
   */
  releaseTable(dirPath: Buffer): void {
    const key = dirPath.toString('latin1');
    const cached = this.dirs.get(key);
    if (cached) cached.table = undefined;
    this.childIndex.delete(key);
  }

  /** Reports whether the rootfs directory's own stat is the recorded one. */
  rootUnchanged(stat: StatInfo): boolean {
    return this.rootStat !== undefined && sameStat(this.rootStat, stat);
  }

  /** Records a directory for the next save. */
  record(path: Buffer, dir: CachedDir): void {
    this.next.set(path.toString('latin1'), dir);
  }

  /** Keeps, for the next save, the loaded record of every directory path for which `keep` returns true. */
  keepLoaded(keep: (path: string) => boolean): void {
    for (const [key, { table, ...record }] of this.dirs) {
      if (table && keep(key)) this.next.set(key, { ...record, table });
    }
  }

  /** Records the rootfs directory's own stat for the next save, unless it is racy. */
  recordRoot(stat: StatInfo, scanStartNs: bigint): void {
    this.nextRootStat = isRacy(stat, scanStartNs) ? undefined : stat;
  }

  /** Keeps the loaded stat of the rootfs directory for the next save. */
  keepRoot(): void {
    this.nextRootStat = this.rootStat;
  }

  /** Reports whether the cache file of a store is still the one this cache was loaded from (or still missing). */
  isCurrent(gitdir: string): boolean {
    return fileIdentity(join(gitdir, CACHE_FILE)) === this.loadedFile;
  }

  /** Loads the cache of a store; a missing, old or unreadable cache is empty (it only saves work). */
  static async load(gitdir: string): Promise<StatCache> {
    const cache = new StatCache();
    let raw: Buffer;
    let fd: number | undefined;
    try {
      // Without O_NONBLOCK, opening a FIFO left in its place would wait for a writer.
      fd = fs.openSync(join(gitdir, CACHE_FILE), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const stat = fs.fstatSync(fd, { bigint: true });
      cache.loadedFile = identityOf(stat);
      // Anything but a regular file (a FIFO, a link to /dev/zero) is no cache, and is replaced at the next save.
      if (!stat.isFile()) return cache;
      // One synchronous read: fsp.readFile reads in 512 KiB chunks, each a thread-pool round trip.
      raw = fs.readFileSync(fd);
    } catch {
      return cache;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    try {
      const contents = decodeCache(CACHE_VERSION, raw);
      if (contents) {
        cache.dirs = new Map(contents.dirs);
        cache.rootStat = contents.root;
      }
    } catch {
      // NOTE: a damaged cache is dropped; the next commit reads every file again and rewrites it.
    }
    return cache;
  }

  /** Replaces the stored cache with what was recorded since load (temp file, then rename). */
  async save(gitdir: string): Promise<void> {
    const target = join(gitdir, CACHE_FILE);
    const temp = `${target}.tmp-${process.pid}`;
    try {
      writeCache(temp, CACHE_VERSION, { root: this.nextRootStat, dirs: [...this.next] });
      await fsp.rename(temp, target);
    } catch (error) {
      fs.rmSync(temp, { force: true });
      throw error;
    }
  }
}

function identityOf(stat: fs.BigIntStats): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.ctimeNs}`;
}

/** Returns the identity of a file (see identityOf), or undefined when it does not exist. */
function fileIdentity(path: string): string | undefined {
  try {
    return identityOf(fs.statSync(path, { bigint: true }));
  } catch {
    return undefined;
  }
}
