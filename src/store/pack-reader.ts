// Reading objects from Git packs through their version 2 indexes: lookups by binary search,
// entries read at their offset, and deltas (offset and reference) applied in memory. Entries are
// read with synchronous calls, because they are small and usually in the page cache, where a
// thread-pool round trip per read costs more than the read itself.

import { createReadStream } from 'node:fs';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { SnapError } from '../errors.js';
import { inflateExact } from '../native/index.js';
import type { ObjectType } from './objects.js';

const TYPE_NAMES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

/** Blobs up to this size are inflated whole by openBlob; larger ones are streamed. */
const INFLATE_WHOLE_MAX = 1024 * 1024;

/** Bytes read for an entry header: type, size and a delta's base fit in far fewer. */
const HEADER_MAX = 64;

/** Bytes read at an entry's offset at once: the header and, for a small entry, all its data. */
const ENTRY_READ_BYTES = 8192;

interface EntryHeader {
  type: number;
  size: number;
  /** Offset of the zlib data. */
  dataOffset: number;
  baseOffset?: number;
  baseOid?: string;
}

/** Parses an entry header: type and size, then the base of a delta. `bytes` start at `offset`. */
function parseHeader(bytes: Buffer, offset: number): EntryHeader {
  let byte = bytes[0];
  const type = (byte >> 4) & 7;
  let size = byte & 0x0f;
  let shift = 4;
  let position = 1;
  while (byte & 0x80) {
    byte = bytes[position++];
    size += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  }
  const header: EntryHeader = { type, size, dataOffset: offset + position };
  if (type === OFS_DELTA) {
    byte = bytes[position++];
    let distance = byte & 0x7f;
    while (byte & 0x80) {
      byte = bytes[position++];
      distance = (distance + 1) * 128 + (byte & 0x7f);
    }
    header.baseOffset = offset - distance;
    header.dataOffset = offset + position;
  } else if (type === REF_DELTA) {
    header.baseOid = bytes.toString('hex', position, position + 20);
    header.dataOffset = offset + position + 20;
  }
  return header;
}

/** One pack file and its index. */
class Pack {
  private fd?: number;
  private size?: number;
  /** Reused by every readEntry, which reads synchronously and inflates into a new Buffer. */
  private readonly readBuffer = Buffer.allocUnsafe(ENTRY_READ_BYTES);
  readonly count: number;

  constructor(readonly packPath: string, private readonly index: Buffer) {
    if (index.readUInt32BE(0) !== 0xff744f63 || index.readUInt32BE(4) !== 2) {
      throw new SnapError('UNSUPPORTED', `pack index '${packPath}' is not version 2; repack the store with git`);
    }
    this.count = index.readUInt32BE(8 + 255 * 4);
  }

  /** Returns the offset of an object in this pack, or undefined. */
  find(oid: Buffer): number | undefined {
    const first = oid[0];
    let low = first === 0 ? 0 : this.index.readUInt32BE(8 + (first - 1) * 4);
    let high = this.index.readUInt32BE(8 + first * 4);
    const oidsStart = 8 + 1024;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const order = oid.compare(this.index, oidsStart + middle * 20, oidsStart + middle * 20 + 20);
      if (order === 0) return this.offsetAt(middle);
      if (order < 0) high = middle;
      else low = middle + 1;
    }
    return undefined;
  }

  /** Returns the ids in this pack that start with `prefix` (lowercase hex, 2 to 40 digits). */
  idsWithPrefix(prefix: string): string[] {
    const first = parseInt(prefix.slice(0, 2), 16);
    let low = first === 0 ? 0 : this.index.readUInt32BE(8 + (first - 1) * 4);
    let high = this.index.readUInt32BE(8 + first * 4);
    const lowest = Buffer.from(prefix.padEnd(40, '0'), 'hex');
    const oidsStart = 8 + 1024;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (lowest.compare(this.index, oidsStart + middle * 20, oidsStart + middle * 20 + 20) > 0) low = middle + 1;
      else high = middle;
    }
    const found: string[] = [];
    for (let position = low; position < this.count; position++) {
      const oid = this.index.toString('hex', oidsStart + position * 20, oidsStart + position * 20 + 20);
      if (!oid.startsWith(prefix)) break;
      found.push(oid);
    }
    return found;
  }

  private offsetAt(position: number): number {
    const offsetsStart = 8 + 1024 + this.count * 24;
    const small = this.index.readUInt32BE(offsetsStart + position * 4);
    if (!(small & 0x80000000)) return small;
    const largeStart = offsetsStart + this.count * 4;
    return Number(this.index.readBigUInt64BE(largeStart + (small & 0x7fffffff) * 8));
  }

  private file(): number {
    this.fd ??= fs.openSync(this.packPath, 'r');
    return this.fd;
  }

  /** Reads the header of the entry at `offset`. */
  header(offset: number): EntryHeader {
    const bytes = Buffer.alloc(HEADER_MAX);
    fs.readSync(this.file(), bytes, 0, HEADER_MAX, offset);
    return parseHeader(bytes, offset);
  }

  private dataEnd(): number {
    this.size ??= fs.fstatSync(this.file()).size;
    return this.size - 20;
  }

  /**
   * Reads the entry at `offset`: its header and its data, inflated. zlib data is never much larger
   * than what it holds (deflate adds 5 bytes per 16 KiB stored block, and the zlib wrapper 6), so
   * reading size + size/1000 + 64 bytes covers it. zlib stops at the end of its stream and ignores
   * the rest. An entry that fits in ENTRY_READ_BYTES, as most trees and metadata blobs do, takes
   * one read for header and data together.
   */
  readEntry(offset: number): { header: EntryHeader; data: Buffer } {
    const first = this.readBuffer;
    const got = fs.readSync(this.file(), first, 0, first.length, offset);
    if (got < HEADER_MAX) first.fill(0, got, HEADER_MAX);
    const header = parseHeader(first, offset);
    const length = Math.max(0, Math.min(header.size + Math.ceil(header.size / 1000) + 64, this.dataEnd() - header.dataOffset));
    const start = header.dataOffset - offset;
    let compressed: Buffer;
    if (start + length <= got) {
      compressed = first.subarray(start, start + length);
    } else {
      compressed = Buffer.allocUnsafe(length);
      compressed = compressed.subarray(0, fs.readSync(this.file(), compressed, 0, length, header.dataOffset));
    }
    try {
      return { header, data: inflateExact(compressed, header.size) };
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'Z_DATA_ERROR') throw cause;
      throw new SnapError('CORRUPT', `pack '${this.packPath}' has a damaged entry at offset ${offset}`, { cause });
    }
  }

  /** Streams the inflated data of a non-delta entry, reading no further than readEntry would. */
  streamAt(header: EntryHeader): Readable {
    const end = Math.min(header.dataOffset + header.size + Math.ceil(header.size / 1000) + 64, this.dataEnd());
    return createReadStream(this.packPath, { start: header.dataOffset, end: end - 1 }).pipe(zlib.createInflate());
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** PackReader finds and reads objects in the packs of one object directory. */
export class PackReader {
  private packs: Pack[] = [];
  private loadedNames = new Set<string>();

  constructor(private readonly objectsDir: string) {}

  /** Loads indexes of packs not seen yet. Cheap when nothing changed. */
  refresh(): void {
    const dir = join(this.objectsDir, 'pack');
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.endsWith('.idx') || this.loadedNames.has(name)) continue;
      const packPath = join(dir, name.replace(/\.idx$/, '.pack'));
      if (!fs.existsSync(packPath)) continue;
      this.packs.push(new Pack(packPath, fs.readFileSync(join(dir, name))));
      this.loadedNames.add(name);
    }
  }

  private locate(oid: string): { pack: Pack; offset: number } | undefined {
    const key = Buffer.from(oid, 'hex');
    for (const pack of this.packs) {
      const offset = pack.find(key);
      if (offset !== undefined) return { pack, offset };
    }
    return undefined;
  }

  /** Returns the ids in any pack that start with `prefix` (lowercase hex, 2 to 40 digits). */
  idsWithPrefix(prefix: string): string[] {
    return this.packs.flatMap((pack) => pack.idsWithPrefix(prefix));
  }

  /** Reports whether some pack holds this object. */
  has(oid: string): boolean {
    return this.locate(oid) !== undefined;
  }

  /** Reads a whole object, applying deltas; undefined when no pack holds it. */
  read(oid: string): { type: ObjectType; content: Buffer } | undefined {
    const found = this.locate(oid);
    if (!found) return undefined;
    return this.readAt(found.pack, found.offset, 0);
  }

  private readAt(pack: Pack, offset: number, depth: number): { type: ObjectType; content: Buffer } {
    if (depth > 1000) throw new SnapError('CORRUPT', `pack '${pack.packPath}' has a delta chain over 1000 long`);
    const { header, data } = pack.readEntry(offset);
    if (header.type !== OFS_DELTA && header.type !== REF_DELTA) {
      const type = TYPE_NAMES[header.type];
      if (!type) throw new SnapError('CORRUPT', `pack '${pack.packPath}' has an entry of unknown type ${header.type}`);
      return { type, content: data };
    }
    let base: { type: ObjectType; content: Buffer } | undefined;
    if (header.baseOffset !== undefined) base = this.readAt(pack, header.baseOffset, depth + 1);
    else base = this.read(header.baseOid!);
    if (!base) throw new SnapError('CORRUPT', `delta base ${header.baseOid} not found in the store`);
    return { type: base.type, content: applyDelta(base.content, data) };
  }

  /** Streams a blob's content; a deltified blob is rebuilt in memory first. */
  openBlob(oid: string): Readable | undefined {
    const found = this.locate(oid);
    if (!found) return undefined;
    const header = found.pack.header(found.offset);
    // A small blob is read and inflated in one step on the open pack: a stream per blob costs an
    // open, a close and an inflate stream each, which dominated exports of many small files.
    if (header.type === 3 && header.size > INFLATE_WHOLE_MAX) return found.pack.streamAt(header);
    const object = this.readAt(found.pack, found.offset, 0);
    return Readable.from([object.content]);
  }

  /** Closes open pack files. */
  close(): void {
    for (const pack of this.packs) pack.close();
  }
}

/** Applies a Git delta (source size, target size, then copy and insert instructions) to `base`. */
export function applyDelta(base: Buffer, delta: Buffer): Buffer {
  let position = 0;
  const readSize = (): number => {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = delta[position++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  const sourceSize = readSize();
  const targetSize = readSize();
  if (sourceSize !== base.length) throw new SnapError('CORRUPT', 'delta does not match its base object');
  const out = Buffer.alloc(targetSize);
  let written = 0;
  while (position < delta.length) {
    const op = delta[position++];
    if (op & 0x80) {
      let copyOffset = 0;
      let copySize = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) copyOffset += delta[position++] * 2 ** (8 * i);
      for (let i = 0; i < 3; i++) if (op & (0x10 << i)) copySize += delta[position++] * 2 ** (8 * i);
      if (copySize === 0) copySize = 0x10000;
      written += base.copy(out, written, copyOffset, copyOffset + copySize);
    } else if (op > 0) {
      written += delta.copy(out, written, position, position + op);
      position += op;
    } else {
      throw new SnapError('CORRUPT', 'delta has an invalid instruction');
    }
  }
  if (written !== targetSize) throw new SnapError('CORRUPT', 'delta produced the wrong size');
  return out;
}
