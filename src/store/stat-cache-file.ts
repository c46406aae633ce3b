// The stat cache's file format. The stat tables make up nearly all of it (about 130 bytes per
// entry), so they are stored as raw arrays that loading only views, and v8 serialization is kept
// for the small per-directory records.
//
//   magic     8 bytes, "snapidx\n"
//   version   uint32 LE
//   length    uint32 LE, the byte length of the header that follows
//   header    v8.serialize({ root?: StatInfo, dirs: [path, DirRecord][] }), zero padded to 8 bytes
//   tables    for each directory of the header, in order: numbers (Float64) and bigints
//             (BigUint64) in the host's byte order, then names zero padded to a multiple of 8 bytes
//
// The host's byte order suffices because the cache describes files on this machine only. A cache
// copied to a machine of the other order fails every comparison, so the next commit rebuilds it.

import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import { tableCount, type StatInfo, type StatTable } from '../native/index.js';
import type { CachedDir } from './stat-cache.js';

const MAGIC = Buffer.from('snapidx\n');
const PREAMBLE = MAGIC.length + 8;
const NUMBER_FIELDS = 12;
const BIGINT_FIELDS = 4;

/** One directory's record in the header. Its table follows the header. */
interface DirRecord {
  racy: string[];
  rootfsOid: string;
  metaOid?: string;
  count: number;
  namesLength: number;
}

/** The contents of a cache file: the root's own stat, and the directories by latin1 path. */
export interface CacheContents {
  root?: StatInfo;
  dirs: [string, CachedDir][];
}

function padded(length: number): number {
  return Math.ceil(length / 8) * 8;
}

/** Bytes gathered before each write of writeCache. */
const WRITE_CHUNK = 1 << 20;

/**
 * Writes a cache file of format `version` to `path`, replacing any file there. The tables are
 * copied into one small reused buffer on their way out rather than into a second copy of the
 * whole file, so a large cache costs no extra memory to write.
 */
export function writeCache(path: string, version: number, contents: CacheContents): void {
  const records: [string, DirRecord][] = contents.dirs.map(([path, dir]) => [path, {
    racy: dir.racy,
    rootfsOid: dir.rootfsOid,
    ...(dir.metaOid !== undefined ? { metaOid: dir.metaOid } : {}),
    count: tableCount(dir.table),
    namesLength: dir.table.names.length,
  }]);
  const header = v8.serialize({ ...(contents.root ? { root: contents.root } : {}), dirs: records });
  const preamble = Buffer.alloc(PREAMBLE);
  MAGIC.copy(preamble, 0);
  preamble.writeUInt32LE(version, MAGIC.length);
  preamble.writeUInt32LE(header.length, MAGIC.length + 4);

  const fd = fs.openSync(path, 'w');
  try {
    const out = new ChunkedWriter(fd);
    out.write(preamble);
    out.write(header);
    out.pad(header.length);
    for (const [, { table }] of contents.dirs) {
      out.write(new Uint8Array(table.numbers.buffer, table.numbers.byteOffset, table.numbers.byteLength));
      out.write(new Uint8Array(table.bigints.buffer, table.bigints.byteOffset, table.bigints.byteLength));
      out.write(table.names);
      out.pad(table.names.length);
    }
    out.flush();
  } finally {
    fs.closeSync(fd);
  }
}

/** Buffers writes to a file descriptor into writes of about WRITE_CHUNK bytes. */
class ChunkedWriter {
  private readonly buffer = Buffer.allocUnsafe(WRITE_CHUNK);
  private used = 0;

  constructor(private readonly fd: number) {}

  write(data: Uint8Array): void {
    if (this.used + data.length > this.buffer.length) this.flush();
    if (data.length > this.buffer.length) {
      writeAll(this.fd, data);
    } else {
      this.buffer.set(data, this.used);
      this.used += data.length;
    }
  }

  /** Writes the zero bytes that pad a part of `length` bytes to a multiple of 8. */
  pad(length: number): void {
    this.write(ZEROS.subarray(0, padded(length) - length));
  }

  flush(): void {
    writeAll(this.fd, this.buffer.subarray(0, this.used));
    this.used = 0;
  }
}

const ZEROS = new Uint8Array(8);

function writeAll(fd: number, data: Uint8Array): void {
  for (let offset = 0; offset < data.length; ) offset += fs.writeSync(fd, data, offset, data.length - offset);
}

/**
 * Decodes a cache file. Returns undefined for another format version, and throws for a damaged
 * file. The tables are views into `raw` (or into an aligned copy of it).
 */
export function decodeCache(version: number, raw: Buffer): CacheContents | undefined {
  if (raw.length < PREAMBLE || !raw.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  if (raw.readUInt32LE(MAGIC.length) !== version) return undefined;
  // Float64Array and BigUint64Array views need 8-byte alignment within their ArrayBuffer.
  const file = raw.byteOffset % 8 === 0 ? raw : Buffer.from(raw);
  const headerLength = file.readUInt32LE(MAGIC.length + 4);
  if (PREAMBLE + headerLength > file.length) throw new Error('stat cache header is cut short');
  const header = v8.deserialize(file.subarray(PREAMBLE, PREAMBLE + headerLength)) as { root?: StatInfo; dirs: [string, DirRecord][] };

  const dirs: [string, CachedDir][] = [];
  let offset = PREAMBLE + padded(headerLength);
  for (const [path, record] of header.dirs) {
    const numbersLength = record.count * NUMBER_FIELDS * 8;
    const bigintsLength = record.count * BIGINT_FIELDS * 8;
    const end = offset + numbersLength + bigintsLength + padded(record.namesLength);
    if (!Number.isSafeInteger(end) || end > file.length) throw new Error('stat cache tables are cut short');
    const table: StatTable = {
      numbers: new Float64Array(file.buffer, file.byteOffset + offset, record.count * NUMBER_FIELDS),
      bigints: new BigUint64Array(file.buffer, file.byteOffset + offset + numbersLength, record.count * BIGINT_FIELDS),
      names: file.subarray(offset + numbersLength + bigintsLength, offset + numbersLength + bigintsLength + record.namesLength),
    };
    dirs.push([path, { table, racy: record.racy, rootfsOid: record.rootfsOid, metaOid: record.metaOid }]);
    offset = end;
  }
  // The deserialized name is a view into the file, which would keep the whole file in memory.
  const root = header.root && { ...header.root, name: Buffer.from(header.root.name) };
  return { root, dirs };
}
