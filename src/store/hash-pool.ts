// Hashing small files as Git blobs on worker threads, and storing or deflating them there, so both cores work and each file
// costs a few synchronous system calls instead of a chain of promises.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SnapError, ioError } from '../errors.js';

/** One file for the pool: its absolute path and the size its stat reported. */
interface Job {
  path: Buffer;
  size: number;
  resolve: (result: HashResult) => void;
  reject: (error: Error) => void;
}

interface Reply {
  oids: (string | null)[];
  deflated: (Uint8Array | null)[];
  errors: ({ code?: string; message: string } | null)[];
}

/**
 * What the pool does with each file: only hash it, store it as a loose object, or return its
 * deflated content for the caller to append to a pack.
 */
export type PoolMode = 'hash' | 'loose' | 'pack';

/** A file's blob id, and in 'pack' mode its content deflated (zlib, content only). */
export interface HashResult {
  oid: string;
  deflated?: Buffer;
}

/** Files sent to a worker at once: large enough to amortise messages, small enough to balance. */
const BATCH = 64;

/**
 * The worker's code, as source text so it runs the same from compiled JavaScript and from
 * TypeScript under vitest; it uses only Node's built-in modules. For each file it reads the
 * content, hashes "blob SIZE\0" + content with sha1, and unless the object exists, deflates it
 * (level 1) into a temporary file in objects/xx, renamed to objects/xx/yyyy: a rename within one
 * directory, as git does, avoids the filesystem-wide lock that renames across directories take.
 */
const WORKER_SOURCE = `
const { parentPort, workerData, threadId } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const zlib = require('node:zlib');
const { objectsDir, mode } = workerData;
const madeDirs = new Set();
let counter = 0;

// One read buffer, reused for every file: a fresh Buffer per file is external memory that the
// worker's garbage collector frees late, and with thousands of files that alone cost ~80 MB.
let scratch = Buffer.allocUnsafe(1 << 20);

function readWhole(path, size) {
  if (scratch.length < size + 1) scratch = Buffer.allocUnsafe(size + 1);
  const fd = fs.openSync(path, 'r');
  try {
    let length = 0;
    for (;;) {
      const got = fs.readSync(fd, scratch, length, scratch.length - length, null);
      if (got === 0) break;
      length += got;
      if (length === scratch.length) break;
    }
    return scratch.subarray(0, length);
  } finally {
    fs.closeSync(fd);
  }
}

function store(path, size) {
  const content = readWhole(path, size);
  if (content.length !== size) {
    throw Object.assign(new Error('changed size while being read (' + size + ' -> ' + content.length + ' bytes)'), { code: 'ECHANGED' });
  }
  const header = Buffer.from('blob ' + content.length + '\\0');
  const oid = crypto.createHash('sha1').update(header).update(content).digest('hex');
  if (mode === 'hash') return { oid };
  if (mode === 'pack') return { oid, deflated: zlib.deflateSync(content, { level: 1 }) };
  const dir = objectsDir + '/' + oid.slice(0, 2);
  const final = dir + '/' + oid.slice(2);
  if (fs.existsSync(final)) return { oid };
  if (!madeDirs.has(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    madeDirs.add(dir);
  }
  counter += 1;
  const temp = dir + '/tmp_obj_' + process.pid + '_' + threadId + '_' + counter;
  fs.writeFileSync(temp, zlib.deflateSync(Buffer.concat([header, content]), { level: 1 }), { mode: 0o444 });
  fs.renameSync(temp, final);
  return { oid };
}

parentPort.on('message', (batch) => {
  const oids = [];
  const deflated = [];
  const errors = [];
  const transfer = [];
  for (let i = 0; i < batch.paths.length; i++) {
    try {
      const result = store(Buffer.from(batch.paths[i]), batch.sizes[i]);
      oids.push(result.oid);
      const data = result.deflated ? new Uint8Array(result.deflated) : null;
      if (data) transfer.push(data.buffer);
      deflated.push(data);
      errors.push(null);
    } catch (error) {
      oids.push(null);
      deflated.push(null);
      errors.push({ code: error.code, message: error.message });
    }
  }
  parentPort.postMessage({ oids, deflated, errors }, transfer);
});
`;

/** HashPool stores (or only hashes) small files on worker threads. Close it when done. */
export class HashPool {
  private readonly workers: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly busy = new Map<Worker, Job[]>();

  constructor(objectsDir: string, mode: PoolMode, threads = Math.max(1, Math.min(availableParallelism(), 4))) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { objectsDir, mode },
        // Small heaps make the workers collect the file buffers they drop often, which keeps the
        // process under 200 MB however many files pass through.
        resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 32 },
      });
      worker.on('message', (reply: Reply) => this.finish(worker, reply));
      worker.on('error', (error) => this.fail(worker, error));
      this.workers.push(worker);
    }
  }

  /** Hashes the file at `path` and stores or deflates it as the pool's mode says. */
  hash(path: Buffer, size: number): Promise<HashResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ path, size, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const worker of this.workers) {
      if (this.queue.length === 0) return;
      if (this.busy.has(worker)) continue;
      const jobs = this.queue.splice(0, BATCH);
      this.busy.set(worker, jobs);
      worker.postMessage({ paths: jobs.map((job) => job.path), sizes: jobs.map((job) => job.size) });
    }
  }

  private finish(worker: Worker, reply: Reply): void {
    const jobs = this.busy.get(worker) ?? [];
    this.busy.delete(worker);
    jobs.forEach((job, i) => {
      const oid = reply.oids[i];
      const error = reply.errors[i];
      const deflated = reply.deflated[i];
      if (oid) job.resolve({ oid, deflated: deflated ? Buffer.from(deflated.buffer, deflated.byteOffset, deflated.byteLength) : undefined });
      else if (error?.code === 'ECHANGED') job.reject(new SnapError('IO', `file '${job.path.toString()}' ${error.message}; retry when it is not being written`));
      else job.reject(ioError('reading', job.path, Object.assign(new Error(error?.message), { code: error?.code })));
    });
    this.dispatch();
  }

  private fail(worker: Worker, error: Error): void {
    const jobs = this.busy.get(worker) ?? [];
    this.busy.delete(worker);
    for (const job of jobs) job.reject(new SnapError('INTERNAL', `hash worker failed: ${error.message}`, { cause: error }));
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
