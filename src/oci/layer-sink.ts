// The byte path of a layer: tar bytes gathered into fixed-size chunks, hashed, compressed on
// libuv's threads when gzip is asked for, and written in order.

import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import type { Writable } from 'node:stream';
import { isSnapError, SnapError } from '../errors.js';
import { gzipBound, gzipMember } from '../native/index.js';

/**
 * Tar bytes per chunk, and so per gzip member. Fixed, so the same tar always gives the same
 * members.
 */
export const CHUNK_BYTES = 1024 * 1024;

/** Chunks being compressed or written at once, each in a staging buffer of its own. */
const IN_FLIGHT = 4;

/**
 * LayerSink takes the bytes of a tar in order, hashes them (the layer's diff ID), and passes each
 * chunk to `emit`: whole for an uncompressed layer, as one gzip member for gzip. The tar is copied
 * once, into reused staging buffers; file content can be read straight into them with readFile.
 *
 * gzip members are compressed a few at once by the addon's gzipMember (native/gzip.c: libdeflate
 * where the addon was built with it, else zlib). Concatenated members are one
 * valid gzip file (RFC 1952, section 2.2) that gzip, Go's compress/gzip (umoci, skopeo,
 * containerd) and Python read whole, as they read pigz's output. Every member header has MTIME 0
 * and no file name, so one build of the addon always compresses a tar to the same bytes.
 *
 * put returns a promise only when the sink has to wait for a chunk in flight, and the caller must
 * await it before giving more bytes. readFile waits by itself.
 */
export class LayerSink {
  readonly diffHash: Hash = createHash('sha256');
  /** Tar bytes taken so far. */
  produced = 0;

  /** Free staging buffers, and for gzip their output buffers, reused from chunk to chunk. */
  private readonly spare: Buffer[] = [];
  private readonly spareOutputs: Buffer[] = [];
  private current: Buffer = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  private used = 0;
  /** Chunks shipped and not yet emitted, oldest first; each settles once emitted. */
  private readonly inFlight: Promise<void>[] = [];
  /** Settles after the last shipped chunk is emitted, so output stays in order. */
  private tail: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  /**
   * @param gzipLevel The gzip level at which each chunk becomes a gzip member before it is
   *   emitted, or undefined to emit chunks uncompressed.
   * @param emit Writes one output buffer; the sink reuses the memory once the promise settles.
   */
  constructor(
    private readonly gzipLevel: number | undefined,
    private readonly emit: (bytes: Buffer) => Promise<void>,
  ) {}

  /** Copies `bytes` into the tar. */
  put(bytes: Uint8Array): Promise<void> | undefined {
    let offset = 0;
    while (offset < bytes.length) {
      const count = Math.min(bytes.length - offset, CHUNK_BYTES - this.used);
      this.current.set(bytes.subarray(offset, offset + count), this.used);
      this.used += count;
      this.produced += count;
      offset += count;
      if (this.used === CHUNK_BYTES) {
        const wait = this.ship();
        if (wait) {
          const rest = bytes.subarray(offset);
          return wait.then(() => this.put(rest));
        }
      }
    }
    return undefined;
  }

  /**
   * Reads `length` bytes from `fd` at its current offset into the tar. Returns the number of bytes
   * read, which is less than `length` only when the file ended early.
   */
  async readFile(fd: number, length: number, onChunk?: () => void): Promise<number> {
    let done = 0;
    while (done < length) {
      const room = Math.min(CHUNK_BYTES - this.used, length - done);
      const count = fs.readSync(fd, this.current, this.used, room, null);
      if (count === 0) break;
      this.used += count;
      this.produced += count;
      done += count;
      if (this.used === CHUNK_BYTES) {
        const wait = this.ship();
        if (wait) await wait;
        onChunk?.();
      }
    }
    return done;
  }

  /** Ships the last partial chunk and waits until every chunk has been emitted. */
  async finish(): Promise<void> {
    if (this.used > 0) {
      const wait = this.ship();
      if (wait) await wait;
    }
    await this.tail;
    this.throwIfFailed();
  }

  /** Hands the full (or final) chunk on and picks a free staging buffer, waiting for one if needed. */
  private ship(): Promise<void> | undefined {
    this.throwIfFailed();
    const staging = this.current;
    const chunk = staging.subarray(0, this.used);
    this.diffHash.update(chunk);

    let output: Promise<Buffer>;
    let outputBuffer: Buffer | undefined;
    if (this.gzipLevel === undefined) {
      output = Promise.resolve(chunk);
    } else {
      const member = this.spareOutputs.pop() ?? Buffer.allocUnsafeSlow(gzipBound(CHUNK_BYTES));
      outputBuffer = member;
      output = gzipMember(chunk, this.gzipLevel, member).then((length) => member.subarray(0, length));
    }
    // Both buffers are free once the output is written.
    const emitted = Promise.all([output, this.tail]).then(([bytes]) => this.emit(bytes));
    this.tail = emitted.catch((error: unknown) => {
      this.failure ??= { error };
    });
    const done = emitted.then(
      () => {
        this.spare.push(staging);
        if (outputBuffer) this.spareOutputs.push(outputBuffer);
      },
      (error: unknown) => {
        this.failure ??= { error };
      },
    );
    this.inFlight.push(done);

    this.used = 0;
    if (this.inFlight.length < IN_FLIGHT) {
      this.current = this.spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
      return undefined;
    }
    const oldest = this.inFlight.shift()!;
    return oldest.then(() => {
      this.throwIfFailed();
      this.current = this.spare.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
    });
  }

  /** Throws the first failure of compressing or emitting, as outputError makes it. */
  private throwIfFailed(): void {
    if (this.failure) throw outputError(this.failure.error);
  }
}

/**
 * Returns SnapError IO for a failure to compress or write a layer, with `data.output` set, so
 * callers tell it from a failure to read the layer's content and can name the output. A SnapError
 * is returned as it is.
 */
export function outputError(error: unknown): SnapError {
  if (isSnapError(error)) return error;
  const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new SnapError('IO', `writing the layer failed: ${code}`, { cause: error, data: { output: true, errno: code } });
}

/**
 * Returns an emit function for LayerSink that writes to `out` and settles once `out` has taken the
 * bytes (its write callback ran), so the memory can be reused.
 */
export function writeTo(out: Writable, onBytes?: (bytes: Buffer) => void): (bytes: Buffer) => Promise<void> {
  return (bytes) =>
    new Promise((resolve, reject) => {
      onBytes?.(bytes);
      out.write(bytes, (error) => (error ? reject(error) : resolve()));
    });
}
