// A snap store: a bare Git repository plus the rootfs it records. Creating, finding and locking it.

import { promises as fsp } from 'node:fs';
import * as fs from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { SnapError, ioError } from '../errors.js';
import { commitIdentity } from './ident.js';
import { ObjectStore } from './objects.js';
import { RefStore, type Signature } from './refs.js';

/** Name of the store directory inside a rootfs when no other place is given. */
export const DEFAULT_STORE_NAME = '.snap';

/** Branch that a new store's HEAD points at. */
export const DEFAULT_BRANCH = 'main';

/** Store is an open snap store. */
export interface Store {
  /** Absolute path of the bare Git repository. */
  gitdir: string;
  /** Absolute path of the rootfs the store records. */
  rootfs: string;
  objects: ObjectStore;
  refs: RefStore;
}

/** Options for locating a store, shared by every command. */
export interface StoreLocation {
  /** Directory to start from (default: the process's working directory). */
  cwd?: string;
  /** Explicit store path (the CLI's --store or SNAP_STORE). */
  store?: string;
}

function configText(rootfs: string | undefined): string {
  const lines = ['[core]', '\trepositoryformatversion = 0', '\tbare = true', '\tlogallrefupdates = always', '[snap]', '\tformat = 1'];
  if (rootfs) lines.push(`\trootfs = ${rootfs}`);
  return lines.join('\n') + '\n';
}

/**
 * Creates a store for the rootfs `dir`: by default at DIR/.snap, or at `store`. The repository is
 * filled in a temporary directory beside its final place and renamed into place, so a failed init
 * leaves nothing behind. Throws ALREADY_EXISTS if a store is there.
 */
export async function initStore(dir: string, store?: string): Promise<Store> {
  const rootfs = resolve(dir);
  const stat = await fsp.stat(rootfs).catch(() => undefined);
  if (!stat?.isDirectory()) {
    throw new SnapError('NOT_FOUND', `rootfs directory '${rootfs}' not found; create it or pass an existing directory`);
  }
  const gitdir = store ? resolve(store) : join(rootfs, DEFAULT_STORE_NAME);
  const existing = existingEmptyDir(gitdir);
  if (existing === 'other' && isStore(gitdir)) {
    throw new SnapError('ALREADY_EXISTS', `a store already exists at '${gitdir}'; use it, or remove it to start over`);
  }
  if (existing === 'other') {
    throw new SnapError('ALREADY_EXISTS', `'${gitdir}' exists and is not an empty directory; give a new or empty directory for the store`);
  }
  if (existing === 'empty') {
    // An empty directory made for the store (a volume, a mount point) is kept, as git init keeps
    // it: the store is written into it, HEAD last, and what was written is removed on failure.
    await writeStoreFiles(gitdir, store ? rootfs : undefined).catch(async (error: unknown) => {
      for (const name of await fsp.readdir(gitdir).catch(() => [])) await fsp.rm(join(gitdir, name), { recursive: true, force: true });
      throw new SnapError('IO', `creating store '${gitdir}' failed: ${(error as Error).message}`, { cause: error });
    });
    return open(gitdir, rootfs);
  }
  await fsp.mkdir(dirname(gitdir), { recursive: true });
  const temp = join(dirname(gitdir), `.${basename(gitdir)}.tmp-${process.pid}`);
  try {
    await writeStoreFiles(temp, store ? rootfs : undefined);
    await fsp.rename(temp, gitdir);
  } catch (error) {
    await fsp.rm(temp, { recursive: true, force: true });
    throw new SnapError('IO', `creating store '${gitdir}' failed: ${(error as Error).message}`, { cause: error });
  }
  return open(gitdir, rootfs);
}

/**
 * Returns 'missing', 'empty' for an empty directory (or a symlink to one, as git init follows it),
 * or 'other' for anything else at `path`.
 */
function existingEmptyDir(path: string): 'missing' | 'empty' | 'other' {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch {
    if (fs.lstatSync(path, { throwIfNoEntry: false })) return 'other';
    return 'missing';
  }
  return stat.isDirectory() && fs.readdirSync(path).length === 0 ? 'empty' : 'other';
}

/** Writes the files of a new, empty store into `dir`, HEAD last, since a store is found by its HEAD. */
async function writeStoreFiles(dir: string, rootfs: string | undefined): Promise<void> {
  for (const sub of ['objects/info', 'objects/pack', 'refs/heads', 'refs/tags', 'info']) {
    await fsp.mkdir(join(dir, sub), { recursive: true });
  }
  await fsp.writeFile(join(dir, 'config'), configText(rootfs));
  await fsp.writeFile(join(dir, 'description'), 'snap store of a rootfs\n');
  await fsp.writeFile(join(dir, 'HEAD'), `ref: refs/heads/${DEFAULT_BRANCH}\n`);
}

function open(gitdir: string, rootfs: string): Store {
  return { gitdir, rootfs, objects: new ObjectStore(gitdir), refs: new RefStore(gitdir) };
}

function isStore(path: string): boolean {
  return fs.existsSync(join(path, 'HEAD')) && fs.existsSync(join(path, 'objects')) && fs.existsSync(join(path, 'config'));
}

/** Reads the rootfs path a store records in its config ([snap] rootfs). */
function recordedRootfs(gitdir: string): string | undefined {
  const text = fs.readFileSync(join(gitdir, 'config'), 'utf8');
  const match = /^\s*rootfs\s*=\s*(.+?)\s*$/m.exec(text);
  return match?.[1];
}

/**
 * Finds the store for a command: the explicit `store` path if given, else the first DIR/.snap found
 * walking up from `cwd`, as git finds .git. Throws NO_STORE when there is none.
 */
export async function openStore(location: StoreLocation = {}): Promise<Store> {
  const cwd = resolve(location.cwd ?? process.cwd());
  if (location.store) {
    const gitdir = resolve(cwd, location.store);
    if (!isStore(gitdir)) {
      throw new SnapError('NO_STORE', `no store at '${gitdir}'; run 'snap init --store ${location.store} ROOTFS' to create one`);
    }
    const rootfs = recordedRootfs(gitdir) ?? (basename(gitdir) === DEFAULT_STORE_NAME ? dirname(gitdir) : undefined);
    if (!rootfs) {
      // Guessing would point checkout at whatever directory holds the store.
      throw new SnapError('NOT_FOUND', `store '${gitdir}' records no rootfs; set it with 'git --git-dir=${gitdir} config snap.rootfs /path/to/rootfs'`);
    }
    return open(gitdir, rootfs);
  }
  for (let dir = cwd; ; dir = dirname(dir)) {
    const candidate = join(dir, DEFAULT_STORE_NAME);
    if (isStore(candidate)) return open(candidate, recordedRootfs(candidate) ?? dir);
    if (dirname(dir) === dir) break;
  }
  throw new SnapError('NO_STORE', `no store found in '${cwd}' or any parent directory; run 'snap init' in the rootfs, or pass --store`);
}

/**
 * Returns the path of `path` relative to the directory `dir` when it lies strictly below it, else
 * undefined. Both are taken as given, without resolving symlinks. A name that merely starts with
 * two dots ('..layer.tar') is below.
 */
export function pathBelow(dir: string, path: string): string | undefined {
  const rel = relative(dir, path);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel;
}

/**
 * Takes the store-wide lock for work that changes the rootfs or the store (commit, checkout),
 * runs `work`, and releases the lock. Throws LOCKED if another process holds it.
 */
export async function withStoreLock<T>(store: Store, work: () => Promise<T>): Promise<T> {
  const lock = join(store.gitdir, 'snap.lock');
  if (!(await takeLock(lock))) {
    const holder = lockHolder(lock);
    if (holder !== undefined && !isRunning(holder)) {
      throw new SnapError('LOCKED', `'${lock}' was left by process ${holder}, which is no longer running (killed, say); check that no snap command works on this store, then remove the file`);
    }
    throw new SnapError('LOCKED', `'${lock}' exists: another snap command is working on this store; if none is running, remove the file`);
  }
  return holdingLock(lock, work);
}

/** Returns the process id written in a lock file, or undefined when it cannot be read. */
function lockHolder(lock: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(lock, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reports whether a process with this id runs. NOTE: a process of another PID namespace (another
 * container sharing the store) is not seen and counts as not running, so the message only advises.
 */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `work` holding the store's lock, as withStoreLock does, when the lock is free. Returns
 * undefined without running it when another command holds the lock or the lock cannot be made
 * (a read-only store, say), for work that is worth doing only when nothing waits for it.
 */
export async function tryStoreLock<T>(store: Store, work: () => Promise<T>): Promise<T | undefined> {
  const lock = join(store.gitdir, 'snap.lock');
  try {
    if (!(await takeLock(lock))) return undefined;
  } catch {
    return undefined;
  }
  return holdingLock(lock, work);
}

/** Creates the lock file. Returns false when it exists already. */
async function takeLock(lock: string): Promise<boolean> {
  try {
    await fsp.writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError('locking the store at', lock, error);
  }
}

/** Runs `work` with the lock taken, and removes the lock afterwards, on SIGINT and SIGTERM, and at exit. */
async function holdingLock<T>(lock: string, work: () => Promise<T>): Promise<T> {
  // An interrupt must not leave the lock behind; the signal's usual exit status follows.
  const onSignal = (signal: NodeJS.Signals): void => {
    fs.rmSync(lock, { force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  // Nor may a process that exits with the work unfinished (a bug that leaves a promise unsettled).
  const onExit = (): void => fs.rmSync(lock, { force: true });
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', onExit);
  try {
    return await work();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    await fsp.rm(lock, { force: true });
  }
}

/**
 * Returns the identity and time recorded in reflogs and as the committer of new commits and the
 * tagger of tags: see commitIdentity (src/store/ident.ts) for where each part comes from. The
 * default, for root on a build machine with no config, is "USER <USER@HOSTNAME>", e.g.
 * "root <root@buildhost>"; the time is SOURCE_DATE_EPOCH when set, else now, in UTC.
 */
export function identity(store: Store, env: NodeJS.ProcessEnv = process.env): Signature {
  return commitIdentity(store.gitdir, {}, env).committer;
}
