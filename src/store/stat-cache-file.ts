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

/** Encodes a cache file of format `version`. */
export function encodeCache(version: number, contents: CacheContents): Buffer {
  const records: [string, DirRecord][] = contents.dirs.map(([path, dir]) => [path, {
    racy: dir.racy,
    rootfsOid: dir.rootfsOid,
    ...(dir.metaOid !== undefined ? { metaOid: dir.metaOid } : {}),
    count: tableCount(dir.table),
    namesLength: dir.table.names.length,
  }]);
  const header = v8.serialize({ ...(contents.root ? { root: contents.root } : {}), dirs: records });
  let size = PREAMBLE + padded(header.length);
  for (const [, dir] of contents.dirs) size += dir.table.numbers.byteLength + dir.table.bigints.byteLength + padded(dir.table.names.length);

  const out = Buffer.alloc(size);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(version, MAGIC.length);
  out.writeUInt32LE(header.length, MAGIC.length + 4);
  header.copy(out, PREAMBLE);
  let offset = PREAMBLE + padded(header.length);
  for (const [, { table }] of contents.dirs) {
    for (const array of [table.numbers, table.bigints]) {
      out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), offset);
      offset += array.byteLength;
    }
    table.names.copy(out, offset);
    offset += padded(table.names.length);
  }
  return out;
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
