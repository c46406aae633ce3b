// Capturing the rootfs as it is now: scan, then build a snapshot in the store or in memory.

import * as fs from 'node:fs';
import { fileClockNs, hasLinkedFiles, lstatPath, readDirTable } from '../native/index.js';
import { scanTree, type ScanDir } from '../tree/scan.js';
import type { Change } from './diff.js';
import { SnapshotBuilder, type BuildProgress, type BuiltSnapshot } from './snapshot-write.js';
import { snapshotRoot, type SnapshotDir } from './snapshot-read.js';
import { StatCache, racyNames } from './stat-cache.js';
import type { Store } from './store.js';

/** Options of captureWorktree. */
export interface CaptureOptions {
  /** Write objects to the store and refresh the stat cache (commit), or only hash (status, diff). */
  write: boolean;
  onWarning?: (message: string) => void;
  onProgress?: (progress: BuildProgress | { phase: 'scan'; done: number }) => void;
}

/** A captured rootfs state. */
export interface Capture extends BuiltSnapshot {
  root: SnapshotDir;
  /** The stat cache as loaded before the scan (recordCheckout refreshes it after a checkout). */
  cache: StatCache;
  /**
   * Saves the refreshed stat cache (a capture with `write` only), so the next capture can skip
   * this one's work. A command that then fails leaves the old cache in place.
   */
  saveCache(): Promise<void>;
}

/**
 * Captures the rootfs of a store as a snapshot tree. The store directory is never part of it.
 * Files whose stat matches the stat cache are not read, and unchanged directories are reused by
 * id. With `write`, objects are stored and `saveCache` keeps what the scan learned.
 */
export async function captureWorktree(store: Store, options: CaptureOptions): Promise<Capture> {
  const cache = await StatCache.load(store.gitdir);
  const storeStat = fs.statSync(store.gitdir, { bigint: true });
  const scanStartNs = fileClockNs();
  const rootBytes = Buffer.from(store.rootfs);
  // Directories are built while the scan goes on, so their entries can be dropped early.
  const builder = new SnapshotBuilder(store.objects, rootBytes, { write: options.write, onProgress: options.onProgress });
  let scan: ScanDir;
  let built: BuiltSnapshot;
  try {
    scan = await scanTree(rootBytes, {
      cache,
      objects: store.objects,
      scanStartNs,
      exclude: [{ dev: storeStat.dev, ino: storeStat.ino }],
      onWarning: options.onWarning,
      onProgress: (done) => options.onProgress?.({ phase: 'scan', done }),
      onDir: (dir) => builder.addDir(dir),
      // A commit saves records from its own scan; a dry capture's loaded records may be kept by recordCheckout.
      releaseCache: options.write,
    });
    built = await builder.finish(scan);
  } catch (error) {
    await builder.abort();
    throw error;
  }

  // A dry capture keeps no reference to the scan, which is large for a large tree.
  const saveCache = options.write ? cacheSaver(store, cache, scan, scanStartNs) : async (): Promise<void> => {};
  return { ...built, root: await snapshotRoot(store.objects, built.tree), cache, saveCache };
}

/**
 * Saves the stat cache as a checkout that applied `changes` left the rootfs, so the next capture
 * reads no file the checkout wrote. Every directory that contains a changed path, or lies above one,
 * gets a fresh stat table and the ids that `findDir` returns for it in the target snapshot.
 * Records of other directories stay as loaded, since the checkout changed nothing in them;
 * records at or below a removed directory are dropped. Call it only after the checkout succeeded.
 */
export async function recordCheckout(store: Store, cache: StatCache, changes: Change[], findDir: (path: Buffer) => Promise<SnapshotDir | undefined>): Promise<void> {
  if (changes.length === 0) return;
  const refreshed = new Map<string, Buffer>();
  const removed = new Set<string>();
  for (const change of changes) {
    if ((change.status === 'D' || change.status === 'T') && change.old?.type === 'dir') removed.add(change.path.toString('latin1'));
  }
  for (const change of changes) {
    // A directory whose own attributes alone changed keeps its table and ids, so only its parents change.
    let dir: Buffer | undefined = change.new?.type === 'dir' && change.status !== 'm' ? change.path : parentOf(change.path);
    // A removed directory, and what was below it, is in no snapshot any more.
    while (dir && isAtOrBelowAny(dir.toString('latin1'), removed)) dir = parentOf(dir);
    while (dir && !refreshed.has(dir.toString('latin1'))) {
      refreshed.set(dir.toString('latin1'), dir);
      dir = parentOf(dir);
    }
  }
  // Every directory holding a file with several links is recorded afresh as well. A record kept
  // from an older scan may distrust a member of a hardlink set (as racy) that a fresh record of
  // another directory trusts. The next commit would then read only that member and record it
  // outside its set.
  for (const { path, dir } of cache.allDirs()) {
    const key = path.toString('latin1');
    if (!refreshed.has(key) && !isAtOrBelowAny(key, removed) && dir.table && hasLinkedFiles(dir.table)) refreshed.set(key, path);
  }
  cache.keepLoaded((key) => !refreshed.has(key) && !isAtOrBelowAny(key, removed));

  // Stats taken from here on are compared with this start, as a scan's are (see RACY_WINDOW_NS).
  const scanStartNs = fileClockNs();
  const root = Buffer.from(store.rootfs);
  const rootStat = lstatPath(root);
  for (const path of refreshed.values()) {
    const ids = await findDir(path);
    if (!ids) continue;
    const abs = path.length === 0 ? root : Buffer.concat([root, Buffer.from('/'), path]);
    const stat = path.length === 0 ? rootStat : lstatPath(abs);
    // A scan never enters a mount point of another filesystem, so it has no record to reuse.
    if (stat.type !== 'dir' || stat.dev !== rootStat.dev) continue;
    const table = readDirTable(abs);
    const racy = racyNames(table, scanStartNs);
    cache.record(path, { table, racy, rootfsOid: ids.rootfsOid, metaOid: ids.metaOid });
  }
  cache.recordRoot(rootStat, scanStartNs);
  await cache.save(store.gitdir);
}

function parentOf(path: Buffer): Buffer | undefined {
  if (path.length === 0) return undefined;
  const slash = path.lastIndexOf(0x2f);
  return slash < 0 ? Buffer.alloc(0) : path.subarray(0, slash);
}

/** Reports whether the directory path `key` is one of `dirs` or lies below one of them. */
function isAtOrBelowAny(key: string, dirs: Set<string>): boolean {
  if (dirs.size === 0) return false;
  for (let end = key.length; end > 0; end = key.lastIndexOf('/', end - 1)) {
    if (dirs.has(key.slice(0, end))) return true;
  }
  return false;
}

/** Returns a function that records every scanned directory in the stat cache and saves it. */
function cacheSaver(store: Store, cache: StatCache, scan: ScanDir, scanStartNs: bigint): () => Promise<void> {
  return async () => {
    // A tree reused whole has exactly the records the cache holds already.
    if (scan.reuse && cache.rootUnchanged(scan.stat)) return;
    const record = (dir: ScanDir): void => {
      // A directory inside a reused one was not written again, but is reused itself.
      const ids = dir.written ?? dir.reuse;
      if (dir.table && ids) {
        cache.record(dir.path, { table: dir.table, racy: dir.racy, ...ids });
      }
      for (const sub of dir.subdirs) record(sub);
    };
    record(scan);
    cache.recordRoot(scan.stat, scanStartNs);
    await cache.save(store.gitdir);
  };
}
