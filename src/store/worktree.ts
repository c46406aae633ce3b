// Capturing the rootfs as it is now: scan, then build a snapshot in the store or in memory.

import * as fs from 'node:fs';
import { scanTree, type ScanDir } from '../tree/scan.js';
import { SnapshotBuilder, type BuildProgress, type BuiltSnapshot } from './snapshot-write.js';
import { snapshotRoot, type SnapshotDir } from './snapshot-read.js';
import { StatCache } from './stat-cache.js';
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
  const scanStartNs = BigInt(Date.now()) * 1_000_000n;
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
    });
    built = await builder.finish(scan);
  } catch (error) {
    await builder.abort();
    throw error;
  }

  // A dry capture keeps no reference to the scan, which is large for a large tree.
  const saveCache = options.write ? cacheSaver(store, cache, scan, scanStartNs) : async (): Promise<void> => {};
  return { ...built, root: await snapshotRoot(store.objects, built.tree), saveCache };
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
