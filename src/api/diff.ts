// snap diff: the changes between two snapshots, or between a snapshot and the rootfs.

import { SnapError } from '../errors.js';
import { diffSnapshots, type Change, type DiffFilter } from '../store/diff.js';
import { readCommit, resolveRevision } from '../store/revision.js';
import { snapshotRoot, type SnapshotDir } from '../store/snapshot-read.js';
import { openStore, type Store } from '../store/store.js';
import { captureWorktree, refreshStatCache } from '../store/worktree.js';
import type { CommonOptions } from './common.js';

/** Options of diff: no revision compares HEAD with the rootfs, one compares it with the rootfs. */
export interface DiffOptions extends CommonOptions {
  from?: string;
  to?: string;
  /**
   * Only these paths and what is below them (rootfs-relative bytes; a leading '/' or './' and
   * trailing '/' are ignored, and '.' or '/' is the whole rootfs). Unset or empty: every path.
   */
  paths?: (Buffer | string)[];
}

/**
 * Normalises path limits to rootfs-relative paths without leading, trailing or doubled slashes or
 * '.' components. Returns undefined for no limit. Throws USAGE for a path with a '..' component.
 */
export function pathFilter(paths: (Buffer | string)[] | undefined): DiffFilter | undefined {
  if (!paths || paths.length === 0) return undefined;
  const limits = paths.map((raw) => {
    const parts = Buffer.from(raw).toString('latin1').split('/').filter((part) => part !== '' && part !== '.');
    if (parts.includes('..')) {
      throw new SnapError('USAGE', `path '${Buffer.from(raw).toString()}' leaves the rootfs; give paths relative to the rootfs top, like etc/hosts`);
    }
    return Buffer.from(parts.join('/'), 'latin1');
  });
  return { paths: limits };
}

/** The two sides of a comparison, resolved. `to` is undefined when it is the rootfs. */
export interface DiffSides {
  store: Store;
  fromOid: string;
  toOid?: string;
  fromRoot: SnapshotDir;
  toRoot: SnapshotDir;
}

/**
 * Resolves the two sides of a diff, capturing the rootfs when it is one side. Of the store, the
 * capture writes only the stat cache (see refreshStatCache).
 */
export async function resolveSides(options: DiffOptions): Promise<DiffSides> {
  const store = await openStore(options);
  const fromOid = await resolveRevision(store, options.from ?? 'HEAD');
  const fromRoot = await snapshotRoot(store.objects, (await readCommit(store, fromOid)).tree);
  if (options.to !== undefined) {
    const toOid = await resolveRevision(store, options.to);
    return { store, fromOid, toOid, fromRoot, toRoot: await snapshotRoot(store.objects, (await readCommit(store, toOid)).tree) };
  }
  const current = await captureWorktree(store, { write: false, onWarning: options.onWarning, onProgress: options.onProgress });
  await refreshStatCache(store, current);
  return { store, fromOid, fromRoot, toRoot: current.root };
}

/**
 * Lists the changes from `from` to `to` in walk order (parents first). Writes nothing but the stat
 * cache, when the rootfs is a side (see refreshStatCache).
 */
export async function diff(options: DiffOptions = {}): Promise<Change[]> {
  const sides = await resolveSides(options);
  return diffSnapshots(sides.store.objects, sides.fromRoot, sides.toRoot, pathFilter(options.paths));
}
