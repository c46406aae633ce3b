// snap diff --export and snap export: changes, or a whole snapshot, as an OCI layer tarball.

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { promises as fsp } from 'node:fs';
import type { Writable } from 'node:stream';
import { SnapError, ioError, isSnapError } from '../errors.js';
import { writeTarRecords, type Compression, type LayerResult } from '../oci/layer.js';
import { compressionLevel } from '../oci/compress.js';
import { planLayer, type TarRecord } from '../oci/layer-plan.js';
import { diffSnapshots } from '../store/diff.js';
import { readCommit, resolveRevision } from '../store/revision.js';
import { snapshotRoot, type SnapshotDir } from '../store/snapshot-read.js';
import { openStore, pathBelow, type Store } from '../store/store.js';
import type { CommonOptions } from './common.js';
import { resolveSides } from './diff.js';
import { layerItems } from './layer-items.js';
import { checkSnapshot, snapshotRecords } from './snapshot-records.js';

/** Where a layer goes: a file path ('-' for stdout is the CLI's business) or an open stream. */
export type LayerOutput = { path: string } | { stream: Writable };

/** Options shared by exportDiff and exportSnapshot. */
export interface ExportOptions extends CommonOptions {
  output: LayerOutput;
  compression?: Compression;
  /** See WriteLayerOptions.compressionLevel. */
  compressionLevel?: number;
}

/** Result of an export: the layer's descriptor facts and how many tar entries it holds. */
export interface ExportResult extends LayerResult {
  entries: number;
}

/** Returns the compression asked for, else the one the output file's name implies. */
function chooseCompression(options: ExportOptions): Compression {
  return options.compression ?? ('path' in options.output ? compressionForName(options.output.path) : 'none');
}

/** Picks compression from a file name, in any case: .gz or .tgz gives gzip, .zst gives zstd, else none. */
export function compressionForName(path: string): Compression {
  if (/\.(t?gz)$/i.test(path)) return 'gzip';
  if (/\.zst$/i.test(path)) return 'zstd';
  return 'none';
}

/**
 * Writes the change from `from` to `to` (the rootfs when `to` is unset) as an OCI layer. A file
 * output is written to a temporary name beside it and renamed into place, so a failed export
 * leaves no partial layer.
 */
export async function exportDiff(options: ExportOptions & { from?: string; to?: string }): Promise<ExportResult> {
  compressionLevel(chooseCompression(options), options.compressionLevel);
  const sides = await resolveSides(options);
  const changes = await diffSnapshots(sides.store.objects, sides.fromRoot, sides.toRoot);
  const items = await layerItems(sides.store.objects, changes, sides.toRoot);
  const rootfsFiles = sides.toOid === undefined ? worktreeFiles(changes.map((change) => change.new)) : undefined;
  // planLayer checks every item before writeTo opens the output.
  const records = planLayer(items);
  return writeTo(sides.store, () => records, records.length, options, rootfsFiles);
}

/** Writes the whole snapshot `revision` as one layer (the base layer of an image). */
export async function exportSnapshot(options: ExportOptions & { revision: string }): Promise<ExportResult> {
  compressionLevel(chooseCompression(options), options.compressionLevel);
  const store = await openStore(options);
  const oid = await resolveRevision(store, options.revision);
  const root: SnapshotDir = await snapshotRoot(store.objects, (await readCommit(store, oid)).tree);
  const entries = await checkSnapshot(store.objects, root);
  return writeTo(store, () => snapshotRecords(store.objects, root), entries, options, undefined);
}

/** Maps content ids of rootfs files to their paths in the rootfs, for layers whose new side is the rootfs. */
function worktreeFiles(entries: ({ path: Buffer; oid?: string; type: string } | undefined)[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of entries) {
    if (entry?.type === 'file' && entry.oid && !files.has(entry.oid)) files.set(entry.oid, entry.path);
  }
  return files;
}

/**
 * Writes the checked records that `records` returns, `entries` of them, to the output. The records
 * are requested only once the output is open.
 */
async function writeTo(
  store: Store,
  records: () => Iterable<TarRecord> | AsyncIterable<TarRecord>,
  entries: number,
  options: ExportOptions,
  rootfsFiles: Map<string, Buffer> | undefined,
): Promise<ExportResult> {
  const root = Buffer.from(store.rootfs);
  const source = {
    openBlob: (oid: string) => store.objects.openBlob(oid),
    filePath: (oid: string) => {
      const path = rootfsFiles?.get(oid);
      return path ? { root, path } : undefined;
    },
  };
  const writeOptions = {
    compression: chooseCompression(options),
    compressionLevel: options.compressionLevel,
    onProgress: (p: { entries: number; bytes: number }) => options.onProgress?.({ phase: 'export', done: p.entries, bytes: p.bytes }),
  };
  if ('stream' in options.output) {
    return { ...(await writeTarRecords(records(), source, options.output.stream, writeOptions)), entries };
  }

  const target = options.output.path;
  if (isInRootfs(store, target)) {
    options.onWarning?.(`writing the layer inside the rootfs ('${target}'), so status and the next commit will list it; write it outside the rootfs to leave the tree as it is`);
  }
  const existing = await fsp.stat(target).catch(() => undefined);
  // A device, FIFO or other special file (/dev/null, /dev/stdout, a pipe), and a regular file with
  // other hardlinks, are written in place as a shell redirection writes them. A symlink is written
  // through to its target. Replacing any of them with a new file would lose what they are.
  if (existing && (!existing.isFile() || existing.nlink > 1 || (await fsp.lstat(target)).isSymbolicLink())) {
    return { ...(await writeInPlace(target, existing.isFile(), (out) => writeTarRecords(records(), source, out, writeOptions))), entries };
  }

  const temp = `${target}.tmp-${process.pid}`;
  // The file is opened before anything else, so the cleanup below always finds it: a stream that
  // opens on its own could create it after a failed export removed it.
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(temp, 'wx');
    // A layer that replaces an existing file keeps that file's permissions and owner.
    if (existing) {
      await handle.chmod(existing.mode & 0o7777);
      await handle.chown(existing.uid, existing.gid);
    }
    const result = await writeTarRecords(records(), source, handle.createWriteStream(), writeOptions);
    handle = undefined;
    const written = await fsp.open(temp, 'r+');
    await written.sync();
    await written.close();
    await fsp.rename(temp, target);
    return { ...result, entries };
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fsp.rm(temp, { force: true });
    throw layerWriteError(error, target);
  }
}

/**
 * Writes a layer into the existing file `target` without replacing it. A regular file is truncated
 * first and synced at the end; a failed export leaves it partly written.
 */
async function writeInPlace(target: string, regular: boolean, write: (out: Writable) => Promise<LayerResult>): Promise<LayerResult> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(target, regular ? 'w' : fs.constants.O_WRONLY);
    const result = await write(handle.createWriteStream());
    handle = undefined;
    if (regular) {
      const written = await fsp.open(target, 'r+');
      await written.sync();
      await written.close();
    }
    return result;
  } catch (error) {
    await handle?.close().catch(() => undefined);
    throw layerWriteError(error, target);
  }
}

/**
 * Reports whether a file path lies inside the rootfs of a store, and not inside the store itself
 * (which no capture reads). Symlinks are resolved: the export writes through a symlink named as
 * the output. NOTE: a hardlink of a rootfs file, which is written in place, is not recognised.
 */
function isInRootfs(store: Store, file: string): boolean {
  const real = (path: string): string => {
    try {
      return fs.realpathSync(path);
    } catch {
      return nodePath.resolve(path);
    }
  };
  // A file that does not exist yet is resolved through its directory.
  const resolved = fs.existsSync(file) ? real(file) : nodePath.join(real(nodePath.dirname(nodePath.resolve(file))), nodePath.basename(file));
  return pathBelow(real(store.rootfs), resolved) !== undefined && pathBelow(real(store.gitdir), resolved) === undefined;
}

/** Names the output in a failure to write it; other failures name what they read. */
function layerWriteError(error: unknown, target: string): Error {
  if (isSnapError(error) && (error.data as { output?: boolean } | undefined)?.output) return ioError('writing layer', target, error.cause);
  if (error instanceof SnapError) return error;
  return ioError('writing layer', target, error);
}

