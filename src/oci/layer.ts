// Writes the difference between two snapshots as an OCI image layer tarball.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { Readable, Transform, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { ioError, isSnapError, showPath, SnapError } from '../errors.js';
import type { Entry } from '../tree/entry.js';
import { compressionLevel, createCompressor, LAYER_MEDIA_TYPES, type Compression } from './compress.js';
import { LayerSink, outputError, writeTo } from './layer-sink.js';
import { openBeneath } from '../native/index.js';
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
  /**
   * Returns where a file with the blob's content is, as a directory and a path below it, which
   * the layer reads directly instead of calling openBlob, or undefined to use openBlob. No
   * symlink below `root` is followed.
   */
  filePath?(oid: string): { root: Buffer; path: Buffer } | undefined;
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
  /** gzip level 1-12 with libdeflate (1-9 with zlib), default 1; zstd level 1-19, default 3. */
  compressionLevel?: number;
  /** Called after every tar entry, after every MiB of file content, and once with the totals. */
  onProgress?: (progress: LayerProgress) => void;
}

const PROGRESS_BYTES = 1024 * 1024;

/**
 * Writes `items` to `out` as an OCI layer tar, compressed as requested, and ends `out`.
 *
 * All items are checked before the first byte is written (see planLayer for the order, whiteout
 * and hardlink rules and the errors thrown). Regular file content is streamed from `source` and
 * never held whole in memory. The same items and content always produce the same bytes.
 *
 * Throws SnapError CORRUPT when a blob's length differs from its entry's size, USAGE for a
 * compression level out of range, NOT_FOUND when zstd is requested but the `zstd` program is
 * missing, and IO when writing fails. After a failure
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
  const level = compressionLevel(compression, options.compressionLevel);
  const compressor = await createCompressor(compression, level);

  let size = 0;
  const digestHash = compression === 'none' ? undefined : createHash('sha256');
  const countBytes = (chunk: Buffer) => {
    digestHash?.update(chunk);
    size += chunk.length;
  };

  // gzip is compressed by the sink itself; zstd runs as a process between the sink and `out`.
  let sink: LayerSink;
  let zstdOutput: Promise<void> | undefined;
  let zstdFailure: unknown;
  if (compressor) {
    zstdOutput = pipeline(compressor.stream, tap(countBytes), out);
    zstdOutput.catch((error: unknown) => {
      zstdFailure ??= error;
    });
    // Once the pipeline has failed, zstd takes no more input and a pending write would never
    // call back, so every write also ends when the pipeline fails.
    const failed = zstdOutput.then(() => new Promise<never>(() => {}));
    failed.catch(() => {});
    const emit = writeTo(compressor.stream);
    sink = new LayerSink(undefined, (bytes) => Promise.race([emit(bytes), failed]));
  } else {
    sink = new LayerSink(compression === 'gzip' ? level : undefined, writeTo(out, countBytes));
    // A failed write reaches the sink through its callback; this listener keeps the stream's
    // 'error' event, emitted as well, from being thrown as unhandled.
    out.on('error', () => {});
  }

  try {
    await writeRecords(records, source, sink, options.onProgress);
    await sink.finish();
    if (compressor) {
      compressor.stream.end();
      await zstdOutput;
      await compressor.finished();
    } else {
      out.end();
      await finished(out);
    }
  } catch (error) {
    compressor?.abort();
    out.destroy();
    // A zstd process that lost its output fails the sink's writes with a stream error of its own;
    // the output's error is the cause.
    throw outputError(zstdFailure ?? error);
  }

  const diffId = `sha256:${sink.diffHash.digest('hex')}`;
  return {
    diffId,
    digest: digestHash ? `sha256:${digestHash.digest('hex')}` : diffId,
    size,
    mediaType: LAYER_MEDIA_TYPES[compression],
  };
}

function tap(onChunk: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onChunk(chunk);
      callback(null, chunk);
    },
  });
}

/** Gives the sink every record's header and content, in order, and the end-of-archive blocks. */
async function writeRecords(
  records: Iterable<TarRecord> | AsyncIterable<TarRecord>,
  source: ContentSource,
  sink: LayerSink,
  onProgress?: (progress: LayerProgress) => void,
): Promise<void> {
  let index = 0;
  let reportedAt = 0;
  const reportContent = () => {
    if (onProgress && sink.produced - reportedAt >= PROGRESS_BYTES) {
      reportedAt = sink.produced;
      onProgress({ entries: index, bytes: sink.produced });
    }
  };

  for await (const record of records) {
    await sink.put(encodeHeader(toTarHeader(record)));

    if (record.kind === 'entry' && record.entry.type === 'file' && record.entry.size > 0) {
      const file = source.filePath?.(record.entry.oid!);
      if (file) {
        await readFileInto(sink, file.root, file.path, record.entry.size, reportContent);
      } else {
        for await (const chunk of readBlob(record.entry, source)) {
          await sink.put(chunk);
          reportContent();
        }
      }
      await sink.put(padding(record.entry.size));
    }

    index += 1;
    reportedAt = sink.produced;
    onProgress?.({ entries: index, bytes: sink.produced });
  }

  await sink.put(endOfArchive());
  onProgress?.({ entries: index, bytes: sink.produced });
}

/**
 * Reads the file `root`/`relative`, of `size` bytes, straight into the sink. The file must still
 * have that size, because the tar header announcing it has already been written, and it must not
 * change while it is read (its ctime is compared before and after, as GNU tar does). No symlink
 * below `root` is followed, and a FIFO or device in the file's place is neither waited on nor read.
 */
async function readFileInto(sink: LayerSink, root: Buffer, relative: Buffer, size: number, onChunk: () => void): Promise<void> {
  const path = Buffer.concat([root, Buffer.from('/'), relative]);
  let fd: number;
  try {
    fd = openBeneath(root, relative);
  } catch (error) {
    throw ioError('opening', path, error);
  }
  try {
    const before = fs.fstatSync(fd, { bigint: true });
    if (!before.isFile()) {
      throw new SnapError('IO', `'${showPath(path)}' is no longer a regular file; retry when the rootfs is not being changed`, {
        data: { path: showPath(path) },
      });
    }
    let length: number;
    let extra: number;
    let after: fs.BigIntStats;
    try {
      length = await sink.readFile(fd, size, onChunk);
      extra = length === size ? fs.readSync(fd, Buffer.alloc(1), 0, 1, null) : 0;
      after = fs.fstatSync(fd, { bigint: true });
    } catch (error) {
      if (isSnapError(error)) throw error;
      throw ioError('reading', path, error);
    }
    if (length !== size || extra > 0) {
      const found = extra > 0 ? `more than ${size}` : String(length);
      throw new SnapError('IO', `file '${showPath(path)}' changed size while being read (${size} -> ${found} bytes); retry when it is not being written`, {
        data: { path: showPath(path), expected: size },
      });
    }
    if (after.ctimeNs !== before.ctimeNs || after.mtimeNs !== before.mtimeNs) {
      throw new SnapError('IO', `file '${showPath(path)}' changed while being read; retry when it is not being written`, {
        data: { path: showPath(path) },
      });
    }
  } finally {
    fs.closeSync(fd);
  }
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
