// Making the rootfs match a snapshot: removing, writing and re-linking only the changed paths,
// then restoring every recorded attribute in the order that keeps them (owner, mode, xattrs, times).

import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { SnapError, ioError, showPath } from '../errors.js';
import { listXattrs, lstatPath, makeDevice, makeFifo, removeXattr, setTimes, setXattr, unlinkMany } from '../native/index.js';
import type { Change } from '../store/diff.js';
import type { ObjectStore } from '../store/objects.js';
import type { Entry } from './entry.js';
import { atOrBelowMount, mountPointsBelow } from './mounts.js';

/** Looks up the entry a directory has in the target snapshot (for restoring times of parents). */
export type DirLookup = (path: Buffer) => Promise<Entry | undefined>;

/** Progress of applying changes. */
export interface ApplyProgress {
  done: number;
  total: number;
}

/**
 * Files up to this size are read whole and written with one call. Larger ones are streamed, so
 * memory use does not grow with file size.
 */
const WHOLE_BLOB_MAX = 1024 * 1024;

/**
 * Maximum total size, in bytes, of the blobs read while the removals' unlinks run. Blobs past it
 * are read when the walk writes their files.
 */
const PREFETCH_BUDGET = 32 * 1024 * 1024;

let tempCounter = 0;

/** Validates that a stored path is safe to create below the rootfs: no empty, '.', '..' or NUL component. */
export function checkSafePath(path: Buffer): void {
  if (path.length === 0) return;
  for (const part of path.toString('latin1').split('/')) {
    if (part === '' || part === '.' || part === '..' || part.includes('\0')) {
      throw new SnapError('UNSAFE_PATH', `snapshot path '${showPath(path)}' would leave the rootfs; the store is damaged or forged`);
    }
  }
}

/**
 * Applies `changes` (in walk order, parents first, as diffSnapshots returns them) to the rootfs at
 * `root`, so it becomes the target snapshot. Every change is validated before the first write.
 * Never follows a symlink: new content is written to a temporary name and renamed into place, and
 * every directory written into is checked to be a real directory first. `whileRemoving`, if
 * given, runs on the main thread while the removals run on native threads, for work that needs
 * no file of the rootfs. Its failure fails the call once the removals are done.
 *
 * Returns the ctime of every path it wrote or gave attributes to (latin1 keys), read right after
 * its last change. A later change by another process gives another ctime, which the stat cache
 * then does not trust.
 */
export async function applyChanges(root: Buffer, changes: Change[], objects: ObjectStore, lookupDir: DirLookup, onProgress?: (p: ApplyProgress) => void, whileRemoving?: () => Promise<void>): Promise<Map<string, bigint>> {
  for (const change of changes) checkSafePath(change.path);
  const abs = (path: Buffer): Buffer => (path.length === 0 ? root : Buffer.concat([root, Buffer.from('/'), path]));
  const written = new Map<string, bigint>();
  const observe = (path: Buffer): void => {
    try {
      written.set(path.toString('latin1'), lstatPath(abs(path)).ctimeNs);
    } catch {
      // Gone again already: the stat cache has no entry to trust.
    }
  };
  const dirs = new OpenDirs(abs, lookupDir, observe);
  const checkedDirs = new Set<string>();
  const ensureRealDir = (dir: Buffer): void => {
    const key = dir.toString('latin1');
    if (checkedDirs.has(key)) return;
    const stat = lstatPath(abs(dir));
    if (stat.type !== 'dir') throw new SnapError('UNSAFE_PATH', `'${showPath(dir)}' is not a directory (it is a ${stat.type}); not writing through it`);
    checkedDirs.add(key);
  };

  // Removals: a deleted or type-changed path goes first, with everything below it. While the
  // unlinks run on native threads, the main thread reads the blobs that the walk writes.
  const removals = changes.filter((change) => change.status === 'D' || change.status === 'T');
  rejectMountPoints(root, changes, abs);
  const [blobs] = await removePaths(
    removals.map((change) => ({ path: abs(change.path), old: change.old })),
    () => Promise.all([prefetchBlobs(changes, objects), whileRemoving?.()]),
  );
  const removedDirs = new Set<string>();
  for (const change of removals) {
    if (isBelowAny(change.path, removedDirs)) continue;
    if (change.old?.type === 'dir') removedDirs.add(change.path.toString('latin1'));
    dirs.touch(change.path);
  }

  // Content and attributes: directories, files, symlinks, devices and FIFOs, parents before
  // children. Each entry gets its attributes as soon as it is complete (a directory when the walk
  // leaves it), so its ctime is as old as possible when the stat cache records it (see
  // RACY_WINDOW_NS in stat-cache.ts). Hardlink followers wait until every first member exists.
  const followers: Entry[] = [];
  const setsLinkedOutside = hardlinkSetsLinkedOutside(changes, abs);
  let done = 0;
  for (const change of changes) {
    await dirs.enter(change.path);
    const entry = change.new;
    if (!entry) continue;
    if (entry.type === 'dir') dirs.open(entry);
    if (change.path.length === 0) continue;
    const relink =
      change.status === 'm' &&
      (!sameLink(change.old, entry) || linkedOutside(abs(entry.path), change.old) || setsLinkedOutside.has(entry.linkTarget?.toString('latin1') ?? ''));
    if (change.status === 'm' && !relink) {
      if (entry.type !== 'dir') {
        applyAttributes(abs(entry.path), entry);
        observe(entry.path);
      }
      continue;
    }
    const parent = parentOf(entry.path);
    if (parent) ensureRealDir(parent);
    if (isFollower(entry)) {
      followers.push(entry);
      dirs.defer(parent!);
      continue;
    }
    const blob = blobs.get(entry);
    blobs.delete(entry);
    await createEntry(abs(entry.path), entry, objects, blob);
    if (entry.type !== 'dir') observe(entry.path);
    dirs.touch(entry.path);
    onProgress?.({ done: ++done, total: changes.length });
  }
  await dirs.finishAll();

  for (const entry of followers) {
    const target = abs(entry.linkTarget!);
    const temp = tempName(abs(entry.path));
    try {
      fs.linkSync(target, temp);
      fs.renameSync(temp, abs(entry.path));
      // rename(2) does nothing and succeeds when both names are links to one inode, which leaves
      // the temporary name behind when the path already was a link of the set.
      fs.rmSync(temp, { force: true });
    } catch (error) {
      fs.rmSync(temp, { force: true });
      throw ioError('linking', entry.path, error);
    }
    applyAttributes(abs(entry.path), entry);
    observe(entry.path);
  }
  await dirs.finishDeferred();
  return written;
}

/**
 * The directories on the walk's current path. Each is finished when the walk leaves it, because
 * writing a child changes its parent's times: a changed directory gets all its attributes, and
 * an unchanged one whose entries changed gets its recorded times back. A directory that receives
 * a hardlink follower is finished after the followers are linked.
 */
class OpenDirs {
  private readonly stack: { key: string; path: Buffer }[] = [];
  private readonly changed = new Map<string, Entry>();
  private readonly touched = new Set<string>();
  private readonly deferred = new Map<string, Buffer>();

  constructor(
    private readonly abs: (path: Buffer) => Buffer,
    private readonly lookupDir: DirLookup,
    private readonly observe: (path: Buffer) => void,
  ) {}

  /** Notes that an entry was created or removed at `path`, which changes its parent's times. */
  touch(path: Buffer): void {
    const parent = parentOf(path);
    if (parent) this.touched.add(parent.toString('latin1'));
  }

  /** Finishes every open directory that does not contain `path`, and opens the parents of `path`. */
  async enter(path: Buffer): Promise<void> {
    const key = path.toString('latin1');
    while (this.stack.length > 0 && !isAncestorKey(this.stack[this.stack.length - 1].key, key)) {
      await this.finish(this.stack.pop()!);
    }
    const missing: { key: string; path: Buffer }[] = [];
    for (let dir = parentOf(path); dir; dir = parentOf(dir)) {
      const dirKey = dir.toString('latin1');
      if (this.stack.length > 0 && this.stack[this.stack.length - 1].key === dirKey) break;
      missing.push({ key: dirKey, path: dir });
    }
    this.stack.push(...missing.reverse());
  }

  /** Opens a changed directory, which gets `entry`'s attributes when finished. */
  open(entry: Entry): void {
    const key = entry.path.toString('latin1');
    this.changed.set(key, entry);
    this.stack.push({ key, path: entry.path });
  }

  /** Marks a directory that a hardlink follower will be linked into, which touches it. */
  defer(path: Buffer): void {
    const key = path.toString('latin1');
    this.deferred.set(key, path);
    this.touched.add(key);
  }

  /** Finishes every directory still open, deepest first, except deferred ones. */
  async finishAll(): Promise<void> {
    while (this.stack.length > 0) await this.finish(this.stack.pop()!);
  }

  /** Finishes the deferred directories, once the followers are linked. */
  async finishDeferred(): Promise<void> {
    for (const [key, path] of this.deferred) await this.finish({ key, path }, true);
  }

  private async finish(dir: { key: string; path: Buffer }, afterFollowers = false): Promise<void> {
    if (!afterFollowers && this.deferred.has(dir.key)) return;
    const entry = this.changed.get(dir.key);
    if (entry) {
      applyAttributes(this.abs(dir.path), entry);
      this.observe(dir.path);
    } else if (this.touched.has(dir.key)) {
      const recorded = await this.lookupDir(dir.path);
      if (recorded) setTimes(this.abs(dir.path), recorded.mtimeNs, recorded.mtimeNs);
      this.observe(dir.path);
    }
  }
}

/** Reports whether the path `dirKey` lies strictly above the path `key` (both latin1 strings). */
function isAncestorKey(dirKey: string, key: string): boolean {
  if (dirKey === '') return key !== '';
  return key.length > dirKey.length && key.charCodeAt(dirKey.length) === 0x2f && key.startsWith(dirKey);
}

/**
 * Removes paths, given in walk order with the entry the capture found at each, and everything
 * below them. A path already gone is no error. Everything but directories is unlinked first, in
 * one native call on many threads, because freeing a file's blocks is the slowest part of a
 * rollback and overlaps well. `whileUnlinking` runs on the main thread meanwhile, and its result
 * is returned. Neither's error is raised before both have settled, so no work goes on in the
 * background after an error. Directories follow the unlinks, deepest first, as they are emptied.
 */
async function removePaths<T>(removals: { path: Buffer; old?: Entry }[], whileUnlinking: () => Promise<T>): Promise<T> {
  const files = removals.filter(({ old }) => old?.type !== 'dir').map(({ path }) => path);
  const unlinking = unlinkMany(files);
  const working = whileUnlinking();
  const [unlinked, worked] = await Promise.allSettled([unlinking, working]);
  if (unlinked.status === 'rejected') throw unlinked.reason;
  if (worked.status === 'rejected') throw worked.reason;
  const codes = unlinked.value;
  for (const [i, path] of files.entries()) {
    // Something else is there now (a directory, say), which the general removal handles.
    if (codes[i] !== null && codes[i] !== 'ENOENT') fs.rmSync(path, { recursive: true, force: true });
  }

  for (const { path, old } of [...removals].reverse()) {
    if (old?.type !== 'dir') continue;
    try {
      fs.rmdirSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      // The directory contains what the capture left out (a socket, say), or is no directory now.
      fs.rmSync(path, { recursive: true, force: true });
    }
  }
  return worked.value;
}

/**
 * Reads the blobs of the files that the walk writes whole, in walk order, until their total size
 * would pass PREFETCH_BUDGET, and returns them by entry. A metadata change is left out, because
 * the walk writes it anew only when it must be relinked. A blob that fails to read ends the
 * prefetch. The walk reads that blob again and raises the error where it would without a
 * prefetch, which is after the removals and the writes that come before it.
 */
async function prefetchBlobs(changes: Change[], objects: ObjectStore): Promise<Map<Entry, Buffer>> {
  const blobs = new Map<Entry, Buffer>();
  let total = 0;
  for (const { status, new: entry } of changes) {
    if (status === 'm' || !entry || !isWholeFile(entry) || isFollower(entry)) continue;
    if (total + entry.size > PREFETCH_BUDGET) break;
    try {
      blobs.set(entry, await objects.readTyped(entry.oid!, 'blob'));
    } catch {
      break;
    }
    total += entry.size;
  }
  return blobs;
}

/** Reports whether `entry` is a regular file small enough to be read whole and written with one call. */
function isWholeFile(entry: Entry): boolean {
  return entry.type === 'file' && entry.size <= WHOLE_BLOB_MAX;
}

/** Reports whether `entry` is a hardlink to an earlier path, which is linked after the walk. */
function isFollower(entry: Entry): boolean {
  return !!entry.linkTarget && !entry.linkTarget.equals(entry.path);
}

/**
 * Throws UNSAFE_PATH when a change would touch a mount point or what is mounted there. The scan
 * never enters a mount point, so the snapshot does not hold what is mounted there, and changing
 * it would change another filesystem or directory tree. Removing the mount point itself fails
 * (EBUSY) after the changes before it were done. Mount points come from /proc/self/mountinfo,
 * which also lists bind mounts of the same filesystem. A removed directory on another device
 * counts as one too, for when mountinfo cannot be read.
 */
function rejectMountPoints(root: Buffer, changes: Change[], abs: (path: Buffer) => Buffer): void {
  const mountPoints = mountPointsBelow(root);
  let rootDev: bigint | undefined;
  for (const { path, status, old } of changes) {
    if (path.length === 0) continue;
    const key = mountPoints.size > 0 ? path.toString('latin1') : '';
    const mount = atOrBelowMount(key, mountPoints);
    if (mount !== undefined) {
      const at = mount === key ? `'${showPath(path)}' is a mount point` : `'${showPath(path)}' is below the mount point '${showPath(Buffer.from(mount, 'latin1'))}'`;
      throw new SnapError('UNSAFE_PATH', `${at}, and the target snapshot changes it; unmount it and run the command again`);
    }
    if ((status !== 'D' && status !== 'T') || old?.type !== 'dir') continue;
    rootDev ??= lstatPath(root).dev;
    let dev: bigint;
    try {
      dev = lstatPath(abs(path)).dev;
    } catch {
      continue;
    }
    if (dev !== rootDev) {
      throw new SnapError('UNSAFE_PATH', `'${showPath(path)}' is the mount point of another filesystem, and the target snapshot does not have it; unmount it and run the command again`);
    }
  }
}

/**
 * Reports whether a regular file that the rootfs records as a single link has more links, so its
 * inode is shared with a path outside the rootfs: changing its mode or owner in place would change
 * that file too, so it is written anew instead.
 */
function linkedOutside(path: Buffer, old: Entry | undefined): boolean {
  if (old?.type !== 'file' || old.linkTarget) return false;
  return lstatPath(path).nlink > 1;
}

/**
 * Returns the first paths (latin1) of the hardlink sets whose attributes change in place and whose
 * inode has more links than the set has members in the rootfs, so a path outside shares it. Such a
 * set is written anew and linked again, as linkedOutside does for a single file. Members share one
 * inode, so when its attributes change every member's record changes: each member is then a
 * metadata change here, and counting them counts the set.
 */
function hardlinkSetsLinkedOutside(changes: Change[], abs: (path: Buffer) => Buffer): Set<string> {
  const members = new Map<string, number>();
  for (const change of changes) {
    const entry = change.new;
    if (change.status !== 'm' || entry?.type !== 'file' || !entry.linkTarget || !sameLink(change.old, entry)) continue;
    const key = entry.linkTarget.toString('latin1');
    members.set(key, (members.get(key) ?? 0) + 1);
  }
  const outside = new Set<string>();
  for (const [key, count] of members) {
    try {
      if (lstatPath(abs(Buffer.from(key, 'latin1'))).nlink > count) outside.add(key);
    } catch {
      // A first member that is missing is written anew anyway.
    }
  }
  return outside;
}

function sameLink(a: Entry | undefined, b: Entry): boolean {
  if (!a?.linkTarget || !b.linkTarget) return !a?.linkTarget && !b.linkTarget;
  return a.linkTarget.equals(b.linkTarget);
}

function parentOf(path: Buffer): Buffer | undefined {
  if (path.length === 0) return undefined;
  const slash = path.lastIndexOf(0x2f);
  return slash < 0 ? Buffer.alloc(0) : path.subarray(0, slash);
}

/** Reports whether `path` lies strictly below one of `dirs` (paths as latin1 strings). */
function isBelowAny(path: Buffer, dirs: Set<string>): boolean {
  if (dirs.size === 0) return false;
  const key = path.toString('latin1');
  for (let end = key.lastIndexOf('/'); end > 0; end = key.lastIndexOf('/', end - 1)) {
    if (dirs.has(key.slice(0, end))) return true;
  }
  return false;
}

function tempName(path: Buffer): Buffer {
  tempCounter += 1;
  const slash = path.lastIndexOf(0x2f);
  return Buffer.concat([path.subarray(0, slash + 1), Buffer.from(`.snap-tmp-${process.pid}-${tempCounter}`)]);
}

/**
 * Creates one entry. A directory is made with mode 0700, and its attributes come last. Anything
 * else is made at a temporary name beside `path`, given its attributes, and renamed over whatever
 * is there. A file that isWholeFile accepts gets `blob` as its content when given, and otherwise
 * its blob read from `objects`.
 */
async function createEntry(path: Buffer, entry: Entry, objects: ObjectStore, blob?: Buffer): Promise<void> {
  if (entry.type === 'dir') {
    const existing = fs.existsSync(path) ? lstatPath(path) : undefined;
    if (existing?.type === 'dir') return;
    if (existing) fs.rmSync(path, { force: true });
    fs.mkdirSync(path, { mode: 0o700 });
    return;
  }
  const temp = tempName(path);
  try {
    if (isWholeFile(entry)) {
      fs.writeFileSync(temp, blob ?? (await objects.readTyped(entry.oid!, 'blob')), { flag: 'wx', mode: 0o600 });
    } else if (entry.type === 'file') {
      const source = await objects.openBlob(entry.oid!);
      await pipeline(source, fs.createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
    } else if (entry.type === 'symlink') {
      fs.symlinkSync(entry.target!, temp);
    } else if (entry.type === 'fifo') {
      makeFifo(temp, 0o600);
    } else {
      makeDevice(temp, entry.type, 0o600, entry.rdevMajor ?? 0, entry.rdevMinor ?? 0);
    }
    applyAttributes(temp, entry, path);
    fs.renameSync(temp, path);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    if (error instanceof SnapError) throw error;
    throw ioError('writing', path, error);
  }
}

/**
 * Restores owner, mode, xattrs and times, in that order: chown clears setuid/setgid bits and file
 * capabilities, so mode and xattrs come after it; times come last because setting xattrs on some
 * filesystems updates nothing but ctime, and nothing after it changes mtime.
 */
function applyAttributes(path: Buffer, entry: Entry, shownPath: Buffer = path): void {
  try {
    fs.lchownSync(path, entry.uid, entry.gid);
    if (entry.type !== 'symlink') fs.chmodSync(path, entry.mode);
    const expected = new Map(entry.xattrs.map((x) => [x.name, x.value]));
    for (const current of listXattrs(path)) {
      const value = expected.get(current.name);
      if (value === undefined) removeXattr(path, current.name);
      else if (value.equals(current.value)) expected.delete(current.name);
    }
    for (const [name, value] of expected) setXattr(path, name, value);
    setTimes(path, entry.mtimeNs, entry.mtimeNs);
  } catch (error) {
    throw ioError('restoring attributes of', shownPath, error);
  }
}
