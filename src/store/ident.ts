// Who and when for commits, tags and reflogs: Git's date formats, the store's [user] config, and
// the environment variables Git and reproducible builds use.

import * as fs from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { SnapError } from '../errors.js';
import type { Signature } from './refs.js';

/** A point in time as a commit records it. */
export interface When {
  /** Seconds since the epoch. */
  timestamp: number;
  /** Offset from UTC in minutes, east positive. */
  timezoneOffset: number;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

function zoneMinutes(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === '') return undefined;
  if (zone === 'Z' || zone === 'z' || /^(UTC|GMT)$/i.test(zone)) return 0;
  const match = /^([+-])(\d\d):?(\d\d)$/.exec(zone);
  if (!match) return NaN;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}

function fromParts(year: number, month: number, day: number, hour: number, minute: number, second: number, zone: number | undefined): When | undefined {
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  if (zone === undefined) {
    const local = new Date(year, month - 1, day, hour, minute, second);
    if (Number.isNaN(local.getTime())) return undefined;
    return { timestamp: Math.floor(local.getTime() / 1000), timezoneOffset: -local.getTimezoneOffset() };
  }
  if (Number.isNaN(zone)) return undefined;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) / 1000 - zone * 60;
  return { timestamp: utc, timezoneOffset: zone };
}

/**
 * Parses a date in the formats Git's --date takes: '@SECONDS' or 'SECONDS' (Unix time, optionally
 * followed by an offset like +0200), ISO 8601 ('2024-01-31T12:00:00+01:00', '2024-01-31 12:00:00
 * +0100', '2024-01-31', fractions of a second dropped) and RFC 2822 ('Wed, 31 Jan 2024 12:00:00
 * +0100'). A date without an offset is local time ($TZ); a date without a time is midnight.
 * Returns undefined when the text matches none of them.
 */
export function parseDate(text: string): When | undefined {
  const value = text.trim();
  let match = /^@?(\d+)(?:\s+([+-]\d\d:?\d\d|Z))?$/.exec(value);
  if (match && (value.startsWith('@') || match[1].length >= 9)) {
    const zone = zoneMinutes(match[2]) ?? 0;
    if (Number.isNaN(zone)) return undefined;
    return { timestamp: Number(match[1]), timezoneOffset: zone };
  }
  match = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,]\d+)?)?)?\s*(Z|[+-]\d\d:?\d\d|UTC|GMT)?$/i.exec(value);
  if (match) {
    return fromParts(Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4] ?? 0), Number(match[5] ?? 0), Number(match[6] ?? 0), zoneMinutes(match[7]));
  }
  match = /^(?:[A-Za-z]{3},?\s+)?(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{4})\s+(\d\d):(\d\d)(?::(\d\d))?\s*([+-]\d{4}|Z|UTC|GMT)?$/.exec(value);
  if (match) {
    const month = MONTHS.indexOf(match[2].toLowerCase()) + 1;
    if (month === 0) return undefined;
    return fromParts(Number(match[3]), month, Number(match[1]), Number(match[4]), Number(match[5]), Number(match[6] ?? 0), zoneMinutes(match[7]));
  }
  return undefined;
}

function requireDate(text: string, source: string): When {
  const when = parseDate(text);
  if (!when) {
    throw new SnapError('USAGE', `${source} '${text}' is not a date snap understands; use @SECONDS, 2024-01-31T12:00:00+01:00 or 'Wed, 31 Jan 2024 12:00:00 +0100'`);
  }
  return when;
}

/** Reads SOURCE_DATE_EPOCH: undefined when unset or empty; USAGE when it is not whole seconds. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv): When | undefined {
  const value = env.SOURCE_DATE_EPOCH;
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) {
    throw new SnapError('USAGE', `SOURCE_DATE_EPOCH='${value}' is not a whole number of seconds since 1970; set it to one (e.g. $(git log -1 --format=%ct)) or unset it`);
  }
  return { timestamp: Number(value), timezoneOffset: 0 };
}

/** Parses '--author "Name <email>"'. Throws USAGE for any other shape. */
export function parseAuthor(text: string): { name: string; email: string } {
  const match = /^\s*([^<>\n]*?)\s*<([^<>\n]*)>\s*$/.exec(text);
  if (!match || match[1] === '') {
    throw new SnapError('USAGE', `--author '${text}' is not 'Name <email>'; write it like --author "Ada Lovelace <ada@example.org>"`);
  }
  return { name: match[1], email: match[2] };
}

/**
 * Reads one value from a Git config file ('section.key', case-insensitive, as `git config` does),
 * the last one set winning. Quoted values and backslash escapes are understood.
 */
export function readConfigValue(path: string, key: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const dot = key.lastIndexOf('.');
  const wantSection = key.slice(0, dot).toLowerCase();
  const wantKey = key.slice(dot + 1).toLowerCase();
  let section = '';
  let found: string | undefined;
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\](.*)$/.exec(line);
    if (header) {
      section = header[1].toLowerCase() + (header[2] !== undefined ? `.${header[2]}` : '');
      line = header[3].trim();
      if (line === '') continue;
    }
    const entry = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (!entry || section !== wantSection || entry[1].toLowerCase() !== wantKey) continue;
    found = unquote(entry[2] ?? 'true');
  }
  return found;
}

function unquote(value: string): string {
  let out = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '"') quoted = !quoted;
    else if (ch === '\\' && i + 1 < value.length) {
      const next = value[++i];
      const escapes: Record<string, string> = { n: '\n', t: '\t' };
      out += escapes[next] ?? next;
    } else if (!quoted && (ch === '#' || ch === ';')) break;
    else out += ch;
  }
  return out.trim();
}

/** Options of commitIdentity: the command line's --author and --date. */
export interface IdentityOptions {
  /** 'Name <email>' for the author only, as git commit --author. */
  author?: string;
  /** The author date, in any format parseDate takes, as git commit --date. */
  date?: string;
}

/** The first value that is set and not empty (an empty variable counts as unset). */
function first(...values: (string | undefined)[]): string | undefined {
  return values.find((value) => value !== undefined && value !== '');
}

function clean(value: string): string {
  return value.replace(/[<>\n]/g, '').trim();
}

/**
 * Returns author and committer for a new commit. Names and emails come from, first to last:
 * --author (author only); SNAP_AUTHOR_NAME and SNAP_AUTHOR_EMAIL (both); GIT_AUTHOR_NAME/EMAIL
 * (author) and GIT_COMMITTER_NAME/EMAIL (committer), as in Git; user.name and user.email in the
 * store's config; and last "USER <USER@HOSTNAME>" ($USER, else the login name, else root). Dates:
 * --date (author only), GIT_AUTHOR_DATE / GIT_COMMITTER_DATE, SOURCE_DATE_EPOCH (both, in UTC), else
 * now in UTC. Throws USAGE for a malformed --author, --date, *_DATE or SOURCE_DATE_EPOCH.
 */
export function commitIdentity(gitdir: string, options: IdentityOptions = {}, env: NodeJS.ProcessEnv = process.env): { author: Signature; committer: Signature } {
  const config = join(gitdir, 'config');
  const login = first(env.USER, safeLogin()) ?? 'root';
  const configName = readConfigValue(config, 'user.name');
  const configEmail = readConfigValue(config, 'user.email');
  const defaultName = first(configName) ?? login;
  const defaultEmail = first(configEmail) ?? `${login}@${hostname()}`;
  const epoch = sourceDateEpoch(env);
  const now: When = epoch ?? { timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 };

  const given = options.author !== undefined ? parseAuthor(options.author) : undefined;
  const authorWhen = options.date !== undefined ? requireDate(options.date, '--date')
    : env.GIT_AUTHOR_DATE ? requireDate(env.GIT_AUTHOR_DATE, 'GIT_AUTHOR_DATE') : now;
  const committerWhen = env.GIT_COMMITTER_DATE ? requireDate(env.GIT_COMMITTER_DATE, 'GIT_COMMITTER_DATE') : now;
  const author: Signature = {
    name: clean(given?.name ?? first(env.SNAP_AUTHOR_NAME, env.GIT_AUTHOR_NAME) ?? defaultName),
    email: clean(given?.email ?? first(env.SNAP_AUTHOR_EMAIL, env.GIT_AUTHOR_EMAIL) ?? defaultEmail),
    ...authorWhen,
  };
  const committer: Signature = {
    name: clean(first(env.SNAP_AUTHOR_NAME, env.GIT_COMMITTER_NAME) ?? defaultName),
    email: clean(first(env.SNAP_AUTHOR_EMAIL, env.GIT_COMMITTER_EMAIL) ?? defaultEmail),
    ...committerWhen,
  };
  return { author, committer };
}

function safeLogin(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}
