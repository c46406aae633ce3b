// Walking a rootfs: one readdir+fstatat pass in native code per directory. The directories the
// stat cache lists are read up front, in one native call on a few threads. A child whose stat
// equals the stat cache's takes its entry from the last commit. A directory whose children and
// subdirectories are all unchanged is reused whole, by its subtree ids, without building entries.

import * as fs from 'node:fs';
import { SnapError, ioError, showPath } from '../errors.js';
import { linkedFileKeys, listXattrs, lstatPath, readDirTable, readDirTables, tableCount, toStatInfos, type DirTable, type StatInfo, type StatTable } from '../native/index.js';
import type { ObjectStore } from '../store/objects.js';
import { readSnapshotDir, type SnapshotChild } from '../store/snapshot-read.js';
import { isRacy, sameStat, sameTable, type StatCache } from '../store/stat-cache.js';
import type { Entry } from './entry.js';
import { mountPointsBelow } from './mounts.js';

/** A scanned directory. `entry` is unset for a directory reused whole. */
export interface ScanDir {
  path: Buffer;
  stat: StatInfo;
  entry?: Entry;
  /** Children sorted bytewise by name; empty when the directory is reused, and emptied once its trees are written. */
  children: ScanNode[];
  /** Every subdirectory scanned, also when this directory is reused (for the stat cache). */
  subdirs: ScanDir[];
  /** Subtree ids of the last commit, set when nothing below this directory changed. */
  reuse?: { rootfsOid: string; metaOid?: string };
  /** The directory's stat table and what the cache should keep of it; unset for a mount point. */
  table?: StatTable;
  racy: string[];
  /** Entries scanned at and below this directory, itself included (set on the root only). */
  entries?: number;
  /**
   * "DEV:INO" keys of the files of several links whose entries came from the last commit, at and
   * below this directory (set on the root only). See ScanOptions.distrust.
   */
  linkedFromCache?: Set<string>;
  /** Subtree ids once written (set by buildSnapshot). */
  written?: { rootfsOid: string; metaOid?: string };
  /** True when the stat cache's record of this directory has this same table and no racy names. */
  cacheCurrent?: boolean;
}

/** One scanned child: its name and entry, and the subtree for a directory. */
export interface ScanNode {
  name: Buffer;
  entry: Entry;
  /** "DEV:INO" of a regular file with more than one link; its stat is not kept, to save memory. */
  inode?: string;
  /** The link count of a file with `inode`. */
  nlink?: number;
  dir?: ScanDir;
  /** True when the entry was read from the filesystem now, false when it came from the last commit. */
  fresh: boolean;
}

/** Options of scanTree. */
export interface ScanOptions {
  cache?: StatCache;
  /** Where cached entries are read from. Required with `cache`. */
  objects?: ObjectStore;
  /** Start of the scan in nanoseconds since the epoch (fileClockNs), for the cache's racy-entry rule. */
  scanStartNs: bigint;
  /** Directories never entered or recorded (the store itself when it sits inside the rootfs). */
  exclude?: { dev: bigint; ino: bigint }[];
  onWarning?: (message: string) => void;
  onProgress?: (scanned: number) => void;
  /**
   * Called for every directory below the root that is scanned and not reused, once its children
   * and subdirectories are complete. The scan waits for the returned promise.
   */
  onDir?: (dir: ScanDir) => Promise<void>;
  /**
   * Drop each directory's loaded cache record once it is scanned, to save memory. Leave it unset
   * when the loaded records are needed afterwards (planCheckoutRecord keeps those of unchanged directories).
   */
  releaseCache?: boolean;
  /**
   * "DEV:INO" keys of files of several links to read afresh, wherever they are: their entries do
   * not come from the last commit, and their directories are not reused. A file's link target is
   * the first path of its hardlink set, which a renamed directory of another member changes
   * without changing this file's stat.
   */
  distrust?: Set<string>;
}

interface ScanState {
  root: Buffer;
  options: ScanOptions;
  count: number;
  /** Tables read ahead, by latin1 path. Each is taken out when its directory is scanned. */
  readAhead: Map<string, DirTable>;
  /** Mount points below the root (latin1 paths), bind mounts of the same filesystem included. */
  mountPoints: Set<string>;
  /** See ScanDir.linkedFromCache. */
  linkedFromCache: Set<string>;
}

/** Reports whether the directory `info` at `path` is a mount point, which a scan never enters. */
function isMountPoint(state: ScanState, parent: StatInfo, path: Buffer, info: StatInfo): boolean {
  return info.dev !== parent.dev || (state.mountPoints.size > 0 && state.mountPoints.has(path.toString('latin1')));
}

function absolute(root: Buffer, path: Buffer): Buffer {
  return path.length === 0 ? root : Buffer.concat([root, Buffer.from('/'), path]);
}

/**
 * Joins a directory path and a child name. With `own`, the result has memory of its own: a path
 * kept as long as the scan would otherwise keep a whole 8 KiB slab of Buffer's pool alive.
 */
function childPath(dir: Buffer, name: Buffer, own = false): Buffer {
  if (dir.length === 0) return name;
  const length = dir.length + 1 + name.length;
  const path = own ? Buffer.allocUnsafeSlow(length) : Buffer.allocUnsafe(length);
  dir.copy(path, 0);
  path[dir.length] = 0x2f;
  name.copy(path, dir.length + 1);
  return path;
}

/**
 * Scans the tree at `root` (an absolute path) and returns the root directory. Content ids of
 * fresh regular files are left unset for the caller to compute. Sockets are skipped with a
 * warning; directories on another filesystem are recorded but not entered.
 */
export async function scanTree(root: Buffer, options: ScanOptions): Promise<ScanDir> {
  let rootStat: StatInfo;
  try {
    rootStat = lstatPath(root);
  } catch (error) {
    throw ioError('reading rootfs', root, error);
  }
  if (rootStat.type !== 'dir') throw new SnapError('USAGE', `rootfs '${showPath(root)}' is not a directory`);

  // The root's own record sits in the root metadata blob, so the root is reused only when its
  // own stat is unchanged too.
  const mountPoints = mountPointsBelow(root);
  const state: ScanState = { root, options, count: 0, readAhead: await readAhead(root, options.cache, options.releaseCache ?? false), mountPoints, linkedFromCache: new Set() };
  const rootUnchanged = options.cache?.rootUnchanged(rootStat) ?? false;
  const scan = await scanDir(state, Buffer.alloc(0), rootStat, rootUnchanged);
  if (!scan.reuse) {
    const cachedRoot = rootUnchanged ? options.cache!.dir(Buffer.alloc(0)) : undefined;
    if (cachedRoot) scan.entry = (await readSnapshotDir(options.objects!, { path: Buffer.alloc(0), ...cachedRoot })).self;
    scan.entry ??= entryFromStat(root, Buffer.alloc(0), rootStat);
  }
  scan.entries = state.count + 1;
  scan.linkedFromCache = state.linkedFromCache;
  return scan;
}

/**
 * Reads the tables of every directory in the cache, which on an unchanged tree are all the
 * directories the scan will enter. The reads run off the JS thread, which is free for other work
 * until they finish. Directories that fail to read are left out. With `release`,
 * the cache drops each loaded table that the native code has already compared entry by entry, so
 * a scan of a changed tree does not keep the whole loaded cache besides the new tables.
 */
async function readAhead(root: Buffer, cache: StatCache | undefined, release: boolean): Promise<Map<string, DirTable>> {
  const tables = new Map<string, DirTable>();
  if (!cache) return tables;
  const dirs = cache.allDirs();
  const read = await readDirTables(dirs.map(({ path }) => absolute(root, path)), dirs.map(({ dir }) => dir.table));
  read.forEach((table, i) => {
    if (!table) return;
    tables.set(dirs[i].path.toString('latin1'), table);
    if (release && table.match) cache.releaseTable(dirs[i].path);
  });
  return tables;
}

/**
 * Returns the stat table of the directory at `path` whose stat is `stat`: the one read ahead
 * when it is of that same directory (device and inode), else one read now, without `match`.
 */
function dirTable(state: ScanState, path: Buffer, stat: StatInfo): { table: StatTable; match?: Int32Array } {
  const key = path.toString('latin1');
  const early = state.readAhead.get(key);
  if (early) {
    state.readAhead.delete(key);
    if (early.dev === stat.dev && early.ino === stat.ino) return early;
  }
  const abs = absolute(state.root, path);
  try {
    return { table: readDirTable(abs) };
  } catch (error) {
    throw ioError('reading directory', abs, error);
  }
}

/** The cached state that scanDir compares each child of a changed directory with. */
interface CachedChildren {
  /** The read-ahead comparison of the directory's table, by row (see DirTable). */
  match?: Int32Array;
  /** Names the cache did not trust (racy), when there are any. */
  racy?: Set<string>;
}

/**
 * Reports whether a child's stat equals the one the cache recorded, and the cache trusts it
 * (it was not racy). `row` is the child's index in the directory's table.
 */
function cachedStatValid(cache: StatCache, path: Buffer, children: CachedChildren, row: number, info: StatInfo): boolean {
  if (!children.match) {
    const previous = cache.childStat(path, info.name);
    return previous !== undefined && sameStat(previous, info);
  }
  return children.match[row] >= 0 && !children.racy?.has(info.name.toString('latin1'));
}

async function scanDir(state: ScanState, path: Buffer, stat: StatInfo, allowReuse = true): Promise<ScanDir> {
  const { root, options } = state;
  const { table, match } = dirTable(state, path, stat);
  const cached = options.cache?.dir(path);
  const distrust = options.distrust && options.distrust.size > 0 ? options.distrust : undefined;
  const unchanged = cached?.table !== undefined && cached.racy.length === 0 && sameTable(cached.table, table) &&
    !(distrust && linkedFileKeys(table).some((key) => distrust.has(key)));
  const dir: ScanDir = { path, stat, children: [], subdirs: [], table, racy: [], cacheCurrent: unchanged };

  // Fast path: with every child stat unchanged, only subdirectories need a look. If they are all
  // unchanged too, the directory is reused without building an object per child.
  const scannedSubdirs = new Map<string, ScanDir>();
  if (unchanged && allowReuse && cached) {
    let allReused = true;
    for (const info of toStatInfos(table, 'dir').sort((a, b) => Buffer.compare(a.name, b.name))) {
      if (options.exclude?.some((skip) => skip.dev === info.dev && skip.ino === info.ino)) continue;
      const path2 = childPath(path, info.name, true);
      if (isMountPoint(state, stat, path2, info)) {
        allReused = false;
        continue;
      }
      const sub = await scanDir(state, path2, info);
      scannedSubdirs.set(info.name.toString('latin1'), sub);
      if (!sub.reuse) allReused = false;
    }
    if (allReused) {
      state.count += tableCount(table);
      for (const key of linkedFileKeys(table)) state.linkedFromCache.add(key);
      dir.subdirs = [...scannedSubdirs.values()];
      dir.reuse = { rootfsOid: cached.rootfsOid, metaOid: cached.metaOid };
      if (options.releaseCache) options.cache?.forget(path);
      return dir;
    }
  }
  // Children in name order. Each keeps its row in the table, which indexes `match`.
  const infos = toStatInfos(table);
  const order = infos.map((_, row) => row).sort((a, b) => Buffer.compare(infos[a].name, infos[b].name));
  const children: CachedChildren = { match, racy: cached && cached.racy.length > 0 ? new Set(cached.racy) : undefined };

  // Which children are unchanged since the last commit, and the subdirectories below them.
  const kept: { info: StatInfo; valid: boolean; sub?: ScanDir; linkKey?: string }[] = [];
  let reusable = unchanged && allowReuse;
  for (const row of order) {
    const info = infos[row];
    const name = info.name;
    if (info.type === 'socket') {
      options.onWarning?.(`skipping socket '${showPath(childPath(path, name))}': sockets cannot be recorded`);
      continue;
    }
    if (options.exclude?.some((skip) => skip.dev === info.dev && skip.ino === info.ino)) continue;
    if (isRacy(info, options.scanStartNs)) dir.racy.push(name.toString('latin1'));

    const linkKey = info.type === 'file' && info.nlink > 1 ? `${info.dev}:${info.ino}` : undefined;
    const valid = (unchanged || (cached !== undefined && cachedStatValid(options.cache!, path, children, row, info))) &&
      !(linkKey !== undefined && distrust?.has(linkKey));
    if (!valid) reusable = false;

    let sub: ScanDir | undefined;
    if (info.type === 'dir') {
      const path2 = childPath(path, name, true);
      if (isMountPoint(state, stat, path2, info)) {
        options.onWarning?.(`not entering '${showPath(path2)}': it is a mount point`);
        sub = { path: path2, stat: info, children: [], subdirs: [], racy: [] };
        reusable = false;
      } else {
        sub = scannedSubdirs.get(name.toString('latin1')) ?? (await scanDir(state, path2, info));
        if (!sub.reuse) reusable = false;
      }
    }
    if (sub) dir.subdirs.push(sub);
    kept.push({ info, valid, sub, linkKey });
    state.count += 1;
    if (state.count % 1000 === 0) options.onProgress?.(state.count);
  }

  if (reusable && cached) {
    for (const { linkKey } of kept) {
      if (linkKey !== undefined) state.linkedFromCache.add(linkKey);
    }
    dir.reuse = { rootfsOid: cached.rootfsOid, metaOid: cached.metaOid };
    if (options.releaseCache) options.cache?.forget(path);
    return dir;
  }

  // Entries: from the last commit where the stat is unchanged, read now where it is not.
  let previousEntries: Map<string, SnapshotChild> | undefined;
  if (cached && kept.some((child) => child.valid)) {
    const listing = await readSnapshotDir(options.objects!, { path, rootfsOid: cached.rootfsOid, metaOid: cached.metaOid });
    previousEntries = new Map(listing.children.map((child) => [child.name.toString('latin1'), child]));
  }
  for (const { info, valid, sub, linkKey } of kept) {
    const name = info.name;
    const old = valid ? previousEntries?.get(name.toString('latin1')) : undefined;
    const entry = old && old.entry.type === info.type ? old.entry : entryFromStat(root, childPath(path, name), info);
    if (sub) sub.entry = entry;
    const node: ScanNode = { name, entry, dir: sub, fresh: entry !== old?.entry };
    if (linkKey !== undefined) {
      node.inode = linkKey;
      node.nlink = info.nlink;
      if (!node.fresh) state.linkedFromCache.add(linkKey);
    }
    dir.children.push(node);
  }
  if (options.releaseCache) options.cache?.forget(path);
  if (path.length > 0) await options.onDir?.(dir);
  return dir;
}

/** Builds an entry from a fresh stat, reading xattrs and symlink targets. */
function entryFromStat(root: Buffer, path: Buffer, stat: StatInfo): Entry {
  const full = absolute(root, path);
  const entry: Entry = {
    path,
    type: stat.type as Entry['type'],
    mode: stat.mode,
    uid: stat.uid,
    gid: stat.gid,
    mtimeNs: stat.mtimeNs,
    size: stat.type === 'file' ? stat.size : 0,
    xattrs: [],
  };
  try {
    entry.xattrs = listXattrs(full);
  } catch (error) {
    throw ioError('reading extended attributes of', full, error);
  }
  if (stat.type === 'symlink') {
    try {
      entry.target = fs.readlinkSync(full, { encoding: 'buffer' });
    } catch (error) {
      throw ioError('reading symlink', full, error);
    }
    entry.size = entry.target.length;
  }
  if (stat.type === 'char' || stat.type === 'block') {
    entry.rdevMajor = stat.rdevMajor;
    entry.rdevMinor = stat.rdevMinor;
  }
  return entry;
}
