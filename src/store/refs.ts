// Refs of a store: HEAD, branches and tags as Git lays them out, each update made under a
// '.lock' file with a compare-and-swap check and logged in the reflog, as Git does.

import { promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { SnapError } from '../errors.js';

/** Where HEAD points: a branch (symbolic) or a commit (detached). */
export type Head = { branch: string; oid?: string } | { branch?: undefined; oid: string };

/** The identity and time recorded in reflog lines and commits. */
export interface Signature {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** Offset from UTC in minutes, east positive (Git writes it as +HHMM). */
  timezoneOffset: number;
}

/** Formats "Name <email> 1700000000 +0000" as Git writes it in commits and reflogs. */
export function formatSignature(sig: Signature): string {
  const sign = sig.timezoneOffset < 0 ? '-' : '+';
  const minutes = Math.abs(sig.timezoneOffset);
  const zone = `${sign}${String(Math.floor(minutes / 60)).padStart(2, '0')}${String(minutes % 60).padStart(2, '0')}`;
  return `${sig.name} <${sig.email}> ${sig.timestamp} ${zone}`;
}

/** The id Git writes in a reflog for "no commit" (before a ref existed). */
export const ZERO_OID = '0'.repeat(40);

/** One reflog line: the ref moved from `old` to `new` (ZERO_OID when absent), by `who`, for `message`. */
export interface ReflogEntry {
  old: string;
  new: string;
  who: Signature;
  message: string;
}

/**
 * Checks a branch or tag name (the part after refs/heads/ or refs/tags/) against Git's
 * check-ref-format rules, and refuses 'HEAD' and names starting with '-'. Throws USAGE naming the
 * rule broken.
 */
export function checkRefName(name: string, kind: 'branch' | 'tag'): void {
  const why =
    name === '' ? 'it is empty'
    : name === 'HEAD' || name === '@' ? `'${name}' names the current snapshot`
    : name.startsWith('-') ? "it starts with '-'"
    : /[\x00-\x20\x7f~^:?*[\\]/.test(name) ? "it contains a space, a control character or one of ~ ^ : ? * [ \\"
    : name.includes('..') ? "it contains '..'"
    : name.includes('@{') ? "it contains '@{'"
    : name.includes('//') || name.startsWith('/') || name.endsWith('/') ? "it has an empty part between '/'"
    : name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock')) ? "a part starts with '.' or ends with '.lock'"
    : name.endsWith('.') ? "it ends with '.'"
    : undefined;
  if (why) throw new SnapError('USAGE', `'${name}' is not a valid ${kind} name: ${why}; pick another name, like 'before-upgrade'`);
}

/** RefStore reads and updates the refs of one store. */
export class RefStore {
  constructor(readonly gitdir: string) {}

  /** Reads HEAD. */
  async head(): Promise<Head> {
    const text = (await fsp.readFile(join(this.gitdir, 'HEAD'), 'utf8')).trim();
    if (text.startsWith('ref: ')) {
      const ref = text.slice(5);
      const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
      return { branch, oid: await this.read(ref) };
    }
    return { oid: text };
  }

  /** Reads a full ref name (refs/heads/main), from its loose file or packed-refs; undefined if absent. */
  async read(ref: string): Promise<string | undefined> {
    try {
      const text = (await fsp.readFile(join(this.gitdir, ref), 'utf8')).trim();
      if (text.startsWith('ref: ')) return this.read(text.slice(5));
      return text;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EISDIR' && code !== 'ENOTDIR') throw error;
    }
    return (await this.packed()).get(ref);
  }

  private async packed(): Promise<Map<string, string>> {
    const refs = new Map<string, string>();
    let text = '';
    try {
      text = await fsp.readFile(join(this.gitdir, 'packed-refs'), 'utf8');
    } catch {
      return refs;
    }
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
      const [oid, name] = line.split(' ');
      refs.set(name, oid);
    }
    return refs;
  }

  /** Lists full ref names under a prefix (refs/heads/ or refs/tags/), loose and packed, sorted. */
  async list(prefix: string): Promise<{ name: string; oid: string }[]> {
    const found = new Map<string, string>(await this.packed());
    for (const name of [...found.keys()]) if (!name.startsWith(prefix)) found.delete(name);
    const walk = async (dir: string, ref: string): Promise<void> => {
      let items: fs.Dirent[];
      try {
        items = await fsp.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const item of items) {
        if (item.isDirectory()) await walk(join(dir, item.name), `${ref}${item.name}/`);
        else if (!item.name.endsWith('.lock')) found.set(`${ref}${item.name}`, (await fsp.readFile(join(dir, item.name), 'utf8')).trim());
      }
    };
    await walk(join(this.gitdir, prefix), prefix);
    return [...found].map(([name, oid]) => ({ name, oid })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Points `ref` at `oid` if it still points at `expected` (undefined: must not exist), and appends
   * a reflog line. Atomic: the new value is written to `ref.lock` and renamed over the ref.
   * Throws LOCKED when another process holds the lock or the ref no longer points at `expected`.
   */
  async update(ref: string, oid: string, expected: string | undefined, who: Signature, message: string): Promise<void> {
    await this.withLock(ref, async (lock) => {
      const current = await this.read(ref);
      if (current !== expected) {
        throw new SnapError('LOCKED', `ref ${ref} moved to ${current ?? 'nothing'} while snap was working; run the command again`);
      }
      await writeSynced(lock, `${oid}\n`);
      await fsp.mkdir(dirname(join(this.gitdir, ref)), { recursive: true });
      // The reflog line is written while the ref is still locked, as git does.
      await this.log(ref, expected ?? ZERO_OID, oid, who, message);
      await fsp.rename(lock, join(this.gitdir, ref));
    });
  }

  /**
   * Deletes a ref (loose file and packed-refs line) and its reflog, under the ref's lock. With
   * `expected`, throws LOCKED when the ref no longer points there.
   */
  async delete(ref: string, expected?: string): Promise<void> {
    await this.withLock(ref, async () => {
      const current = await this.read(ref);
      if (expected !== undefined && current !== expected) {
        throw new SnapError('LOCKED', `ref ${ref} moved to ${current ?? 'nothing'} while snap was working; run the command again`);
      }
      await this.removePacked(ref);
      await fsp.rm(join(this.gitdir, ref), { force: true });
      await fsp.rm(join(this.gitdir, 'logs', ref), { force: true });
    });
    await this.pruneEmptyDirs(ref);
  }

  private async removePacked(ref: string): Promise<void> {
    const packedPath = join(this.gitdir, 'packed-refs');
    if (!fs.existsSync(packedPath)) return;
    await this.withLock('packed-refs', async (lock) => {
      const lines = (await fsp.readFile(packedPath, 'utf8')).split('\n');
      const kept: string[] = [];
      for (let i = 0; i < lines.length; i++) {
        if (lines[i].endsWith(` ${ref}`)) {
          if (lines[i + 1]?.startsWith('^')) i += 1;
          continue;
        }
        kept.push(lines[i]);
      }
      await writeSynced(lock, kept.join('\n'));
      await fsp.rename(lock, packedPath);
    });
  }

  /** Removes directories left empty under refs/ and logs/refs/ by deleting `ref` (as Git does). */
  private async pruneEmptyDirs(ref: string): Promise<void> {
    for (const base of [this.gitdir, join(this.gitdir, 'logs')]) {
      let dir = dirname(ref);
      while (dir.split('/').length > 2) {
        try {
          await fsp.rmdir(join(base, dir));
        } catch {
          break;
        }
        dir = dirname(dir);
      }
    }
  }

  /**
   * Returns the name of an existing ref that `ref` cannot live beside (refs/heads/a blocks
   * refs/heads/a/b and the other way round, as files and directories), or undefined.
   */
  async conflicting(ref: string, ignore?: string): Promise<string | undefined> {
    const prefix = ref.split('/').slice(0, 2).join('/') + '/';
    for (const other of await this.list(prefix)) {
      if (other.name === ignore || other.name === ref) continue;
      if (other.name.startsWith(`${ref}/`) || ref.startsWith(`${other.name}/`)) return other.name;
    }
    return undefined;
  }

  /**
   * Renames a ref with its reflog, as 'git branch -m' does: the log moves with the ref and gets a
   * "Branch: renamed" line. Throws ALREADY_EXISTS when `to` exists and `force` is unset.
   */
  async rename(from: string, to: string, who: Signature, force = false): Promise<string> {
    const oid = await this.read(from);
    if (!oid) throw new SnapError('NOT_FOUND', `${from} does not exist`);
    const existing = await this.read(to);
    if (existing && !force) throw new SnapError('ALREADY_EXISTS', `${to} already exists; pick another name, or force it`);
    const message = `Branch: renamed ${from} to ${to}`;
    const oldLog = join(this.gitdir, 'logs', from);
    const newLog = join(this.gitdir, 'logs', to);
    await this.withLock(from, async () => {
      await this.withLock(to, async (lock) => {
        if ((await this.read(from)) !== oid) throw new SnapError('LOCKED', `ref ${from} moved while snap was working; run the command again`);
        const log = await fsp.readFile(oldLog).catch(() => undefined);
        await this.removePacked(from);
        await fsp.rm(join(this.gitdir, from), { force: true });
        await fsp.rm(oldLog, { force: true });
        await fsp.rm(newLog, { force: true });
        await writeSynced(lock, `${oid}\n`);
        await fsp.mkdir(dirname(join(this.gitdir, to)), { recursive: true });
        await fsp.rename(lock, join(this.gitdir, to));
        await fsp.mkdir(dirname(newLog), { recursive: true });
        if (log) await fsp.writeFile(newLog, log);
      });
    });
    await this.pruneEmptyDirs(from);
    await this.log(to, oid, oid, who, message);
    return oid;
  }

  /** Reads the reflog of `ref` ('HEAD' or a full name), oldest first; empty when it has none. */
  async readLog(ref: string): Promise<ReflogEntry[]> {
    let text: string;
    try {
      text = await fsp.readFile(join(this.gitdir, 'logs', ref), 'utf8');
    } catch {
      return [];
    }
    const entries: ReflogEntry[] = [];
    for (const line of text.split('\n')) {
      const match = /^([0-9a-f]{40}) ([0-9a-f]{40}) (.*) <([^>]*)> (\d+) ([+-])(\d\d)(\d\d)(?:\t(.*))?$/.exec(line);
      if (!match) continue;
      const offset = Number(match[7]) * 60 + Number(match[8]);
      entries.push({
        old: match[1],
        new: match[2],
        who: { name: match[3], email: match[4], timestamp: Number(match[5]), timezoneOffset: match[6] === '-' ? -offset : offset },
        message: match[9] ?? '',
      });
    }
    return entries;
  }

  /** Writes a pseudo-ref such as ORIG_HEAD (no reflog), under its lock. */
  async writePseudo(name: string, oid: string): Promise<void> {
    await this.withLock(name, async (lock) => {
      await writeSynced(lock, `${oid}\n`);
      await fsp.rename(lock, join(this.gitdir, name));
    });
  }

  /** Points HEAD at a branch (symbolic) or a commit (detached) and logs the move in logs/HEAD. */
  async setHead(target: { branch: string } | { oid: string }, from: string | undefined, to: string, who: Signature, message: string): Promise<void> {
    const text = 'branch' in target ? `ref: refs/heads/${target.branch}\n` : `${target.oid}\n`;
    await this.withLock('HEAD', async (lock) => {
      await writeSynced(lock, text);
      await this.log('HEAD', from ?? ZERO_OID, to, who, message);
      await fsp.rename(lock, join(this.gitdir, 'HEAD'));
    });
  }

  /** Points HEAD at a branch without logging (for a branch with no commits yet, as git does). */
  async setHeadSymbolic(branch: string): Promise<void> {
    await this.withLock('HEAD', async (lock) => {
      await writeSynced(lock, `ref: refs/heads/${branch}\n`);
      await fsp.rename(lock, join(this.gitdir, 'HEAD'));
    });
  }

  /** Appends a reflog line for `ref` (Git's format, so 'git reflog' reads it). */
  async log(ref: string, from: string, to: string, who: Signature, message: string): Promise<void> {
    const path = join(this.gitdir, 'logs', ref);
    await fsp.mkdir(dirname(path), { recursive: true });
    await fsp.appendFile(path, `${from} ${to} ${formatSignature(who)}\t${message.split('\n')[0]}\n`);
  }

  private async withLock<T>(ref: string, work: (lock: string) => Promise<T>): Promise<T> {
    const lock = join(this.gitdir, `${ref}.lock`);
    await fsp.mkdir(dirname(lock), { recursive: true });
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(lock, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new SnapError('LOCKED', `'${lock}' exists: another snap or git process is updating ${ref}; if none is running, remove the file`);
      }
      throw error;
    }
    await handle.close();
    try {
      return await work(lock);
    } finally {
      await fsp.rm(lock, { force: true });
    }
  }
}

async function writeSynced(path: string, text: string): Promise<void> {
  const handle = await fsp.open(path, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
