// Capturing the rootfs as it is now: scan, then build a snapshot in the store or in memory.

import * as fs from 'node:fs';
import { scanTree } from '../tree/scan.js';
import { buildSnapshot, type BuildProgress, type BuiltSnapshot } from './snapshot-write.js';
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
}

/**
 * Captures the rootfs of a store as a snapshot tree. The store directory is never part of it.
 * Files whose stat matches the stat cache are not read. With `write`, the cache is saved afterwards
 * so the next capture can skip this one's files.
 */
export async function captureWorktree(store: Store, options: CaptureOptions): Promise<Capture> {
  const cache = await StatCache.load(store.gitdir);
  const storeStat = fs.statSync(store.gitdir, { bigint: true });
  const scanStartNs = BigInt(Date.now()) * 1_000_000n;
  const rootBytes = Buffer.from(store.rootfs);
  const scan = scanTree(rootBytes, {
    cache,
    exclude: [{ dev: storeStat.dev, ino: storeStat.ino }],
    onWarning: options.onWarning,
    onProgress: (done) => options.onProgress?.({ phase: 'scan', done }),
  });
  const built = await buildSnapshot(store.objects, rootBytes, scan, { write: options.write, onProgress: options.onProgress });

  if (options.write) {
    const record = (dir: typeof scan): void => {
      for (const child of dir.children) {
        cache.record(child.entry.path, child.stat, child.entry, scanStartNs);
        if (child.dir) record(child.dir);
      }
    };
    cache.record(Buffer.alloc(0), scan.stat, scan.entry, scanStartNs);
    record(scan);
    await cache.save(store.gitdir);
  }
  return { ...built, root: await snapshotRoot(store.objects, built.tree) };
}
