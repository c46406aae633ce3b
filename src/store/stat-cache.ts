// The stat cache: what the last commit learned of each path, keyed by path and trusted only
// while the path's stat is unchanged, so later commits re-read only files that changed (as Git's
// index does).

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import * as v8 from 'node:v8';
import type { StatInfo } from '../native/index.js';
import type { Entry } from '../tree/entry.js';

const CACHE_FILE = 'snap-index';
const CACHE_VERSION = 1;

/**
 * A path whose ctime is this close to the start of the scan that recorded it, or later, may have
 * changed during that scan within one timestamp tick, so it is re-read next time. One second covers
 * filesystems with one-second timestamps.
 */
const RACY_WINDOW_NS = 1_000_000_000n;

interface CachedPath {
  dev: bigint;
  ino: bigint;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  mode: number;
  uid: number;
  gid: number;
  type: string;
  entry: Omit<Entry, 'path' | 'linkTarget'>;
}

/** StatCache maps rootfs paths to entries recorded under a known stat. */
export class StatCache {
  private entries = new Map<string, CachedPath>();
  private readonly next = new Map<string, CachedPath>();

  /** Number of lookups answered from the cache since it was loaded. */
  hits = 0;

  /** Returns the recorded entry of a path if its stat is the one recorded, else undefined. */
  lookup(path: Buffer, stat: StatInfo): Omit<Entry, 'path' | 'linkTarget'> | undefined {
    const cached = this.entries.get(path.toString('latin1'));
    if (!cached || !sameStat(cached, stat)) return undefined;
    this.hits += 1;
    return cached.entry;
  }

  /** Records an entry for the next save. Entries changed within the racy window are not kept. */
  record(path: Buffer, stat: StatInfo, entry: Entry, scanStartNs: bigint): void {
    if (stat.ctimeNs >= scanStartNs - RACY_WINDOW_NS || stat.mtimeNs >= scanStartNs - RACY_WINDOW_NS) return;
    const { path: _path, linkTarget: _link, ...rest } = entry;
    this.next.set(path.toString('latin1'), {
      dev: stat.dev, ino: stat.ino, size: stat.size, mtimeNs: stat.mtimeNs, ctimeNs: stat.ctimeNs,
      mode: stat.mode, uid: stat.uid, gid: stat.gid, type: stat.type, entry: rest,
    });
  }

  /** Loads the cache of a store; a missing or unreadable cache is empty (it only saves work). */
  static async load(gitdir: string): Promise<StatCache> {
    const cache = new StatCache();
    try {
      const data = v8.deserialize(await fsp.readFile(join(gitdir, CACHE_FILE))) as { version: number; entries: [string, CachedPath][] };
      if (data.version === CACHE_VERSION) cache.entries = new Map(data.entries);
    } catch {
      // NOTE: a damaged cache is dropped silently; the next commit re-reads every file and rewrites it.
    }
    return cache;
  }

  /** Replaces the stored cache with the entries recorded since load (temp file, then rename). */
  async save(gitdir: string): Promise<void> {
    const target = join(gitdir, CACHE_FILE);
    const temp = `${target}.tmp-${process.pid}`;
    await fsp.writeFile(temp, v8.serialize({ version: CACHE_VERSION, entries: [...this.next] }));
    await fsp.rename(temp, target);
  }
}

function sameStat(cached: CachedPath, stat: StatInfo): boolean {
  return cached.ino === stat.ino && cached.dev === stat.dev && cached.size === stat.size &&
    cached.mtimeNs === stat.mtimeNs && cached.ctimeNs === stat.ctimeNs && cached.mode === stat.mode &&
    cached.uid === stat.uid && cached.gid === stat.gid && cached.type === stat.type;
}
