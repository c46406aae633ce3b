// Git object database: loose objects and packs written and read with Node's own crypto and zlib.

import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { SnapError, ioError } from '../errors.js';
import { PackReader } from './pack-reader.js';
import { PackWriter } from './pack-writer.js';
import { hashFiles } from '../native/index.js';

/** Git object kinds that snap reads and writes. */
export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag';

/** Files at or below this size are hashed from one buffer; larger ones are streamed. */
const STREAM_THRESHOLD = 1024 * 1024;

/** zlib level 1: about three times faster than git's default level and still read by every git. */
const DEFLATE_LEVEL = 1;

let tempCounter = 0;

/** Computes the Git object id of content of the given type (sha1 over "type size\0" + content). */
export function hashObject(type: ObjectType, content: Buffer): string {
  return createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
}

/** ObjectStore is the object database of one store. Writes are idempotent: an existing id is not rewritten. */
export class ObjectStore {
  readonly gitdir: string;
  readonly objectsDir: string;
  /** Objects made in memory only (dry runs such as status); read before the disk. */
  private readonly overlay = new Map<string, { type: ObjectType; content: Buffer }>();
  private readonly knownDirs = new Set<string>();
  private readonly packs: PackReader;
  private packWriter?: PackWriter;

  constructor(gitdir: string) {
    this.gitdir = gitdir;
    this.objectsDir = join(gitdir, 'objects');
    this.packs = new PackReader(this.objectsDir);
    this.packs.refresh();
  }

  /**
   * Sends objects written from now on into one new pack instead of loose files, until finishPack.
   * Large file blobs (streamed) are still written loose.
   */
  async beginPack(): Promise<void> {
    this.packWriter ??= await PackWriter.create(this.objectsDir);
  }

  /** Completes the pack begun by beginPack (nothing is written when it is empty). */
  async finishPack(): Promise<void> {
    const writer = this.packWriter;
    this.packWriter = undefined;
    if (!writer) return;
    try {
      await writer.finish();
    } catch (error) {
      await writer.abort();
      throw error;
    }
    this.packs.refresh();
  }

  /** Deletes the pack begun by beginPack, after a failure. */
  async abortPack(): Promise<void> {
    const writer = this.packWriter;
    this.packWriter = undefined;
    await writer?.abort();
  }

  /** Reports whether a pack is being written. */
  get packing(): boolean {
    return this.packWriter !== undefined;
  }

  /**
   * Adds an already deflated blob (zlib over the content only) to the pack being written, unless
   * stored. `deflated` is copied before this returns.
   */
  addDeflatedBlob(oid: string, size: number, deflated: Uint8Array): void {
    if (this.has(oid)) return;
    this.packWriter!.add(oid, 'blob', size, deflated);
  }

  private loosePath(oid: string): string {
    return join(this.objectsDir, oid.slice(0, 2), oid.slice(2));
  }

  /** Reports whether the store (loose, packed, or being packed) or memory holds an object with this id. */
  has(oid: string): boolean {
    return this.overlay.has(oid) || (this.packWriter?.has(oid) ?? false) || fs.existsSync(this.loosePath(oid)) || this.packs.has(oid);
  }

  /** Reports whether the store itself has an object with this id, loose or packed (memory aside). */
  stored(oid: string): boolean {
    return fs.existsSync(this.loosePath(oid)) || this.packs.has(oid);
  }

  /** Returns the ids of packed objects that start with `prefix` (lowercase hex, 2 to 40 digits). */
  packedIdsWithPrefix(prefix: string): string[] {
    this.packs.refresh();
    return this.packs.idsWithPrefix(prefix);
  }

  /** Stores an object in memory only, for trees of a dry run that diffing must read back. */
  putInMemory(type: ObjectType, content: Buffer): string {
    const oid = hashObject(type, content);
    this.overlay.set(oid, { type, content });
    return oid;
  }

  /** Writes an object given whole in memory and returns its id. */
  async write(type: ObjectType, content: Buffer): Promise<string> {
    const oid = hashObject(type, content);
    if (this.has(oid)) return oid;
    if (this.packWriter) {
      this.packWriter.add(oid, type, content.length, deflate(content));
      return oid;
    }
    const header = Buffer.from(`${type} ${content.length}\0`);
    const deflated = deflate(Buffer.concat([header, content]));
    await this.install(oid, deflated);
    return oid;
  }

  /**
   * Writes the content of a regular file as a blob, or only hashes it when `store` is false, and
   * returns the blob id. Files above 1 MiB are streamed, so memory use does not grow with file size.
   * Throws CORRUPT-free IO errors; a file whose size differs from `size` while read throws IO.
   */
  async writeFileBlob(path: Buffer, size: number, store: boolean): Promise<string> {
    if (size <= STREAM_THRESHOLD) {
      let content: Buffer;
      try {
        content = await fsp.readFile(path);
      } catch (error) {
        throw ioError('reading', path, error);
      }
      if (!store) return hashObject('blob', content);
      return this.write('blob', content);
    }
    return this.streamFileBlob(path, size, store);
  }

  /**
   * Hashes a large file on one of libuv's threads, reading it in chunks, and with `store` deflates
   * it into a loose object as it goes. No chunk reaches the JS heap, so memory stays flat whatever
   * the file's size.
   * NOTE: the native code looks for an existing object among loose objects only, so content that
   * is already packed (after a 'git gc' of the store) is written once more as a loose object.
   */
  private async streamFileBlob(path: Buffer, size: number, store: boolean): Promise<string> {
    const reply = await hashFiles([path], [size], store ? 'loose' : 'hash', this.objectsDir);
    const error = reply.errors[0];
    if (error?.code === 'ECHANGED') {
      throw new SnapError('IO', `file '${path.toString()}' ${error.message}; retry when it is not being written`);
    }
    if (error) throw ioError(store ? 'storing' : 'reading', path, Object.assign(new Error(error.message), { code: error.code }));
    return reply.oids.toString('hex', 0, 20);
  }

  /**
   * Returns a temporary file name in objects/xx, so the final rename stays within one directory
   * (renames across directories take a filesystem-wide lock). The native hashFiles names its own
   * temporary files there tmp_obj_PID_N with a counter of its own, so these carry "js" to differ.
   */
  private tempPath(oid: string): string {
    tempCounter += 1;
    return join(this.objectsDir, oid.slice(0, 2), `tmp_obj_${process.pid}_js${tempCounter}`);
  }

  /**
   * Creates a new temporary file for `oid` ('wx': a file of that name that is not this call's own
   * is neither overwritten nor removed). A name that exists already is skipped for the next one:
   * a process killed while writing leaves its files behind, and in a PID namespace the next snap
   * can have the same PID.
   */
  private async openTemp(oid: string): Promise<{ temp: string; handle: fsp.FileHandle }> {
    for (let attempt = 0; ; attempt++) {
      const temp = this.tempPath(oid);
      try {
        return { temp, handle: await fsp.open(temp, 'wx', 0o444) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 999) throw ioError('writing object', oid, error);
      }
    }
  }

  private async install(oid: string, deflated: Buffer): Promise<void> {
    await this.makeDir(oid);
    const { temp, handle } = await this.openTemp(oid);
    try {
      try {
        await handle.writeFile(deflated);
      } finally {
        await handle.close();
      }
      await this.rename(temp, oid);
    } catch (error) {
      await fsp.rm(temp, { force: true });
      throw ioError('writing object', oid, error);
    }
  }

  private async makeDir(oid: string): Promise<void> {
    const dir = join(this.objectsDir, oid.slice(0, 2));
    if (!this.knownDirs.has(dir)) {
      await fsp.mkdir(dir, { recursive: true });
      this.knownDirs.add(dir);
    }
  }

  private async rename(temp: string, oid: string): Promise<void> {
    await this.makeDir(oid);
    await fsp.rename(temp, this.loosePath(oid));
  }

  /**
   * Reads a whole object. Throws NOT_FOUND when no object has this id. Like the pack reader, it
   * reads synchronously, because objects read whole are small and usually in the page cache.
   */
  async read(oid: string): Promise<{ type: ObjectType; content: Buffer }> {
    const found = this.overlay.get(oid) ?? this.packs.read(oid);
    if (found) return found;
    let deflated: Buffer | undefined;
    try {
      deflated = fs.readFileSync(this.loosePath(oid));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError('reading object', oid, error);
    }
    if (deflated) {
      let raw: Buffer;
      try {
        raw = zlib.inflateSync(deflated);
      } catch (error) {
        throw corrupt(oid, error);
      }
      return parseLoose(oid, raw);
    }
    // A pack written by another process since the indexes were loaded.
    this.packs.refresh();
    const packed = this.packs.read(oid);
    if (!packed) throw new SnapError('NOT_FOUND', `object ${oid} not found in the store; run 'git fsck' on the store`);
    return packed;
  }

  /** Reads an object and checks its type. */
  async readTyped(oid: string, type: ObjectType): Promise<Buffer> {
    const object = await this.read(oid);
    if (object.type !== type) {
      throw new SnapError('CORRUPT', `object ${oid} is a ${object.type}, expected a ${type}`);
    }
    return object.content;
  }

  /**
   * Opens a blob's content as a stream. Loose blobs and packed blobs stored whole are inflated as
   * they are read, so a large blob never sits whole in memory; a deltified blob is rebuilt first.
   */
  async openBlob(oid: string): Promise<Readable> {
    // Packs first: their indexes are in memory, where a loose object costs a stat to find.
    const packed = this.overlay.has(oid) ? undefined : this.packs.openBlob(oid);
    if (packed) return packed;
    const path = this.loosePath(oid);
    if (!this.overlay.has(oid) && fs.existsSync(path)) {
      // pipe() does not pass errors on, so each stage's error ends the stream the caller reads.
      const file = createReadStream(path);
      const inflater = zlib.createInflate();
      const stripper = new HeaderStripper(oid);
      file.on('error', (error) => stripper.destroy(ioError('reading object', oid, error)));
      inflater.on('error', (error) => stripper.destroy(corrupt(oid, error)));
      return file.pipe(inflater).pipe(stripper);
    }
    const content = await this.readTyped(oid, 'blob');
    return Readable.from([content]);
  }

  /** Closes files held open for reading packs. */
  async close(): Promise<void> {
    this.packs.close();
  }
}

function corrupt(oid: string, cause: unknown): SnapError {
  return new SnapError('CORRUPT', `object ${oid} is damaged (${(cause as Error).message}); run 'git fsck' on the store`, { cause });
}

function parseLoose(oid: string, raw: Buffer): { type: ObjectType; content: Buffer } {
  const nul = raw.indexOf(0);
  const header = raw.subarray(0, nul).toString('latin1');
  const space = header.indexOf(' ');
  const type = header.slice(0, space) as ObjectType;
  const size = Number(header.slice(space + 1));
  const content = raw.subarray(nul + 1);
  if (nul < 0 || content.length !== size) throw new SnapError('CORRUPT', `object ${oid} is damaged; run 'git fsck' on the store`);
  return { type, content };
}

/** Drops the "blob <size>\0" header from an inflated loose object stream and checks the type. */
class HeaderStripper extends Transform {
  private pending: Buffer | null = Buffer.alloc(0);
  constructor(private readonly oid: string) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    if (this.pending === null) return done(null, chunk);
    const joined = Buffer.concat([this.pending, chunk]);
    const nul = joined.indexOf(0);
    if (nul < 0) {
      this.pending = joined;
      return done();
    }
    if (!joined.subarray(0, nul).toString('latin1').startsWith('blob ')) {
      return done(new SnapError('CORRUPT', `object ${this.oid} is not a blob`));
    }
    this.pending = null;
    done(null, joined.subarray(nul + 1));
  }
}

/**
 * Deflates an object held in memory, synchronously. Each asynchronous zlib call keeps a stream of
 * about 280 KiB of native memory until it finishes. A build writing hundreds of directories at once
 * had hundreds of them alive (75 MB), and these objects are small, so deflating here is cheap.
 */
function deflate(data: Buffer): Buffer {
  return zlib.deflateSync(data, { level: DEFLATE_LEVEL });
}
