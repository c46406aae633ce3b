// Walking a rootfs: one readdir+lstat pass in native code per directory, entries built from the
// stat cache where their stat is unchanged, and from xattr and readlink calls where it is not.

import * as fs from 'node:fs';
import { SnapError, ioError, showPath } from '../errors.js';
import { listXattrs, lstatPath, readDirStat, type StatInfo } from '../native/index.js';
import type { StatCache } from '../store/stat-cache.js';
import type { Entry } from './entry.js';

/** A directory of a scanned tree, with its children sorted bytewise by name. */
export interface ScanDir {
  entry: Entry;
  stat: StatInfo;
  children: ScanNode[];
}

/** One scanned child: its name, its entry, its stat, and the subtree when it is a directory. */
export interface ScanNode {
  name: Buffer;
  entry: Entry;
  stat: StatInfo;
  dir?: ScanDir;
  /** True when the entry came from the stat cache and its content id is known. */
  cached: boolean;
}

/** Options of scanTree. */
export interface ScanOptions {
  cache?: StatCache;
  /** Directories never entered or recorded (the store itself when it sits inside the rootfs). */
  exclude?: { dev: bigint; ino: bigint }[];
  onWarning?: (message: string) => void;
  onProgress?: (scanned: number) => void;
}

/** Joins a parent path and a child name into an absolute byte path. */
function absolute(root: Buffer, path: Buffer): Buffer {
  return path.length === 0 ? root : Buffer.concat([root, Buffer.from('/'), path]);
}

/**
 * Scans the tree at `root` (an absolute path) and returns the root directory node. Content ids of
 * regular files not answered by the cache are left unset for the caller to compute. Sockets are
 * skipped with a warning; directories on another filesystem are recorded but not entered.
 */
export function scanTree(root: Buffer, options: ScanOptions = {}): ScanDir {
  let rootStat: StatInfo;
  try {
    rootStat = lstatPath(root);
  } catch (error) {
    throw ioError('reading rootfs', root, error);
  }
  if (rootStat.type !== 'dir') {
    throw new SnapError('USAGE', `rootfs '${showPath(root)}' is not a directory`);
  }
  const state = { count: 0 };
  const rootEntry = entryFromStat(root, Buffer.alloc(0), rootStat, options.cache);
  return scanDir(root, rootEntry, rootStat, options, state);
}

function scanDir(root: Buffer, entry: Entry, stat: StatInfo, options: ScanOptions, state: { count: number }): ScanDir {
  const dirPath = absolute(root, entry.path);
  let stats: StatInfo[];
  try {
    stats = readDirStat(dirPath);
  } catch (error) {
    throw ioError('reading directory', dirPath, error);
  }
  stats.sort((a, b) => Buffer.compare(a.name, b.name));

  const children: ScanNode[] = [];
  for (const child of stats) {
    const path = entry.path.length === 0 ? child.name : Buffer.concat([entry.path, Buffer.from('/'), child.name]);
    if (child.type === 'socket') {
      options.onWarning?.(`skipping socket '${showPath(path)}': sockets cannot be recorded`);
      continue;
    }
    if (options.exclude?.some((skip) => skip.dev === child.dev && skip.ino === child.ino)) continue;

    const cachedEntry = options.cache?.lookup(path, child);
    const childEntry = cachedEntry ? { ...cachedEntry, path, xattrs: cachedEntry.xattrs } : entryFromStat(root, path, child, undefined);
    const node: ScanNode = { name: child.name, entry: childEntry, stat: child, cached: cachedEntry !== undefined };
    state.count += 1;
    if (state.count % 1000 === 0) options.onProgress?.(state.count);

    if (child.type === 'dir') {
      if (child.dev !== stat.dev) {
        options.onWarning?.(`not entering '${showPath(path)}': it is a mount point of another filesystem`);
        node.dir = { entry: childEntry, stat: child, children: [] };
      } else {
        node.dir = scanDir(root, childEntry, child, options, state);
      }
    }
    children.push(node);
  }
  return { entry, stat, children };
}

/** Builds an entry from a fresh stat, reading xattrs and symlink targets. */
function entryFromStat(root: Buffer, path: Buffer, stat: StatInfo, cache: StatCache | undefined): Entry {
  const cached = cache?.lookup(path, stat);
  if (cached) return { ...cached, path };
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
