// Rendering changes and commits for people and as JSON.

import type { Change } from '../store/diff.js';
import type { Commit } from '../store/commit-object.js';
import type { Entry } from '../tree/entry.js';
import { displayPath, jsonPath } from './quote.js';
import { colors } from './output.js';

/** The one-letter status a listing shows: Git's A, D, M, T, and 'm' for a metadata-only change. */
export function statusLetter(change: Change): string {
  return change.status;
}

/** Formats one change as "STATUS<TAB>PATH", coloured on a terminal. */
export function formatChange(change: Change): string {
  const c = colors();
  const paint = change.status === 'A' ? c.green : change.status === 'D' ? c.red : change.status === 'm' ? c.yellow : c.cyan;
  return `${paint(change.status)}\t${displayPath(change.path)}`;
}

function entryJson(entry: Entry | undefined): Record<string, unknown> | undefined {
  if (!entry) return undefined;
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

/** The JSON form of a change: status, path (see jsonPath), and the old and new entries. */
export function changeJson(change: Change): Record<string, unknown> {
  return { status: change.status, ...jsonPath(change.path), old: entryJson(change.old), new: entryJson(change.new) };
}

/** The JSON form of a commit. */
export function commitJson(commit: Commit): Record<string, unknown> {
  return {
    oid: commit.oid,
    tree: commit.tree,
    parents: commit.parents,
    author: commit.author,
    committer: commit.committer,
    message: commit.message,
  };
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
