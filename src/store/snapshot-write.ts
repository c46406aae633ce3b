// Turning a scanned rootfs into Git objects: content blobs, the rootfs tree, and the meta tree of
// per-directory metadata blobs (layout in docs/FORMAT.md). The scan hands each directory over as
// soon as its children are known, and a directory's entries are dropped once its trees are written,
// so memory follows the files in flight rather than the size of the tree.

import type { Entry } from '../tree/entry.js';
import type { ScanDir, ScanNode } from '../tree/scan.js';
import { META_BLOB_NAME, toTreeName } from './names.js';
import { ROOT_RECORD_NAME, encodeMeta } from './meta-format.js';
import { HashPool } from './hash-pool.js';
import type { ObjectStore, ObjectType } from './objects.js';
import { MODE_EXEC, MODE_FILE, MODE_SYMLINK, MODE_TREE, encodeTree, type TreeEntry } from './tree-object.js';

/**
 * The first this many new entries of a snapshot are written as loose objects, as git unpacks a
 * small fetch. Past that, the rest of the snapshot goes into one pack.
 */
const PACK_THRESHOLD = 100;

/**
 * Files above this size are hashed (and stored as loose objects) one call each, in chunks on
 * libuv's threads. Smaller ones go to the hash pool in batches.
 */
const STREAM_THRESHOLD = 1024 * 1024;

/** Large files streamed at once; their reads and deflate run on libuv's threads. */
const LARGE_CONCURRENCY = 2;

/**
 * Files queued for hashing before the scan waits: enough to keep the pool busy, few enough that
 * the entries waiting for their ids stay a small part of a large tree.
 */
const MAX_QUEUED_FILES = 256;

/** Progress of building a snapshot: files whose content was read, and their bytes. */
export interface BuildProgress {
  phase: 'content' | 'trees';
  done: number;
  /** Files to read in all. Content progress is reported once the scan is over, so it is known. */
  total: number;
  bytes: number;
}

/** Options of SnapshotBuilder. */
export interface BuildOptions {
  /** Write objects to the store (commit) or keep trees in memory and only hash content (status). */
  write: boolean;
  onProgress?: (progress: BuildProgress) => void;
}

/** Result of a build. */
export interface BuiltSnapshot {
  /** The snapshot's top tree: `rootfs` and `meta` subtrees. */
  tree: string;
  /** Entries recorded, the rootfs itself included. */
  entries: number;
  /** Regular files whose content was read (not answered by the stat cache). */
  filesRead: number;
  bytesRead: number;
  /**
   * "DEV:INO" keys of the hardlink sets that got fewer fresh members than their link count: the
   * others are outside the rootfs, or inside with entries from the last commit.
   */
  partialSets: string[];
}

/** The subtree ids of a written directory. */
type DirIds = { rootfsOid: string; metaOid?: string };

/** The fresh members of one hardlink set found so far, and whether the set is complete. */
interface HardlinkSet {
  key: string;
  members: Entry[];
  /** The inode's link count: once that many members are recorded, no other can turn up. */
  nlink: number;
  done: Promise<void>;
  complete: () => void;
}

/**
 * SnapshotBuilder computes content ids of the files the scan left unhashed, assigns hardlink sets,
 * and writes the trees, a directory at a time. Pass addDir as the scan's onDir hook, then call
 * finish with the scanned root; call abort when the scan or the build fails. With `write: false`
 * no object reaches the disk: trees and metadata blobs stay in the store's memory overlay so they
 * can be diffed.
 */
export class SnapshotBuilder {
  private readonly pool: HashPool;
  private readonly written = new WeakMap<ScanDir, Promise<DirIds>>();
  /** Content ids by "DEV:INO", so each file with several links is read once. */
  private readonly byInode = new Map<string, Promise<string>>();
  private readonly sets = new Map<string, HardlinkSet>();
  /** Preparations of directories not yet finished, during which their files join hardlink sets. */
  private readonly preparing = new Set<Promise<unknown>>();
  /** Set by finish once every file has joined its set: a set is then complete whatever its count. */
  private setsClosed = false;
  private readonly partialSets: string[] = [];
  private readonly large: { node: ScanNode; resolve: (oid: string) => void; reject: (error: unknown) => void }[] = [];
  private largeRunning = 0;
  private fresh = 0;
  private queued = 0;
  private drained: (() => void)[] = [];
  /** Reads started and not yet settled. */
  private readonly reading = new Set<Promise<string>>();
  private failure: { error: unknown } | undefined;
  private found = 0;
  private done = 0;
  private bytes = 0;
  /** Set by finish: from then on every file to read is known. */
  private scanned = false;

  constructor(
    private readonly objects: ObjectStore,
    private readonly root: Buffer,
    private readonly options: BuildOptions,
  ) {
    this.pool = new HashPool(objects.objectsDir, options.write ? 'loose' : 'hash', (oid, size, deflated) => objects.addDeflatedBlob(oid, size, deflated));
  }

  /**
   * Takes a scanned directory other than the root whose children and subdirectories are complete,
   * starts reading its fresh files, and schedules its trees. Waits while many files are queued,
   * which slows the scan down. Throws the first failure of an earlier directory.
   */
  async addDir(dir: ScanDir): Promise<void> {
    this.throwIfFailed();
    const ids = this.schedule(dir);
    // The failure is kept for throwIfFailed and finish, so this promise never goes unhandled.
    ids.catch((error: unknown) => {
      this.failure ??= { error };
    });
    while (this.queued > MAX_QUEUED_FILES && !this.failure) await new Promise<void>((resolve) => this.drained.push(resolve));
    this.throwIfFailed();
  }

  /** Writes the root directory and the top tree once the scan has returned `scan`. */
  async finish(scan: ScanDir): Promise<BuiltSnapshot> {
    this.throwIfFailed();
    this.scanned = true;
    // The root's files join their sets when the root is prepared, and a preparation may pause (to
    // start a pack), so the sets are known only once every preparation is over.
    const rootIds = this.idsOf(scan);
    rootIds.catch(() => undefined);
    while (this.preparing.size > 0) await Promise.all([...this.preparing]);
    // Sets with links outside the rootfs never reach their link count; they are complete now.
    this.setsClosed = true;
    for (const set of this.sets.values()) this.completeSet(set);
    const { rootfsOid, metaOid } = await rootIds;
    const top = encodeTree([
      { mode: MODE_TREE, name: Buffer.from('rootfs'), oid: rootfsOid },
      { mode: MODE_TREE, name: Buffer.from('meta'), oid: metaOid ?? (await this.put('tree', Buffer.alloc(0))) },
    ]);
    const tree = await this.put('tree', top);
    if (this.objects.packing) await this.objects.finishPack();
    this.options.onProgress?.({ phase: 'content', done: this.done, total: this.found, bytes: this.bytes });
    return { tree, entries: scan.entries ?? 1, filesRead: this.done, bytesRead: this.bytes, partialSets: this.partialSets };
  }

  /**
   * Stops the build: files not yet handed to a thread are dropped, reads in progress are waited
   * for (so a streamed file's temporary object is removed before this returns), and the pack
   * being written, if any, is deleted.
   */
  async abort(): Promise<void> {
    this.failure ??= { error: new Error('the build was aborted') };
    for (const wake of this.drained.splice(0)) wake();
    this.pool.cancel(new Error('the build was aborted'));
    for (const job of this.large.splice(0)) job.reject(new Error('the build was aborted'));
    await Promise.allSettled([...this.reading]);
    if (this.objects.packing) await this.objects.abortPack();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private put(type: ObjectType, content: Buffer): Promise<string> {
    return this.options.write ? this.objects.write(type, content) : Promise.resolve(this.objects.putInMemory(type, content));
  }

  /** Returns the ids of a directory: reused, scheduled by addDir, or written now (a mount point, the root). */
  private idsOf(dir: ScanDir): Promise<DirIds> {
    if (dir.reuse) {
      dir.written = dir.reuse;
      return Promise.resolve(dir.reuse);
    }
    return this.written.get(dir) ?? this.schedule(dir);
  }

  private schedule(dir: ScanDir): Promise<DirIds> {
    const prepared = this.prepare(dir);
    const preparation = prepared.then(
      () => undefined,
      () => undefined,
    );
    this.preparing.add(preparation);
    void preparation.then(() => this.preparing.delete(preparation));
    const scheduled = prepared.then(async (waits) => {
      await Promise.all(waits);
      return this.writeDir(dir);
    });
    this.written.set(dir, scheduled);
    return scheduled;
  }

  /** Starts the work a directory's trees wait for and returns the promises to wait on. */
  private async prepare(dir: ScanDir): Promise<Promise<unknown>[]> {
    const waits: Promise<unknown>[] = [];
    // This loop awaits, so a read may fail before the caller's Promise.all sees its promise. The
    // empty handler keeps node from treating that as an unhandled rejection; Promise.all still rejects.
    const wait = (promise: Promise<unknown>): void => {
      promise.catch(() => undefined);
      waits.push(promise);
    };
    for (const child of dir.children) {
      const entry = child.entry;
      if (child.fresh) {
        this.fresh += 1;
        if (this.fresh === PACK_THRESHOLD) await this.switchToPack();
      }
      if (entry.type === 'symlink' && child.fresh) {
        // A dry run keeps the target blob in memory: reading the snapshot back needs it.
        entry.oid = await this.put('blob', entry.target!);
      }
      if (entry.type === 'file' && (child.fresh || !entry.oid)) wait(this.content(child));
      if (entry.type === 'file' && child.fresh && child.inode) wait(this.joinSet(child));
      if (child.dir) wait(this.idsOf(child.dir));
    }
    return waits;
  }

  /** Sends the objects written from now on to a pack, once the snapshot turns out large. */
  private async switchToPack(): Promise<void> {
    if (!this.options.write || this.objects.packing) return;
    await this.objects.beginPack();
    this.pool.mode = 'pack';
  }

  /** Sets the content id of a file, reading each inode once. */
  private content(node: ScanNode): Promise<void> {
    const key = node.inode;
    let oid = key ? this.byInode.get(key) : undefined;
    if (!oid) {
      oid = this.read(node);
      if (key) this.byInode.set(key, oid);
    }
    return oid.then((id) => {
      node.entry.oid = id;
    });
  }

  private read(node: ScanNode): Promise<string> {
    this.found += 1;
    this.queued += 1;
    const size = node.entry.size;
    const path = Buffer.concat([this.root, Buffer.from('/'), node.entry.path]);
    const oid =
      size > STREAM_THRESHOLD
        ? new Promise<string>((resolve, reject) => {
            this.large.push({ node, resolve, reject });
            this.startLarge();
          })
        : this.pool.hash(path, size).then((result) => result.oid);
    this.reading.add(oid);
    return oid.finally(() => {
      this.reading.delete(oid);
      this.queued -= 1;
      this.done += 1;
      this.bytes += size;
      if (this.scanned && this.done % 256 === 0) this.options.onProgress?.({ phase: 'content', done: this.done, total: this.found, bytes: this.bytes });
      if (this.queued <= MAX_QUEUED_FILES / 2) for (const wake of this.drained.splice(0)) wake();
    });
  }

  /** Streams large files, a few at a time, so memory stays flat whatever their size. */
  private startLarge(): void {
    while (this.largeRunning < LARGE_CONCURRENCY && this.large.length > 0) {
      const job = this.large.shift()!;
      this.largeRunning += 1;
      const path = Buffer.concat([this.root, Buffer.from('/'), job.node.entry.path]);
      this.objects
        .writeFileBlob(path, job.node.entry.size, this.options.write)
        .then(job.resolve, job.reject)
        .finally(() => {
          this.largeRunning -= 1;
          this.startLarge();
        });
    }
  }

  /**
   * Adds a fresh file to its hardlink set and returns a promise that settles once the set is
   * complete and every member has its `linkTarget`: the set's first path in byte order. Entries
   * taken from the last commit keep theirs. Any change to a hardlink set (a link added, removed
   * or renamed, content or mode changed) changes the inode's ctime, which every member shares.
   * So either all members of a set are fresh or none is.
   */
  private joinSet(node: ScanNode): Promise<void> {
    const key = node.inode!;
    let set = this.sets.get(key);
    if (!set) {
      let complete = (): void => {};
      const done = new Promise<void>((resolve) => {
        complete = resolve;
      });
      set = { key, members: [], nlink: node.nlink ?? 0, done, complete };
      this.sets.set(key, set);
    }
    set.members.push(node.entry);
    if (set.members.length >= set.nlink || this.setsClosed) this.completeSet(set);
    return set.done;
  }

  private completeSet(set: HardlinkSet): void {
    this.sets.delete(set.key);
    if (set.members.length < set.nlink) this.partialSets.push(set.key);
    if (set.members.length >= 2) {
      const first = set.members.reduce((a, b) => (Buffer.compare(a.path, b.path) <= 0 ? a : b));
      for (const member of set.members) member.linkTarget = first.path;
    }
    set.complete();
  }

  /**
   * Writes the rootfs tree and meta tree of one directory and drops its children, which are no
   * longer needed. The meta tree of a directory without children is omitted (undefined), so empty
   * directories add no meta objects.
   */
  private async writeDir(dir: ScanDir): Promise<DirIds> {
    const treeEntries: TreeEntry[] = [];
    const metaEntries: TreeEntry[] = [];
    const records: { name: Buffer; entry: Entry }[] = [];
    if (dir.path.length === 0) records.push({ name: ROOT_RECORD_NAME, entry: dir.entry! });

    for (const child of dir.children) {
      const name = toTreeName(child.name);
      const entry = child.entry;
      records.push({ name: child.name, entry });
      if (child.dir) {
        const sub = await this.idsOf(child.dir);
        treeEntries.push({ mode: MODE_TREE, name, oid: sub.rootfsOid });
        if (sub.metaOid) metaEntries.push({ mode: MODE_TREE, name, oid: sub.metaOid });
      } else if (entry.type === 'file') {
        treeEntries.push({ mode: entry.mode & 0o100 ? MODE_EXEC : MODE_FILE, name, oid: entry.oid! });
      } else if (entry.type === 'symlink') {
        treeEntries.push({ mode: MODE_SYMLINK, name, oid: entry.oid! });
      }
    }

    const rootfsOid = await this.put('tree', encodeTree(treeEntries));
    let ids: DirIds = { rootfsOid };
    if (records.length > 0) {
      metaEntries.push({ mode: MODE_FILE, name: META_BLOB_NAME, oid: await this.put('blob', encodeMeta(records)) });
      ids = { rootfsOid, metaOid: await this.put('tree', encodeTree(metaEntries)) };
    }
    dir.written = ids;
    dir.children = [];
    return ids;
  }
}
