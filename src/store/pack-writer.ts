// Writing many new objects as one Git pack (version 2, no deltas) with its .idx (version 2), so a
// large commit creates two files instead of one file per object.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import type { ObjectType } from './objects.js';

const TYPE_CODES: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };

/** Reads are buffered into writes of about this size. */
const WRITE_CHUNK = 1 << 20;

/** Encodes a pack entry header: type and uncompressed size, 4 then 7 bits per byte. */
export function packEntryHeader(type: ObjectType, size: number): Buffer {
  const bytes: number[] = [];
  let byte = (TYPE_CODES[type] << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(byte | 0x80);
    byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(byte);
  return Buffer.from(bytes);
}

/** Ids, offsets and CRC32s of the objects written, in flat arrays that grow by doubling. */
class WrittenTable {
  count = 0;
  oids = Buffer.alloc(20 * 1024);
  offsets = new Float64Array(1024);
  crcs = new Uint32Array(1024);

  push(oid: string, offset: number, crc: number): void {
    if (this.count === this.offsets.length) {
      const oids = Buffer.alloc(this.oids.length * 2);
      this.oids.copy(oids);
      this.oids = oids;
      const offsets = new Float64Array(this.offsets.length * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
      const crcs = new Uint32Array(this.crcs.length * 2);
      crcs.set(this.crcs);
      this.crcs = crcs;
    }
    this.oids.write(oid, this.count * 20, 'hex');
    this.offsets[this.count] = offset;
    this.crcs[this.count] = crc;
    this.count += 1;
  }
}

/**
 * PackWriter appends deflated objects to a temporary pack file in objects/pack and, on finish,
 * patches the object count, appends the checksum, writes the index, and renames both into
 * place (index last, so readers never see a pack without its index). Objects are copied into one
 * reused buffer that is written out synchronously when full, so adding an object allocates
 * nothing that the garbage collector must free later. Not safe for concurrent use.
 */
export class PackWriter {
  private readonly written = new WrittenTable();
  private readonly oids = new Set<string>();
  private readonly buffer = Buffer.allocUnsafe(WRITE_CHUNK);
  private used = 0;
  /** Bytes of the pack so far, buffered ones included. */
  private offset = 0;
  /** Bytes already written to the file. */
  private flushed = 0;

  private constructor(private readonly packDir: string, private readonly tempPath: string, private readonly handle: fsp.FileHandle) {}

  /** Opens a new temporary pack in `objectsDir`/pack. */
  static async create(objectsDir: string): Promise<PackWriter> {
    const packDir = join(objectsDir, 'pack');
    await fsp.mkdir(packDir, { recursive: true });
    const tempPath = join(packDir, `tmp_pack_${process.pid}_${Date.now()}`);
    const handle = await fsp.open(tempPath, 'wx+', 0o444);
    const writer = new PackWriter(packDir, tempPath, handle);
    writer.append(Buffer.from('PACK\0\0\0\x02\0\0\0\0', 'latin1'));
    return writer;
  }

  /** Number of objects added. */
  get count(): number {
    return this.written.count;
  }

  /** Reports whether an object with this id was added to this pack. */
  has(oid: string): boolean {
    return this.oids.has(oid);
  }

  /**
   * Appends an object whose content is already deflated (zlib format, content only). `deflated`
   * is copied before this returns, so the caller may reuse its memory.
   */
  add(oid: string, type: ObjectType, size: number, deflated: Uint8Array): void {
    if (this.oids.has(oid)) return;
    const header = packEntryHeader(type, size);
    this.written.push(oid, this.offset, zlib.crc32(deflated, zlib.crc32(header)));
    this.oids.add(oid);
    this.append(header);
    this.append(deflated);
  }

  private append(data: Uint8Array): void {
    if (this.used + data.length > this.buffer.length) this.flush();
    if (data.length > this.buffer.length) {
      this.writeAt(data, this.flushed);
      this.flushed += data.length;
    } else {
      this.buffer.set(data, this.used);
      this.used += data.length;
    }
    this.offset += data.length;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.writeAt(this.buffer.subarray(0, this.used), this.flushed);
    this.flushed += this.used;
    this.used = 0;
  }

  private writeAt(data: Uint8Array, position: number): void {
    for (let done = 0; done < data.length; ) {
      done += fs.writeSync(this.handle.fd, data, done, data.length - done, position + done);
    }
  }

  /**
   * Completes the pack and its index and returns the pack's name, or deletes the temporary file
   * and returns undefined when no object was added.
   */
  async finish(): Promise<string | undefined> {
    this.flush();
    if (this.written.count === 0) {
      await this.abort();
      return undefined;
    }
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.written.count);
    await this.handle.write(count, 0, 4, 8);

    // The checksum covers the patched header, so the pack is read back once; it is in the page cache.
    const hash = createHash('sha1');
    const chunk = Buffer.alloc(WRITE_CHUNK);
    for (let position = 0; position < this.offset; ) {
      const { bytesRead } = await this.handle.read(chunk, 0, Math.min(chunk.length, this.offset - position), position);
      if (bytesRead === 0) throw new Error(`pack '${this.tempPath}' is shorter than written`);
      hash.update(chunk.subarray(0, bytesRead));
      position += bytesRead;
    }
    const checksum = hash.digest();
    await this.handle.write(checksum, 0, 20, this.offset);
    await this.handle.sync();
    await this.handle.close();

    const name = `pack-${checksum.toString('hex')}`;
    const index = encodeIndex(this.written, checksum);
    const indexTemp = join(this.packDir, `tmp_idx_${process.pid}_${Date.now()}`);
    await fsp.writeFile(indexTemp, index, { mode: 0o444 });
    await fsp.rename(this.tempPath, join(this.packDir, `${name}.pack`));
    await fsp.rename(indexTemp, join(this.packDir, `${name}.idx`));
    return name;
  }

  /** Deletes the temporary pack. */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await fsp.rm(this.tempPath, { force: true });
  }
}

/** Encodes a version 2 pack index: fan-out table, sorted ids, CRC32s, offsets, checksums. */
function encodeIndex(written: WrittenTable, packChecksum: Buffer): Buffer {
  const n = written.count;
  // Comparing ranges of the one ids buffer allocates nothing, which matters for 100,000 objects.
  const ids = written.oids;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ids.compare(ids, b * 20, b * 20 + 20, a * 20, a * 20 + 20));
  const largeCount = order.filter((i) => written.offsets[i] >= 0x80000000).length;
  const out = Buffer.alloc(8 + 1024 + n * 28 + largeCount * 8 + 40);
  out.write('\xfftOc', 0, 'latin1');
  out.writeUInt32BE(2, 4);
  let position = 8;
  let cursor = 0;
  for (let byte = 0; byte < 256; byte++) {
    while (cursor < n && written.oids[order[cursor] * 20] === byte) cursor += 1;
    out.writeUInt32BE(cursor, position);
    position += 4;
  }
  for (const i of order) {
    written.oids.copy(out, position, i * 20, i * 20 + 20);
    position += 20;
  }
  for (const i of order) {
    out.writeUInt32BE(written.crcs[i], position);
    position += 4;
  }
  let largeIndex = 0;
  const large: number[] = [];
  for (const i of order) {
    const offset = written.offsets[i];
    if (offset >= 0x80000000) large.push(offset);
    out.writeUInt32BE(offset >= 0x80000000 ? (0x80000000 | largeIndex++) >>> 0 : offset, position);
    position += 4;
  }
  for (const offset of large) {
    out.writeBigUInt64BE(BigInt(offset), position);
    position += 8;
  }
  packChecksum.copy(out, position);
  position += 20;
  createHash('sha1').update(out.subarray(0, position)).digest().copy(out, position);
  return out;
}
