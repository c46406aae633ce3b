// Hashing small files as Git blobs on libuv's thread pool, and storing or deflating them there, so
// both cores work and each file costs a few system calls in C instead of a chain of promises.

import { availableParallelism } from 'node:os';
import { SnapError, ioError } from '../errors.js';
import { hashFiles, type HashFilesReply, type HashMode } from '../native/index.js';

/** One file for the pool: its absolute path and the size its stat reported. */
interface Job {
  path: Buffer;
  size: number;
  resolve: (result: HashResult) => void;
  reject: (error: Error) => void;
}

/**
 * What the pool does with each file: only hash it, store it as a loose object, or return its
 * deflated content for the caller to append to a pack.
 */
export type PoolMode = HashMode;

/** A file's blob id. */
export interface HashResult {
  oid: string;
}

/**
 * Receives a file's content deflated (zlib, content only) in 'pack' mode. It must copy `deflated`
 * before returning, because the memory is reused for the next batch.
 */
export type PackSink = (oid: string, size: number, deflated: Uint8Array) => void;

/** Size of each buffer that a batch's deflated results are copied into. */
const OUT_BUFFER_SIZE = 1024 * 1024;

/** Files handed to the addon at once: large enough to amortise the call, small enough to balance. */
const BATCH = 64;

/**
 * HashPool hashes (and stores or deflates) small files with the addon's hashFiles, keeping up to
 * `threads` batches in flight. Each batch runs on one thread of libuv's pool, whose default size
 * is four; large files streamed meanwhile use the other threads.
 */
export class HashPool {
  private readonly queue: Job[] = [];
  private inFlight = 0;
  private scheduled = false;
  /** Buffers for deflated results, one per batch in flight, reused. */
  private readonly outBuffers: Buffer[] = [];

  /**
   * @param mode What to do with each file. It may change between calls: each batch uses the mode
   *   of the moment it is handed to the addon.
   */
  constructor(
    private readonly objectsDir: string,
    public mode: PoolMode,
    private readonly sink?: PackSink,
    private readonly threads = Math.max(1, Math.min(availableParallelism(), 4)),
  ) {}

  /** Hashes the file at `path` and stores or deflates it as the pool's mode says. */
  hash(path: Buffer, size: number): Promise<HashResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ path, size, resolve, reject });
      // Dispatching once the current tick's callers have queued fills whole batches.
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.dispatch();
        });
      }
    });
  }

  /** Rejects every file not yet handed to the addon with `error`; batches in flight finish. */
  cancel(error: Error): void {
    for (const job of this.queue.splice(0)) job.reject(error);
  }

  private dispatch(): void {
    while (this.inFlight < this.threads && this.queue.length > 0) {
      const jobs = this.queue.splice(0, BATCH);
      const mode = this.mode;
      const out = mode === 'pack' ? (this.outBuffers.pop() ?? Buffer.allocUnsafe(OUT_BUFFER_SIZE)) : undefined;
      this.inFlight += 1;
      hashFiles(
        jobs.map((job) => job.path),
        jobs.map((job) => job.size),
        mode,
        this.objectsDir,
        out,
      )
        .then(
          (reply) => this.finish(jobs, reply),
          (error: Error) => this.fail(jobs, error),
        )
        .finally(() => {
          if (out) this.outBuffers.push(out);
        });
    }
  }

  private finish(jobs: Job[], reply: HashFilesReply): void {
    this.inFlight -= 1;
    jobs.forEach((job, i) => {
      const error = reply.errors[i];
      const deflated = reply.data[i];
      if (!error) {
        const oid = reply.oids.toString('hex', i * 20, i * 20 + 20);
        try {
          if (deflated) this.addToPack(oid, job.size, deflated);
          job.resolve({ oid });
        } catch (sinkError) {
          job.reject(sinkError instanceof SnapError ? sinkError : ioError('writing the pack for', job.path, sinkError));
        }
      } else if (error.code === 'ECHANGED') {
        job.reject(new SnapError('IO', `file '${job.path.toString()}' ${error.message}; retry when it is not being written`));
      } else {
        job.reject(ioError('reading', job.path, Object.assign(new Error(error.message), { code: error.code })));
      }
    });
    this.dispatch();
  }

  private addToPack(oid: string, size: number, deflated: Uint8Array): void {
    if (!this.sink) throw new SnapError('INTERNAL', "a hash pool in 'pack' mode has no pack to add to; this is a bug in snap");
    this.sink(oid, size, deflated);
  }

  private fail(jobs: Job[], error: Error): void {
    this.inFlight -= 1;
    for (const job of jobs) job.reject(new SnapError('INTERNAL', `hashing files failed: ${error.message}`, { cause: error }));
    this.dispatch();
  }
}
