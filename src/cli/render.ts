// Rendering changes, patches and commits for people and as JSON.

import type { ChalkInstance } from 'chalk';
import { changedFields, type Field, type FilePatch, type Hunk } from '../api/patch.js';
import type { Change, ChangeStatus } from '../store/diff.js';
import type { Commit } from '../store/commit-object.js';
import { formatTime } from '../store/meta-format.js';
import type { Entry, EntryType } from '../tree/entry.js';
import { displayPath, jsonPath, quotePath } from './quote.js';
import { colors } from './output.js';

/** Picks the colour of a change kind: added green, deleted red, metadata yellow, as git does. */
export function statusPaint(c: ChalkInstance, status: ChangeStatus): (text: string) => string {
  const paints: Record<ChangeStatus, (text: string) => string> = { A: c.green, D: c.red, m: c.yellow, T: c.magenta, M: c.cyan };
  return paints[status];
}

/** Formats one change as "STATUS<TAB>PATH" (git's --name-status), coloured on a terminal. */
export function formatChange(change: Change): string {
  const c = colors();
  return `${statusPaint(c, change.status)(change.status)}\t${displayPath(change.path)}`;
}

/** Words for entry types in patches and status. */
export const TYPE_WORDS: Record<EntryType, string> = {
  file: 'file',
  dir: 'directory',
  symlink: 'symlink',
  char: 'char device',
  block: 'block device',
  fifo: 'fifo',
};

/** Labels of `snap status`'s long format, padded as git pads them. */
const STATUS_LABELS: Record<ChangeStatus, string> = {
  A: 'new file:   ',
  D: 'deleted:    ',
  M: 'modified:   ',
  T: 'typechange: ',
  m: 'metadata:   ',
};

/** Formats one change for `snap status`'s long format: "\tmodified:   etc/hosts". */
export function formatStatusLine(change: Change): string {
  const c = colors();
  const entry = change.new ?? change.old!;
  const path = change.path.length === 0 ? '.' : quotePath(entry.type === 'dir' ? Buffer.concat([change.path, Buffer.from('/')]) : change.path);
  let detail = '';
  if (change.status === 'm') detail = ` (${fieldNames(changedFields(change.old, change.new)).join(', ')})`;
  else if (change.status === 'T') detail = ` (${TYPE_WORDS[change.old!.type]} -> ${TYPE_WORDS[change.new!.type]})`;
  return `\t${statusPaint(c, change.status)(STATUS_LABELS[change.status] + path)}${detail}`;
}

/** Formats one change for `snap status --short`: "XY PATH" with the letter in X, as git's staged column. */
export function formatShortLine(change: Change, c: ChalkInstance): string {
  return `${statusPaint(c, change.status)(change.status)}  ${displayPath(change.path)}`;
}

function fieldNames(fields: Field[]): string[] {
  return fields.map((field) => (field === 'mtime' ? 'time' : field));
}

// ---- JSON ----

/** The JSON form of an entry (see docs/JSON.md). */
export function entryJson(entry: Entry | undefined): Record<string, unknown> | null {
  if (!entry) return null;
  return {
    type: entry.type,
    mode: entry.mode.toString(8).padStart(4, '0'),
    uid: entry.uid,
    gid: entry.gid,
    mtime: entry.mtimeNs.toString(),
    size: entry.size,
    ...(entry.oid ? { oid: entry.oid } : {}),
    ...(entry.target ? jsonPath(entry.target, 'target') : {}),
    ...(entry.rdevMajor !== undefined ? { rdev: [entry.rdevMajor, entry.rdevMinor] } : {}),
    ...(entry.linkTarget ? jsonPath(entry.linkTarget, 'link') : {}),
    xattrs: Object.fromEntries(entry.xattrs.map((x) => [x.name, x.value.toString('base64')])),
  };
}

/** The JSON form of a change: status, path (see jsonPath), the changed fields, and the old and new entries. */
export function changeJson(change: Change): Record<string, unknown> {
  return {
    status: change.status,
    ...jsonPath(change.path),
    fields: changedFields(change.old, change.new),
    old: entryJson(change.old),
    new: entryJson(change.new),
  };
}

/** The JSON form of a patch's content: text hunks (lines as text, exact bytes in base64 when not UTF-8) or binary sizes. */
export function patchJson(patch: FilePatch): Record<string, unknown> | null {
  const content = patch.content;
  if (!content) return null;
  if (content.kind === 'binary') return { kind: 'binary', oldSize: content.oldSize, newSize: content.newSize };
  return {
    kind: 'text',
    hunks: content.hunks.map((hunk) => {
      const lines = hunk.lines.map((line) => line.toString('utf8'));
      const exact = hunk.lines.every((line, i) => Buffer.from(lines[i], 'utf8').equals(line));
      return {
        oldStart: hunk.oldStart,
        oldLines: hunk.oldLines,
        newStart: hunk.newStart,
        newLines: hunk.newLines,
        lines,
        ...(exact ? {} : { linesBase64: hunk.lines.map((line) => line.toString('base64')) }),
      };
    }),
  };
}

/** Counts of a list of changes, for --stat and JSON summaries. */
export interface ChangeSummary {
  paths: number;
  added: number;
  deleted: number;
  modified: number;
  typeChanged: number;
  metadataOnly: number;
  /** Sum of file and symlink sizes on the old and new side of every change. */
  oldBytes: number;
  newBytes: number;
}

/** Counts changes by kind and adds up sizes. */
export function summarize(changes: Change[]): ChangeSummary {
  const summary: ChangeSummary = { paths: changes.length, added: 0, deleted: 0, modified: 0, typeChanged: 0, metadataOnly: 0, oldBytes: 0, newBytes: 0 };
  const key: Record<ChangeStatus, keyof ChangeSummary> = { A: 'added', D: 'deleted', M: 'modified', T: 'typeChanged', m: 'metadataOnly' };
  for (const change of changes) {
    summary[key[change.status]] += 1;
    if (change.status === 'm') continue;
    summary.oldBytes += change.old?.size ?? 0;
    summary.newBytes += change.new?.size ?? 0;
  }
  return summary;
}

// ---- --stat ----

/** Renders git-style --stat lines: " PATH | OLD -> NEW bytes" per change and a summary line. */
export function formatStat(changes: Change[]): string[] {
  const c = colors();
  const names = changes.map((change) => displayPath(change.path));
  const width = Math.min(Math.max(0, ...names.map((name) => name.length)), 60);
  const lines = changes.map((change, i) => ` ${names[i].padEnd(width)} | ${statCell(c, change)}`);
  lines.push(formatSummary(summarize(changes)));
  return lines;
}

function statCell(c: ChalkInstance, change: Change): string {
  const old = change.old;
  const now = change.new;
  if (change.status === 'm') return c.yellow(`metadata (${fieldNames(changedFields(old, now)).join(', ')})`);
  const sized = (entry: Entry | undefined) => !entry || entry.type === 'file' || entry.type === 'symlink';
  if (change.status === 'M' && now && (now.type === 'char' || now.type === 'block')) {
    return `device ${old!.rdevMajor}:${old!.rdevMinor} -> ${now.rdevMajor}:${now.rdevMinor}`;
  }
  const prefix = change.status === 'T' ? `${TYPE_WORDS[old!.type]} -> ${TYPE_WORDS[now!.type]}, ` : '';
  if (change.status === 'A' && !sized(now)) return c.green(`new ${TYPE_WORDS[now!.type]}`);
  if (change.status === 'D' && !sized(old)) return c.red(`deleted ${TYPE_WORDS[old!.type]}`);
  const before = old?.size ?? 0;
  const after = now?.size ?? 0;
  let paint = (text: string): string => text;
  if (after > before) paint = c.green;
  if (after < before) paint = c.red;
  return `${prefix}${before} -> ${paint(String(after))} bytes`;
}

/** Renders the summary line: " 3 paths changed, 1 added, 1 deleted, 1 metadata only, +25 bytes". */
export function formatSummary(summary: ChangeSummary): string {
  const parts = [`${summary.paths} ${summary.paths === 1 ? 'path' : 'paths'} changed`];
  if (summary.added) parts.push(`${summary.added} added`);
  if (summary.deleted) parts.push(`${summary.deleted} deleted`);
  if (summary.modified) parts.push(`${summary.modified} modified`);
  if (summary.typeChanged) parts.push(`${summary.typeChanged} type changed`);
  if (summary.metadataOnly) parts.push(`${summary.metadataOnly} metadata only`);
  const delta = summary.newBytes - summary.oldBytes;
  parts.push(`${delta >= 0 ? '+' : ''}${delta} bytes`);
  return ` ${parts.join(', ')}`;
}

// ---- patches ----

/** Formats nanoseconds since the epoch as "2024-05-01 12:00:00.123456789 +0000" (UTC). */
export function formatTimeNs(ns: bigint): string {
  const [seconds, fraction] = formatTime(ns).split('.');
  const iso = new Date(Number(seconds) * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${fraction} +0000`;
}

/** Renders an xattr value: quoted text when it is printable UTF-8, else 0x and hex (long values cut). */
export function formatXattrValue(value: Buffer): string {
  const text = value.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(value) && !/[\x00-\x1f\x7f]/.test(text)) {
    return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  }
  const limit = 64;
  const hex = value.subarray(0, limit).toString('hex');
  return value.length > limit ? `0x${hex}... (${value.length} bytes)` : `0x${hex}`;
}

/** Text of the attribute lines of an entry for one field, without the "old "/"new " prefix. */
function fieldValues(field: Field, entry: Entry | undefined): string[] {
  if (!entry) return [];
  switch (field) {
    case 'type':
      return [`type ${TYPE_WORDS[entry.type]}`];
    case 'mode':
      return [`mode ${entry.mode.toString(8).padStart(4, '0')}`];
    case 'owner':
      return [`owner ${entry.uid}:${entry.gid}`];
    case 'mtime':
      return [`mtime ${formatTimeNs(entry.mtimeNs)}`];
    case 'target':
      return entry.type === 'symlink' && entry.target ? [`target ${quotePath(entry.target)}`] : [];
    case 'device':
      return entry.type === 'char' || entry.type === 'block' ? [`device ${entry.rdevMajor}:${entry.rdevMinor}`] : [];
    case 'hardlink':
      return [`hardlink set ${entry.linkTarget ? quotePath(entry.linkTarget) : 'none'}`];
    default:
      return [];
  }
}

function xattrLines(old: Entry | undefined, now: Entry | undefined): string[] {
  const lines: string[] = [];
  const before = new Map((old?.xattrs ?? []).map((x) => [x.name, x.value]));
  const after = new Map((now?.xattrs ?? []).map((x) => [x.name, x.value]));
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  for (const name of names) {
    const a = before.get(name);
    const b = after.get(name);
    if (a && b && a.equals(b)) continue;
    if (a) lines.push(`old xattr ${name}=${formatXattrValue(a)}`);
    if (b) lines.push(`new xattr ${name}=${formatXattrValue(b)}`);
  }
  return lines;
}

/** The metadata lines of a patch (everything but content), as git shows "old mode / new mode". */
export function metadataLines(patch: FilePatch): string[] {
  const { change, fields } = patch;
  const old = change.old;
  const now = change.new;
  const lines: string[] = [];
  if (change.status === 'A' || change.status === 'D') {
    const entry = (now ?? old)!;
    const side = change.status === 'A' ? 'new' : 'old';
    lines.push(`${change.status === 'A' ? 'new' : 'deleted'} ${TYPE_WORDS[entry.type]} mode ${entry.mode.toString(8).padStart(4, '0')}`);
    for (const field of ['owner', 'target', 'device', 'hardlink'] as Field[]) {
      if (fields.includes(field)) lines.push(...fieldValues(field, entry).map((text) => `${side} ${text}`));
    }
    if (fields.includes('xattrs')) lines.push(...xattrLines(change.status === 'D' ? old : undefined, change.status === 'A' ? now : undefined));
    return lines;
  }
  for (const field of fields) {
    if (field === 'content') continue;
    // A content change moves the time too; the time is shown only when nothing else changed in content.
    if (field === 'mtime' && change.status !== 'm') continue;
    if (field === 'xattrs') {
      lines.push(...xattrLines(old, now));
      continue;
    }
    lines.push(...fieldValues(field, old).map((text) => `old ${text}`));
    lines.push(...fieldValues(field, now).map((text) => `new ${text}`));
  }
  return lines;
}

function sidePath(prefix: string, path: Buffer): string {
  return quotePath(Buffer.concat([Buffer.from(prefix), path.length === 0 ? Buffer.from('.') : path]));
}

function hunkRange(start: number, count: number): string {
  return count === 1 ? `${start}` : `${start},${count}`;
}

/** Splits a chalk style into its opening and closing escape codes, to wrap raw bytes. */
function wrap(paint: (text: string) => string): [Buffer, Buffer] {
  const [open, close] = paint('\u0000').split('\u0000');
  return [Buffer.from(open ?? ''), Buffer.from(close ?? '')];
}

function painted(paint: (text: string) => string, line: Buffer): Buffer {
  const [open, close] = wrap(paint);
  return open.length === 0 ? line : Buffer.concat([open, line, close]);
}

/**
 * Renders one patch as lines of bytes (without newlines): a "diff --snap a/P b/P" header, the
 * metadata lines, and for content an "index" line with "---"/"+++" headers and hunks, or a
 * "Binary files ... differ" line with the two sizes.
 */
export function formatPatch(patch: FilePatch): Buffer[] {
  const c = colors();
  const { change } = patch;
  const lines: Buffer[] = [];
  const text = (value: string, paint?: (text: string) => string) => lines.push(Buffer.from(paint ? paint(value) : value));
  const a = sidePath('a/', change.path);
  const b = sidePath('b/', change.path);
  text(`diff --snap ${a} ${b}`, c.bold);
  for (const line of metadataLines(patch)) text(line, c.yellow);
  const content = patch.content;
  if (!content) return lines;
  const oldFile = change.old?.type === 'file' ? change.old : undefined;
  const newFile = change.new?.type === 'file' ? change.new : undefined;
  const short = (oid: string | undefined) => (oid ?? '0'.repeat(40)).slice(0, 7);
  text(`index ${short(oldFile?.oid)}..${short(newFile?.oid)}`, c.bold);
  const from = oldFile ? a : '/dev/null';
  const to = newFile ? b : '/dev/null';
  if (content.kind === 'binary') {
    text(`Binary files ${from} and ${to} differ (${content.oldSize} -> ${content.newSize} bytes)`);
    return lines;
  }
  if (content.hunks.length === 0) return lines;
  text(`--- ${from}`, c.bold);
  text(`+++ ${to}`, c.bold);
  for (const hunk of content.hunks) lines.push(...formatHunk(hunk, c));
  return lines;
}

function formatHunk(hunk: Hunk, c: ChalkInstance): Buffer[] {
  const lines: Buffer[] = [Buffer.from(c.cyan(`@@ -${hunkRange(hunk.oldStart, hunk.oldLines)} +${hunkRange(hunk.newStart, hunk.newLines)} @@`))];
  for (const line of hunk.lines) {
    const mark = line[0];
    lines.push(mark === 0x2b ? painted(c.green, line) : mark === 0x2d ? painted(c.red, line) : line);
  }
  return lines;
}

/** Formats a commit time as Git's default log format does ("Fri Dec 4 20:33:11 2026 +0000"). */
export function formatDate(timestamp: number, offsetMinutes: number): string {
  const date = new Date((timestamp + offsetMinutes * 60) * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${days[date.getUTCDay()]} ${months[date.getUTCMonth()]} ${date.getUTCDate()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${date.getUTCFullYear()} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

/** The header of a commit as `git show` prints it: "commit ID", Author, Date, a blank line, the indented message. */
export function formatCommitHeader(commit: Commit): string[] {
  const c = colors();
  const lines = [c.yellow(`commit ${commit.oid}`)];
  if (commit.parents.length > 1) lines.push(`Merge: ${commit.parents.map((parent) => parent.slice(0, 7)).join(' ')}`);
  lines.push(`Author: ${commit.author.name} <${commit.author.email}>`);
  lines.push(`Date:   ${formatDate(commit.author.timestamp, commit.author.timezoneOffset)}`);
  lines.push('');
  for (const line of commit.message.replace(/\n$/, '').split('\n')) lines.push(`    ${line}`);
  return lines;
}
