// Encodes POSIX ustar headers with PAX extended records, byte-exact, for OCI layer tarballs.
//
// tar-stream 3.x is not used for writing because it builds the PAX records and the ustar name and
// linkname fields from JavaScript strings encoded as UTF-8. A non-UTF-8 file name would be rewritten
// with U+FFFD, and a binary xattr value (security.capability contains NUL and bytes >= 0x80) has no
// string form at all. This encoder takes Buffers everywhere and copies the bytes unchanged.

import type { Xattr } from '../tree/entry.js';

/** Size of a tar block in bytes. Headers and content are padded to whole blocks. */
export const BLOCK_SIZE = 512;

/** Tar type flags used in OCI layers. */
export const TypeFlag = {
  file: 0x30, // '0'
  hardlink: 0x31, // '1'
  symlink: 0x32, // '2'
  char: 0x33, // '3'
  block: 0x34, // '4'
  dir: 0x35, // '5'
  fifo: 0x36, // '6'
  paxHeader: 0x78, // 'x'
} as const;

/** One tar entry's header, before encoding. Names and link names are raw bytes. */
export interface TarHeader {
  name: Buffer;
  typeflag: number;
  /** Permission bits including setuid, setgid and sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Content size in bytes that follows the header; 0 for anything but a regular file. */
  size: number;
  mtimeNs: bigint;
  linkname?: Buffer;
  devMajor?: number;
  devMinor?: number;
  xattrs?: Xattr[];
}

// The largest values the ustar octal fields hold: 7 digits for ids, 11 digits for size and mtime.
const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

// Every PAX extended header carries this fixed name, so output depends only on the entry itself
// (GNU tar puts its process id in this name by default, which breaks reproducibility).
const PAX_HEADER_NAME = Buffer.from('PaxHeader');

const NS_PER_SECOND = 1_000_000_000n;

/**
 * Encodes the header blocks of one entry: a PAX extended header when some value does not fit the
 * ustar fields (or is an xattr), followed by the ustar header. Content and its padding are not
 * included. Throws RangeError for device numbers above 7 octal digits, which no Linux device has.
 */
export function encodeHeader(header: TarHeader): Buffer {
  const records = paxRecords(header);
  const ustar = encodeUstar(header);
  if (records.length === 0) return ustar;

  const body = Buffer.concat(records);
  const paxHeader = encodeUstar({
    name: PAX_HEADER_NAME,
    typeflag: TypeFlag.paxHeader,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtimeNs: 0n,
  });
  return Buffer.concat([paxHeader, body, padding(body.length), ustar]);
}

/** Returns the zero bytes that fill content of `size` bytes up to a whole block. */
export function padding(size: number): Buffer {
  const rest = size % BLOCK_SIZE;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK_SIZE - rest);
}

/** Returns the end-of-archive marker: two zero blocks. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * BLOCK_SIZE);
}

/**
 * Encodes one PAX record, `<length> <key>=<value>\n`, where length counts the whole record in
 * decimal, including its own digits. The value is copied as raw bytes.
 */
export function paxRecord(key: string, value: Buffer): Buffer {
  const keyBytes = Buffer.from(key, 'utf8');
  const base = keyBytes.length + value.length + 3; // ' ', '=' and '\n'
  let digits = String(base).length;
  while (String(base + digits).length !== digits) digits += 1;

  return Buffer.concat([Buffer.from(`${base + digits} `), keyBytes, Buffer.from('='), value, Buffer.from('\n')]);
}

/** Formats nanoseconds since the epoch as PAX decimal seconds, e.g. 1700000000.000000123. */
export function formatPaxTime(ns: bigint): string {
  const sign = ns < 0n ? '-' : '';
  const magnitude = ns < 0n ? -ns : ns;
  const seconds = magnitude / NS_PER_SECOND;
  const fraction = magnitude % NS_PER_SECOND;
  if (fraction === 0n) return `${sign}${seconds}`;
  return `${sign}${seconds}.${fraction.toString().padStart(9, '0')}`;
}

// Names with a byte >= 0x80 go into a PAX record even when they fit the ustar field, as GNU tar 1.34
// does with --format=posix. Readers take the PAX value over the ustar field.
function fitsUstarString(value: Buffer, fieldLength: number): boolean {
  return value.length <= fieldLength && value.every((byte) => byte < 0x80);
}

function paxRecords(header: TarHeader): Buffer[] {
  const records: Buffer[] = [];

  if (!fitsUstarString(header.name, 100)) records.push(paxRecord('path', header.name));
  if (header.linkname && !fitsUstarString(header.linkname, 100)) records.push(paxRecord('linkpath', header.linkname));
  if (header.size > MAX_OCTAL_11) records.push(paxRecord('size', Buffer.from(String(header.size))));
  if (header.uid > MAX_OCTAL_7) records.push(paxRecord('uid', Buffer.from(String(header.uid))));
  if (header.gid > MAX_OCTAL_7) records.push(paxRecord('gid', Buffer.from(String(header.gid))));

  // The ustar mtime field stores only whole non-negative seconds, so a sub-second part or an
  // out-of-range time goes into a PAX mtime record. No atime or ctime records are written: they change on every
  // read or metadata update and would make the same snapshot produce different layers.
  const seconds = header.mtimeNs / NS_PER_SECOND;
  if (header.mtimeNs % NS_PER_SECOND !== 0n || header.mtimeNs < 0n || seconds > BigInt(MAX_OCTAL_11)) {
    records.push(paxRecord('mtime', Buffer.from(formatPaxTime(header.mtimeNs))));
  }

  // NOTE: an xattr with an empty value is written as a record with an empty value. GNU tar 1.34
  // restores it, but umoci 0.4.7 drops it because POSIX reads an empty PAX value as "unset".
  const xattrs = [...(header.xattrs ?? [])].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  for (const xattr of xattrs) records.push(paxRecord(`SCHILY.xattr.${xattr.name}`, xattr.value));

  return records;
}

function encodeUstar(header: TarHeader): Buffer {
  const block = Buffer.alloc(BLOCK_SIZE);

  header.name.copy(block, 0, 0, Math.min(header.name.length, 100));
  writeOctal(block, 100, 8, header.mode & 0o7777);
  writeOctal(block, 108, 8, header.uid > MAX_OCTAL_7 ? 0 : header.uid);
  writeOctal(block, 116, 8, header.gid > MAX_OCTAL_7 ? 0 : header.gid);
  writeOctal(block, 124, 12, header.size > MAX_OCTAL_11 ? 0 : header.size);
  writeOctal(block, 136, 12, ustarSeconds(header.mtimeNs));
  block[156] = header.typeflag;
  if (header.linkname) header.linkname.copy(block, 157, 0, Math.min(header.linkname.length, 100));
  block.write('ustar\u000000', 257, 'latin1');

  // uname and gname (offsets 265 and 297) stay empty: owners are numeric in a rootfs, and a name
  // looked up on the exporting host would differ between machines and could remap ids on extract.
  const devMajor = header.devMajor ?? 0;
  const devMinor = header.devMinor ?? 0;
  if (devMajor > MAX_OCTAL_7 || devMinor > MAX_OCTAL_7) {
    throw new RangeError(`device number ${devMajor}:${devMinor} does not fit a ustar header`);
  }
  writeOctal(block, 329, 8, devMajor);
  writeOctal(block, 337, 8, devMinor);

  // The checksum is the byte sum of the header with its own field read as eight spaces.
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');

  return block;
}

function ustarSeconds(mtimeNs: bigint): number {
  if (mtimeNs < 0n) return 0;
  const seconds = mtimeNs / NS_PER_SECOND;
  return seconds > BigInt(MAX_OCTAL_11) ? MAX_OCTAL_11 : Number(seconds);
}

// Writes `value` as zero-padded octal digits followed by a NUL, filling the field.
function writeOctal(block: Buffer, offset: number, fieldLength: number, value: number): void {
  block.write(`${value.toString(8).padStart(fieldLength - 1, '0')}\u0000`, offset, 'latin1');
}
