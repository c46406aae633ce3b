// JSON and text pieces shared by the history commands (log, commit, tag, branch, reflog, reset).

import type { Commit } from '../store/commit-object.js';
import type { Signature } from '../store/refs.js';

/** Formats a UTC offset in minutes as Git writes it: +0100, -0430. */
export function formatZone(offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

/** Formats a time as ISO 8601 in its own offset: 2024-01-31T12:00:00+01:00 (git's --date=iso-strict). */
export function isoDate(timestamp: number, offsetMinutes: number): string {
  const local = new Date((timestamp + offsetMinutes * 60) * 1000).toISOString().slice(0, 19);
  const zone = formatZone(offsetMinutes);
  return `${local}${zone.slice(0, 3)}:${zone.slice(3)}`;
}

/**
 * The JSON form of an author, committer or tagger: name, email, timestamp (Unix seconds),
 * timezoneOffset (minutes east of UTC), timezone (+HHMM) and date (ISO 8601 in that offset).
 */
export function signatureJson(sig: Signature): Record<string, unknown> {
  return {
    name: sig.name,
    email: sig.email,
    timestamp: sig.timestamp,
    timezoneOffset: sig.timezoneOffset,
    timezone: formatZone(sig.timezoneOffset),
    date: isoDate(sig.timestamp, sig.timezoneOffset),
  };
}

/** The JSON form of a commit in log and commit output. */
export function historyCommitJson(commit: Commit): Record<string, unknown> {
  return {
    oid: commit.oid,
    tree: commit.tree,
    parents: commit.parents,
    author: signatureJson(commit.author),
    committer: signatureJson(commit.committer),
    subject: commit.message.split('\n')[0],
    message: commit.message,
  };
}

/** Shortens a full ref name for people: refs/heads/main -> main, refs/tags/v1 -> v1. */
export function shortRef(ref: string): string {
  return ref.replace(/^refs\/(heads|tags)\//, '');
}

/**
 * Git's decoration of a commit: "HEAD -> main, tag: v1, dev" (HEAD alone when detached), the
 * other refs in git's order (reverse by full name).
 */
export function decoration(refs: string[], currentBranch: string | undefined): string {
  const parts: string[] = [];
  refs = [...refs].sort((a, b) => (a === 'HEAD' ? -1 : b === 'HEAD' ? 1 : a < b ? 1 : a > b ? -1 : 0));
  const current = currentBranch !== undefined ? `refs/heads/${currentBranch}` : undefined;
  const hasHead = refs.includes('HEAD');
  if (hasHead) parts.push(current && refs.includes(current) ? `HEAD -> ${currentBranch}` : 'HEAD');
  for (const ref of refs) {
    if (ref === 'HEAD' || (hasHead && ref === current)) continue;
    parts.push(ref.startsWith('refs/tags/') ? `tag: ${shortRef(ref)}` : shortRef(ref));
  }
  return parts.join(', ');
}
