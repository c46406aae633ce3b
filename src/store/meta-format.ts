// The per-directory metadata record format (version 1), described in docs/FORMAT.md.
//
// One blob per directory lists the directory's children, one line each:
//   NAME TYPE MODE UID GID MTIME [size=N] [rdev=MAJOR:MINOR] [link=PATH] [xattr.NAME=VALUE]...
// NAME, PATH, and xattr names and values are percent-encoded: every byte outside 0x21-0x7e and
// the bytes '%' and '=' become %XX, so any byte string fits on one line.

import { SnapError } from '../errors.js';
import type { Entry, EntryType, Xattr } from '../tree/entry.js';

/** First line of every metadata blob; a reader rejects other versions. */
export const META_HEADER = 'snap-meta 1';

const TYPE_LETTERS: Record<EntryType, string> = { file: 'f', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p' };
const LETTER_TYPES: Record<string, EntryType> = { f: 'file', d: 'dir', l: 'symlink', c: 'char', b: 'block', p: 'fifo' };

/** Name under which the root directory records its own metadata in the root metadata blob. */
export const ROOT_RECORD_NAME = Buffer.from('.');

/** Percent-encodes bytes for a metadata field. */
export function encodeField(bytes: Buffer): string {
  if (!needsPercent(bytes)) return bytes.toString('latin1');
  let out = '';
  for (const byte of bytes) {
    if (byte > 0x20 && byte < 0x7f && byte !== 0x25 && byte !== 0x3d) out += String.fromCharCode(byte);
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function needsPercent(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte <= 0x20 || byte >= 0x7f || byte === 0x25 || byte === 0x3d) return true;
  }
  return false;
}

/** Decodes a percent-encoded metadata field. */
export function decodeField(text: string): Buffer {
  // Most fields have no escapes, and each character of the latin1 text is then its byte.
  if (!text.includes('%')) return Buffer.from(text, 'latin1');
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%') {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i));
    }
  }
  return Buffer.from(bytes);
}

/** Formats nanoseconds since the epoch as "SECONDS.NANOSECONDS" (nine digits; seconds may be negative). */
export function formatTime(ns: bigint): string {
  if (ns >= 0n) {
    const digits = ns.toString().padStart(10, '0');
    return `${digits.slice(0, -9)}.${digits.slice(-9)}`;
  }
  let seconds = ns / 1_000_000_000n;
  let fraction = ns % 1_000_000_000n;
  if (fraction < 0n) {
    seconds -= 1n;
    fraction += 1_000_000_000n;
  }
  return `${seconds}.${fraction.toString().padStart(9, '0')}`;
}

/** A time as formatTime writes it for a time at or after the epoch. */
const NON_NEGATIVE_TIME = /^\d+\.\d{9}$/;

function parseTime(text: string): bigint {
  // Nine fraction digits make the nanosecond count the digits without the dot.
  if (NON_NEGATIVE_TIME.test(text)) return BigInt(text.slice(0, -10) + text.slice(-9));
  const [seconds, fraction] = text.split('.');
  return BigInt(seconds) * 1_000_000_000n + BigInt(fraction);
}

/** Formats one child's record line (without the newline). `name` is the entry's own name. */
export function formatRecord(name: Buffer, entry: Entry): string {
  const mode = entry.mode.toString(8).padStart(4, '0');
  let line = `${encodeField(name)} ${TYPE_LETTERS[entry.type]} ${mode} ${entry.uid} ${entry.gid} ${formatTime(entry.mtimeNs)}`;
  if (entry.type === 'file') line += ` size=${entry.size}`;
  if (entry.type === 'char' || entry.type === 'block') line += ` rdev=${entry.rdevMajor ?? 0}:${entry.rdevMinor ?? 0}`;
  if (entry.linkTarget) line += ` link=${encodeField(entry.linkTarget)}`;
  for (const xattr of entry.xattrs) {
    line += ` xattr.${encodeField(Buffer.from(xattr.name))}=${encodeField(xattr.value)}`;
  }
  return line;
}

/** Serializes the records of a directory's children, sorted bytewise by name. */
export function encodeMeta(records: { name: Buffer; entry: Entry }[]): Buffer {
  const sorted = [...records].sort((a, b) => Buffer.compare(a.name, b.name));
  const lines = [META_HEADER, ...sorted.map((record) => formatRecord(record.name, record.entry))];
  return Buffer.from(lines.join('\n') + '\n', 'latin1');
}

/** A parsed record: the child's name and its entry, with `path` joined onto the directory path. */
export interface MetaRecord {
  name: Buffer;
  entry: Entry;
}

/** Parses a metadata blob of the directory at `dirPath`. Throws CORRUPT on any malformed line. */
export function decodeMeta(oid: string, dirPath: Buffer, content: Buffer): MetaRecord[] {
  return splitMeta(oid, content).map((line) => parseRecord(oid, dirPath, line));
}

/**
 * Returns the record lines of a metadata blob, unparsed, in blob order. Throws CORRUPT when the
 * blob has another format version. Equal lines always parse to equal records, so a caller can
 * compare lines first and parse only the ones that differ.
 */
export function splitMeta(oid: string, content: Buffer): string[] {
  checkMetaHeader(oid, content);
  return content.toString('latin1').split('\n').slice(1).filter((line) => line !== '');
}

/** Throws CORRUPT when a metadata blob does not start with the header line of this format version. */
export function checkMetaHeader(oid: string, content: Buffer): void {
  const end = content.indexOf(0x0a);
  const first = content.toString('latin1', 0, end < 0 ? content.length : end);
  if (first !== META_HEADER) {
    throw new SnapError('CORRUPT', `metadata blob ${oid} has format '${first.slice(0, 40)}', expected '${META_HEADER}'; this store needs a newer snap`);
  }
}

/** Returns the decoded name of a record line as a latin1 string (one character per byte). */
export function recordKey(line: string): string {
  const space = line.indexOf(' ');
  return decodeKey(space < 0 ? line : line.slice(0, space));
}

/** Decodes a percent-encoded field into a latin1 string (one character per byte). */
export function decodeKey(field: string): string {
  return field.includes('%') ? decodeField(field).toString('latin1') : field;
}

/** Characters of a latin1 string that encodeField escapes. */
const NEEDS_PERCENT = /[\x00-\x20\x7f-\xff%=]/;

/** Percent-encodes a name given as a latin1 string, as encodeField does its bytes. */
export function encodeKey(key: string): string {
  return NEEDS_PERCENT.test(key) ? encodeField(Buffer.from(key, 'latin1')) : key;
}

/**
 * Parses one record line of the metadata blob `oid` of the directory at `dirPath`. Throws CORRUPT
 * on a malformed line. `name` saves decoding the name again when the caller has it.
 */
export function parseRecord(oid: string, dirPath: Buffer, line: string, name?: Buffer): MetaRecord {
  const fields = line.split(' ');
  const type = LETTER_TYPES[fields[1]];
  if (fields.length < 6 || !type) throw new SnapError('CORRUPT', `metadata blob ${oid} has a malformed record: ${line.slice(0, 80)}`);
  name ??= decodeField(fields[0]);
  const isRoot = name.equals(ROOT_RECORD_NAME);
  const entry: Entry = {
    path: isRoot ? Buffer.alloc(0) : joinPath(dirPath, name),
    type,
    mode: parseInt(fields[2], 8),
    uid: Number(fields[3]),
    gid: Number(fields[4]),
    mtimeNs: parseTime(fields[5]),
    size: 0,
    xattrs: [],
  };
  const xattrs: Xattr[] = [];
  for (const field of fields.slice(6)) {
    const equals = field.indexOf('=');
    const key = field.slice(0, equals);
    const value = field.slice(equals + 1);
    if (key === 'size') entry.size = Number(value);
    else if (key === 'rdev') [entry.rdevMajor, entry.rdevMinor] = value.split(':').map(Number);
    else if (key === 'link') entry.linkTarget = decodeField(value);
    else if (key.startsWith('xattr.')) xattrs.push({ name: decodeField(key.slice(6)).toString('utf8'), value: decodeField(value) });
    else throw new SnapError('CORRUPT', `metadata blob ${oid} has an unknown field '${key}'; this store needs a newer snap`);
  }
  entry.xattrs = xattrs;
  return { name, entry };
}

/** Joins a directory path and a child name with '/' (the rootfs itself has the empty path). */
export function joinPath(dir: Buffer, name: Buffer): Buffer {
  if (dir.length === 0) return name;
  const path = Buffer.allocUnsafe(dir.length + 1 + name.length);
  dir.copy(path, 0);
  path[dir.length] = 0x2f;
  name.copy(path, dir.length + 1);
  return path;
}
