// Writes the difference between two snapshots as an OCI image layer tarball.

import { createHash, type Hash } from 'node:crypto';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isSnapError, showPath, SnapError } from '../errors.js';
import type { Entry } from '../tree/entry.js';
import { createCompressor, LAYER_MEDIA_TYPES, type Compression } from './compress.js';
import { planLayer, type TarRecord } from './layer-plan.js';
import { encodeHeader, endOfArchive, padding, TypeFlag, type TarHeader } from './tar-header.js';

export type { Compression } from './compress.js';

/**
 * LayerItem is one change in a layer: an entry added, modified or changed in type (written in
 * full), or a whiteout for a deleted path (a file, a symlink or a whole directory subtree).
 */
export type LayerItem = { kind: 'entry'; entry: Entry } | { kind: 'whiteout'; path: Buffer };

/** ContentSource opens the content of a regular file by its git blob id. */
export interface ContentSource {
  openBlob(oid: string, size: number): Promise<NodeJS.ReadableStream | Readable>;
}

/** LayerResult describes the written layer for its OCI descriptor and image config. */
export interface LayerResult {
  /** 'sha256:<hex>' of the uncompressed tar, as listed in the image config's rootfs.diff_ids. */
  diffId: string;
  /** 'sha256:<hex>' of the bytes written, which equals diffId for an uncompressed layer. */
  digest: string;
  /** Number of bytes written. */
  size: number;
  mediaType: string;
}

/** LayerProgress counts the tar entries and uncompressed tar bytes produced so far. */
export interface LayerProgress {
  entries: number;
  bytes: number;
}

/** Options of writeLayer. */
export interface WriteLayerOptions {
  /** Compression of the written bytes; 'none' by default. */
  compression?: Compression;
  /** Called after every tar entry, after every MiB of file content, and once with the totals. */
  onProgress?: (progress: LayerProgress) => void;
}

// Buffers smaller than this are joined before they go down the pipeline, so layers of many small
// files do not pass one tiny chunk per header through the compressor.
const BATCH_BYTES = 64 * 1024;
const PROGRESS_BYTES = 1024 * 1024;

/**
 * Writes `items` to `out` as an OCI layer tar, compressed as requested, and ends `out`.
 *
 * All items are checked before the first byte is written (see planLayer for the order, whiteout
 * and hardlink rules and the errors thrown). Regular file content is streamed from `source` and
 * never held whole in memory. The same items and content always produce the same bytes.
 *
 * Throws SnapError CORRUPT when a blob's length differs from its entry's size, NOT_FOUND when zstd
 * is requested but the `zstd` program is missing, and IO when writing fails. After a failure
 * during writing, `out` has been destroyed and contains a partial layer.
 */
export async function writeLayer(
  items: LayerItem[],
  source: ContentSource,
  out: Writable,
  options: WriteLayerOptions = {},
): Promise<LayerResult> {
  return writeTarRecords(planLayer(items), source, out, options);
}

/**
 * Writes tar records, already checked and in layer order, to `out` as an OCI layer and ends `out`.
 * The records may come from an async generator, so a layer of any size is written without holding
 * its entries in memory. Throws as writeLayer does once writing has begun.
 */
export async function writeTarRecords(
  records: Iterable<TarRecord> | AsyncIterable<TarRecord>,
  source: ContentSource,
  out: Writable,
  options: WriteLayerOptions = {},
): Promise<LayerResult> {
  const compression = options.compression ?? 'none';
  const compressor = await createCompressor(compression);

  const diffHash = createHash('sha256');
  const digestHash = compressor ? createHash('sha256') : diffHash;
  let size = 0;
  const countBytes = (chunk: Buffer) => {
    size += chunk.length;
  };

  const tar = Readable.from(generateTar(records, source, options.onProgress));
  const stages = compressor
    ? [tar, hashTap(diffHash), compressor.stream, hashTap(digestHash, countBytes), out]
    : [tar, hashTap(diffHash, countBytes), out];

  try {
    await pipeline(stages);
    await compressor?.finished();
  } catch (error) {
    compressor?.abort();
    if (isSnapError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new SnapError('IO', `writing the layer failed: ${code}`, { cause: error });
  }

  const diffId = `sha256:${diffHash.digest('hex')}`;
  return {
    diffId,
    digest: compressor ? `sha256:${digestHash.digest('hex')}` : diffId,
    size,
    mediaType: LAYER_MEDIA_TYPES[compression],
  };
}

function hashTap(hash: Hash, onChunk?: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      onChunk?.(chunk);
      callback(null, chunk);
    },
  });
}

async function* generateTar(
  records: Iterable<TarRecord> | AsyncIterable<TarRecord>,
  source: ContentSource,
  onProgress?: (progress: LayerProgress) => void,
): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let produced = 0;
  let reportedAt = 0;
  const take = () => {
    const joined = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return joined;
  };
  const add = (bytes: Buffer) => {
    pending.push(bytes);
    pendingBytes += bytes.length;
    produced += bytes.length;
  };

  let index = 0;
  for await (const record of records) {
    add(encodeHeader(toTarHeader(record)));

    if (record.kind === 'entry' && record.entry.type === 'file' && record.entry.size > 0) {
      for await (const chunk of readBlob(record.entry, source)) {
        if (chunk.length >= BATCH_BYTES) {
          if (pendingBytes > 0) yield take();
          produced += chunk.length;
          yield chunk;
        } else {
          add(chunk);
        }
        if (pendingBytes >= BATCH_BYTES) yield take();
        if (onProgress && produced - reportedAt >= PROGRESS_BYTES) {
          reportedAt = produced;
          onProgress({ entries: index, bytes: produced });
        }
      }
      add(padding(record.entry.size));
    }

    if (pendingBytes >= BATCH_BYTES) yield take();
    index += 1;
    reportedAt = produced;
    onProgress?.({ entries: index, bytes: produced });
  }

  add(endOfArchive());
  onProgress?.({ entries: index, bytes: produced });
  yield take();
}

function toTarHeader(record: TarRecord): TarHeader {
  // A whiteout's metadata is ignored when it is applied, so it is fixed: its bytes depend only on
  // the deleted path.
  if (record.kind === 'whiteout') {
    return { name: record.name, typeflag: TypeFlag.file, mode: 0, uid: 0, gid: 0, size: 0, mtimeNs: 0n };
  }

  const { entry } = record;
  const header: TarHeader = {
    name: record.name,
    typeflag: TypeFlag[entry.type],
    mode: entry.mode & 0o7777,
    uid: entry.uid,
    gid: entry.gid,
    size: 0,
    mtimeNs: entry.mtimeNs,
    xattrs: entry.xattrs,
  };

  if (record.kind === 'hardlink') {
    header.typeflag = TypeFlag.hardlink;
    header.linkname = record.linkname;
  } else if (entry.type === 'file') {
    header.size = entry.size;
  } else if (entry.type === 'symlink') {
    header.linkname = entry.target;
  } else if (entry.type === 'char' || entry.type === 'block') {
    header.devMajor = entry.rdevMajor;
    header.devMinor = entry.rdevMinor;
  }
  return header;
}

// Streams one blob and checks that it contains exactly `entry.size` bytes, because the tar header
// announcing that size has already been written.
async function* readBlob(entry: Entry, source: ContentSource): AsyncGenerator<Buffer> {
  const shown = showPath(entry.path);
  const oid = entry.oid!;

  let opened: NodeJS.ReadableStream | Readable;
  try {
    opened = await source.openBlob(oid, entry.size);
  } catch (error) {
    if (isSnapError(error)) throw error;
    throw new SnapError('IO', `opening blob ${oid} of '${shown}' failed: ${(error as Error).message}`, { cause: error });
  }
  const stream = opened instanceof Readable ? opened : new Readable().wrap(opened);

  let length = 0;
  for await (const chunk of stream as AsyncIterable<unknown>) {
    if (typeof chunk === 'string') {
      throw new SnapError('INTERNAL', `blob ${oid} of '${shown}' was read as text; open blobs without an encoding`);
    }
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    length += bytes.length;
    if (length > entry.size) break;
    yield bytes;
  }

  if (length !== entry.size) {
    const found = length > entry.size ? `more than ${entry.size}` : String(length);
    throw new SnapError('CORRUPT', `blob ${oid} of '${shown}' contains ${found} bytes but the snapshot records ${entry.size}`, {
      data: { path: shown, oid, expected: entry.size },
    });
  }
}
