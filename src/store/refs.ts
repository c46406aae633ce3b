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

const ZERO_OID = '0'.repeat(40);

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
      await fsp.rename(lock, join(this.gitdir, ref));
    });
    await this.log(ref, expected ?? ZERO_OID, oid, who, message);
  }

  /** Deletes a ref (loose file and packed-refs line) and its reflog. */
  async delete(ref: string): Promise<void> {
    await fsp.rm(join(this.gitdir, ref), { force: true });
    await fsp.rm(join(this.gitdir, 'logs', ref), { force: true });
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

  /** Points HEAD at a branch (symbolic) or a commit (detached) and logs the move in logs/HEAD. */
  async setHead(target: { branch: string } | { oid: string }, from: string | undefined, to: string, who: Signature, message: string): Promise<void> {
    const text = 'branch' in target ? `ref: refs/heads/${target.branch}\n` : `${target.oid}\n`;
    await this.withLock('HEAD', async (lock) => {
      await writeSynced(lock, text);
      await fsp.rename(lock, join(this.gitdir, 'HEAD'));
    });
    await this.log('HEAD', from ?? ZERO_OID, to, who, message);
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
