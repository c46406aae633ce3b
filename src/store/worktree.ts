// Capturing the rootfs as it is now: scan, then build a snapshot in the store or in memory.

import * as fs from 'node:fs';
import { fileClockNs, hasLinkedFiles, lstatPath, readDirTables, type StatInfo } from '../native/index.js';
import { scanTree, type ScanDir } from '../tree/scan.js';
import type { Change } from './diff.js';
import { SnapshotBuilder, type BuildProgress, type BuiltSnapshot } from './snapshot-write.js';
import { snapshotRoot, type SnapshotDir } from './snapshot-read.js';
import { StatCache, distrustedAfterCheckout, sameTable, type CachedDir } from './stat-cache.js';
import { tryStoreLock, type Store } from './store.js';

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
  /**
   * Fresh records, by latin1 path, of the directories whose record in the stat cache was missing,
   * out of date or had racy names that are now old enough to trust (a capture without `write`
   * only). A copied or restored rootfs has new inodes and ctimes, so every record is out of date.
   */
  stale: Map<string, CachedDir>;
  /** Stat of the rootfs directory as the scan read it, and the scan's start (see RACY_WINDOW_NS). */
  rootStat: StatInfo;
  scanStartNs: bigint;
}

/**
 * Captures the rootfs of a store as a snapshot tree. The store directory is never part of it.
 * Files whose stat matches the stat cache are not read, and unchanged directories are reused by
 * id. With `write`, objects are stored and `saveCache` keeps what the scan learned.
 */
export async function captureWorktree(store: Store, options: CaptureOptions): Promise<Capture> {
  const first = await captureOnce(store, options);
  // A file's link target is the first path of its hardlink set. A renamed directory changes the
  // paths below it but not their stat, so a set can have fresh members and members whose entries
  // (and link targets) come from the last commit. The capture is then taken again with every
  // member of such sets read afresh.
  const mixed = first.partialSets.filter((key) => first.linkedFromCache.has(key));
  if (mixed.length === 0) return first;
  return captureOnce(store, options, new Set(mixed));
}

async function captureOnce(store: Store, options: CaptureOptions, distrust?: Set<string>): Promise<Capture & { linkedFromCache: Set<string> }> {
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
      // A commit saves records from its own scan; a dry capture's loaded records may be kept by planCheckoutRecord.
      releaseCache: options.write,
      distrust,
    });
    built = await builder.finish(scan);
  } catch (error) {
    await builder.abort();
    throw error;
  }

  // A dry capture keeps no reference to the scan, which is large for a large tree.
  const saveCache = options.write ? cacheSaver(store, cache, scan, scanStartNs) : async (): Promise<void> => {};
  const stale = options.write ? new Map<string, CachedDir>() : staleRecords(cache, scan);
  const linkedFromCache = scan.linkedFromCache ?? new Set<string>();
  return { ...built, root: await snapshotRoot(store.objects, built.tree), cache, saveCache, stale, rootStat: scan.stat, scanStartNs, linkedFromCache };
}

/**
 * Returns the warning for a stat cache that failed to save. The command itself succeeded, because
 * the cache only saves work, and the one left in place still matches the files it describes.
 */
export function cacheNotSaved(error: unknown): string {
  return `the stat cache was not saved (${error instanceof Error ? error.message : String(error)}); the next status or commit reads the changed files again`;
}

/** Collects the fresh records of the scanned directories whose cache record is missing, out of date or racy. */
function staleRecords(cache: StatCache, scan: ScanDir): Map<string, CachedDir> {
  const stale = new Map<string, CachedDir>();
  const visit = (dir: ScanDir): void => {
    const ids = dir.written ?? dir.reuse;
    if (dir.table && ids && !dir.cacheCurrent) {
      const cached = cache.dir(dir.path);
      if (!cached?.table || !sameTable(cached.table, dir.table) || dir.racy.length < cached.racy.length) {
        stale.set(dir.path.toString('latin1'), { table: dir.table, racy: dir.racy, ...ids });
      }
    }
    for (const sub of dir.subdirs) visit(sub);
  };
  visit(scan);
  return stale;
}

/**
 * Saves the stale records of a capture without `write` (status, diff) into the stat cache, so
 * the next capture does not read those files again, as git status refreshes its index. Only
 * directories whose trees are in the store are recorded, because a changed directory's ids exist
 * in memory only, and only those without a file of several links (see saveStale). The save is
 * skipped when another command has the store lock or has replaced the cache file since this
 * capture loaded it. Returns whether the cache was saved. A failure to save is not an error,
 * because the cache left in place still matches the files it describes.
 */
export async function refreshStatCache(store: Store, capture: Capture): Promise<boolean> {
  try {
    return await saveStale(store, capture);
  } catch {
    return false;
  }
}

async function saveStale(store: Store, capture: Capture): Promise<boolean> {
  const stored = (oid: string | undefined): boolean => oid === undefined || store.objects.stored(oid);
  // A directory with a file of several links keeps its old record, as all others of its hardlink
  // set then do: a commit that trusts some members of a set and reads others records the set wrong.
  const records = [...capture.stale].filter(([, record]) => stored(record.rootfsOid) && stored(record.metaOid) && !hasLinkedFiles(record.table));
  if (records.length === 0) return false;
  const { cache } = capture;
  const saved = await tryStoreLock(store, async () => {
    // Another command may have saved the cache since, from a newer state of the rootfs.
    if (!cache.isCurrent(store.gitdir)) return false;
    const fresh = new Map(records);
    cache.keepLoaded((key) => !fresh.has(key));
    for (const [key, record] of records) cache.record(Buffer.from(key, 'latin1'), record);
    // The root's own record is in the root directory's metadata, so its stat goes with that record.
    if (fresh.has('')) cache.recordRoot(capture.rootStat, capture.scanStartNs);
    else cache.keepRoot();
    await cache.save(store.gitdir);
    return true;
  });
  return saved ?? false;
}

/** The directories whose records a checkout refreshes. */
export interface CheckoutRecordPlan {
  refreshed: Buffer[];
}

/**
 * Directories whose stat tables saveCheckoutRecord reads in one native call. The tables of a
 * batch are in memory twice for a moment (in C, then in JS), so a checkout of a large tree reads
 * them a batch at a time.
 */
const RECORD_BATCH = 128;

/**
 * Plans the stat cache of the rootfs as a checkout that applies `changes` leaves it, so the next
 * capture reads no file the checkout wrote. Every directory that contains a changed path, or lies
 * above one, is to get a fresh stat table and its ids in the target snapshot. Other directories
 * keep their records as loaded, or take the fresh ones of `current`, the capture before the
 * checkout, where those were stale. Records at or below a removed directory are dropped. This
 * needs no file of the rootfs, so a checkout runs it while its removals run.
 * saveCheckoutRecord completes it. Returns undefined when nothing changes.
 */
export function planCheckoutRecord(current: Capture, changes: Change[]): CheckoutRecordPlan | undefined {
  const { cache, stale } = current;
  if (changes.length === 0 && stale.size === 0) return undefined;
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
  // The capture's fresh records replace out-of-date ones. A directory the checkout did not change
  // has the same ids in the capture and in the target, so its trees are in the store.
  for (const [key, record] of stale) {
    if (!refreshed.has(key) && !isAtOrBelowAny(key, removed)) cache.record(Buffer.from(key, 'latin1'), record);
  }

  return { refreshed: [...refreshed.values()] };
}

/**
 * Reads the stat tables of the directories that `plan` refreshes, on native threads, and saves
 * the stat cache with the ids that `findDir` gives for them in the target snapshot. `written` has
 * the ctime of each path the checkout changed, right after its last change (see applyChanges).
 * Call it only after the checkout succeeded.
 */
export async function saveCheckoutRecord(store: Store, current: Capture, plan: CheckoutRecordPlan, written: Map<string, bigint>, findDir: (path: Buffer) => Promise<SnapshotDir | undefined>): Promise<void> {
  const { cache } = current;
  // Stats taken from here on are compared with this start, as a scan's are (see RACY_WINDOW_NS).
  const scanStartNs = fileClockNs();
  const root = Buffer.from(store.rootfs);
  const rootStat = lstatPath(root);
  for (let start = 0; start < plan.refreshed.length; start += RECORD_BATCH) {
    const batch: { path: Buffer; ids: SnapshotDir }[] = [];
    for (const path of plan.refreshed.slice(start, start + RECORD_BATCH)) {
      const ids = await findDir(path);
      if (ids) batch.push({ path, ids });
    }
    const tables = await readDirTables(batch.map(({ path }) => (path.length === 0 ? root : Buffer.concat([root, Buffer.from('/'), path]))));
    batch.forEach(({ path, ids }, i) => {
      const read = tables[i];
      // A directory that is gone or not a directory now has no record. A scan never enters a mount
      // point of another filesystem, so it has no record to reuse either.
      if (!read || read.dev !== rootStat.dev) return;
      // Entries changed since the capture other than by the checkout itself are read again next time.
      const racy = distrustedAfterCheckout(read.table, path.toString('latin1'), current.scanStartNs, scanStartNs, written);
      cache.record(path, { table: read.table, racy, rootfsOid: ids.rootfsOid, metaOid: ids.metaOid });
    });
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
