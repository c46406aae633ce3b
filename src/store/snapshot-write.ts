// Turning a scanned rootfs into Git objects: content blobs, the rootfs tree, and the meta tree of
// per-directory metadata blobs (layout in docs/FORMAT.md).

import * as fs from 'node:fs';
import { SnapError, ioError } from '../errors.js';
import type { Entry } from '../tree/entry.js';
import type { ScanDir, ScanNode } from '../tree/scan.js';
import { META_BLOB_NAME, toTreeName } from './names.js';
import { ROOT_RECORD_NAME, encodeMeta } from './meta-format.js';
import { HashPool } from './hash-pool.js';
import { hashObject, type ObjectStore, type ObjectType } from './objects.js';
import { MODE_EXEC, MODE_FILE, MODE_SYMLINK, MODE_TREE, encodeTree, type TreeEntry } from './tree-object.js';

/**
 * A snapshot with at least this many new entries writes its objects as one pack; a smaller one
 * writes loose objects, as git unpacks a small fetch.
 */
const PACK_THRESHOLD = 100;

/** Files above this size are streamed on the main thread; smaller ones go to the hash pool. */
const STREAM_THRESHOLD = 1024 * 1024;

/** Large files streamed at once; their reads and deflate run on libuv's threads. */
const LARGE_CONCURRENCY = 2;

/** Small files queued for the hash pool at once, enough to keep every worker busy. */
const SMALL_IN_FLIGHT = 256;

/**
 * Up to this many small files, with up to INLINE_MAX_BYTES in all, are read on the main thread:
 * starting the pool's worker threads takes tens of milliseconds, longer than hashing them here.
 */
const INLINE_MAX_FILES = 512;
const INLINE_MAX_BYTES = 4 * 1024 * 1024;

/** Progress of building a snapshot: files whose content was read, and their bytes. */
export interface BuildProgress {
  phase: 'content' | 'trees';
  done: number;
  total: number;
  bytes: number;
}

/** Options of buildSnapshot. */
export interface BuildOptions {
  /** Write objects to the store (commit) or keep trees in memory and only hash content (status). */
  write: boolean;
  onProgress?: (progress: BuildProgress) => void;
}

/** Result of buildSnapshot. */
export interface BuiltSnapshot {
  /** The snapshot's top tree: `rootfs` and `meta` subtrees. */
  tree: string;
  /** Entries recorded, the rootfs itself included. */
  entries: number;
  /** Regular files whose content was read (not answered by the stat cache). */
  filesRead: number;
  bytesRead: number;
}

/**
 * Computes content ids of every file the scan left unhashed, assigns hardlink sets, and writes the
 * trees. With `write: false` no object reaches the disk: trees and metadata blobs are kept in the
 * store's memory overlay so they can be diffed.
 */
export async function buildSnapshot(objects: ObjectStore, root: Buffer, scan: ScanDir, options: BuildOptions): Promise<BuiltSnapshot> {
  const nodes = collectNodes(scan);
  const usePack = options.write && nodes.filter((node) => node.fresh).length >= PACK_THRESHOLD;
  if (usePack) await objects.beginPack();
  try {
    const built = await writeSnapshot(objects, root, scan, nodes, options);
    if (usePack) await objects.finishPack();
    return built;
  } catch (error) {
    if (usePack) await objects.abortPack();
    throw error;
  }
}

async function writeSnapshot(objects: ObjectStore, root: Buffer, scan: ScanDir, nodes: ScanNode[], options: BuildOptions): Promise<BuiltSnapshot> {
  const stats = await computeContent(objects, root, nodes, options);
  assignHardlinks(nodes);

  const put = async (type: ObjectType, content: Buffer): Promise<string> =>
    options.write ? objects.write(type, content) : objects.putInMemory(type, content);
  const { rootfs, meta } = await writeDir(scan, put, true);
  const top = encodeTree([
    { mode: MODE_TREE, name: Buffer.from('rootfs'), oid: rootfs },
    { mode: MODE_TREE, name: Buffer.from('meta'), oid: meta ?? (await put('tree', Buffer.alloc(0))) },
  ]);
  const tree = await put('tree', top);
  return { tree, entries: scan.entries ?? nodes.length + 1, filesRead: stats.files, bytesRead: stats.bytes };
}

/** Lists the children of every directory that is not reused, parents before children. */
function collectNodes(scan: ScanDir): ScanNode[] {
  const out: ScanNode[] = [];
  const visit = (dir: ScanDir): void => {
    for (const child of dir.children) {
      out.push(child);
      if (child.dir) visit(child.dir);
    }
  };
  visit(scan);
  return out;
}

async function computeContent(objects: ObjectStore, root: Buffer, nodes: ScanNode[], options: BuildOptions): Promise<{ files: number; bytes: number }> {
  const jobs: ScanNode[] = [];
  for (const node of nodes) {
    const entry = node.entry;
    if (entry.type === 'symlink' && node.fresh) {
      // A dry run keeps the target blob in memory: reading the snapshot back needs it.
      entry.oid = options.write ? await objects.write('blob', entry.target!) : objects.putInMemory('blob', entry.target!);
    }
    if (entry.type === 'file' && (node.fresh || !entry.oid)) jobs.push(node);
  }

  // Paths sharing an inode are read once.
  const byInode = new Map<string, ScanNode[]>();
  const unique: ScanNode[] = [];
  for (const node of jobs) {
    const key = node.inode ?? '';
    if (key === '') {
      unique.push(node);
      continue;
    }
    const group = byInode.get(key);
    if (group) group.push(node);
    else {
      byInode.set(key, [node]);
      unique.push(node);
    }
  }

  // Small files go to worker threads; large ones are streamed here, a few at a time, so memory
  // stays flat whatever their size.
  const small = unique.filter((node) => node.entry.size <= STREAM_THRESHOLD);
  const large = unique.filter((node) => node.entry.size > STREAM_THRESHOLD);
  const total = unique.length;
  let done = 0;
  let bytes = 0;
  const finish = (node: ScanNode, oid: string): void => {
    node.entry.oid = oid;
    for (const twin of (node.inode && byInode.get(node.inode)) || []) twin.entry.oid = oid;
    done += 1;
    bytes += node.entry.size;
    if (done % 256 === 0 || done === total) options.onProgress?.({ phase: 'content', done, total, bytes });
  };
  const pathOf = (node: ScanNode): Buffer => Buffer.concat([root, Buffer.from('/'), node.entry.path]);

  const streamLarge = async (): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < large.length) {
        const node = large[next++];
        finish(node, await objects.writeFileBlob(pathOf(node), node.entry.size, options.write));
      }
    };
    await Promise.all(Array.from({ length: LARGE_CONCURRENCY }, worker));
  };

  const hashSmall = async (): Promise<void> => {
    if (small.length === 0) return;
    if (small.length <= INLINE_MAX_FILES && small.reduce((sum, node) => sum + node.entry.size, 0) <= INLINE_MAX_BYTES) {
      for (const node of small) finish(node, await storeSmallFile(objects, pathOf(node), node.entry.size, options.write));
      return;
    }
    const pool = new HashPool(objects.objectsDir, !options.write ? 'hash' : objects.packing ? 'pack' : 'loose');
    try {
      let next = 0;
      const feeder = async (): Promise<void> => {
        while (next < small.length) {
          const node = small[next++];
          const result = await pool.hash(pathOf(node), node.entry.size);
          if (result.deflated) await objects.addDeflatedBlob(result.oid, node.entry.size, result.deflated);
          finish(node, result.oid);
        }
      };
      await Promise.all(Array.from({ length: SMALL_IN_FLIGHT }, feeder));
    } finally {
      await pool.close();
    }
  };

  await Promise.all([hashSmall(), streamLarge()]);
  return { files: done, bytes };
}

/**
 * Sets `linkTarget` on every fresh regular file whose inode is shared by two or more recorded
 * paths. Entries taken from the last commit keep theirs: any change to a hardlink set (a link
 * added, removed or renamed, content or mode changed) changes the inode's ctime, which every
 * member shares, so either all members of a set are fresh or none is.
 */
function assignHardlinks(nodes: ScanNode[]): void {
  const sets = new Map<string, Entry[]>();
  for (const node of nodes) {
    if (!node.fresh || node.entry.type !== 'file' || !node.inode) continue;
    const key = node.inode;
    const set = sets.get(key);
    if (set) set.push(node.entry);
    else sets.set(key, [node.entry]);
  }
  for (const members of sets.values()) {
    if (members.length < 2) continue;
    const first = members.reduce((a, b) => (Buffer.compare(a.path, b.path) <= 0 ? a : b));
    for (const member of members) member.linkTarget = first.path;
  }
}

type Put = (type: ObjectType, content: Buffer) => Promise<string>;

/**
 * Writes the rootfs tree and meta tree of one directory, children first. The meta tree of a
 * directory without children is omitted (undefined), so empty directories add no meta objects.
 */
async function writeDir(dir: ScanDir, put: Put, isRoot: boolean): Promise<{ rootfs: string; meta?: string }> {
  if (dir.reuse) {
    dir.written = dir.reuse;
    return { rootfs: dir.reuse.rootfsOid, meta: dir.reuse.metaOid };
  }
  const treeEntries: TreeEntry[] = [];
  const metaEntries: TreeEntry[] = [];
  const records: { name: Buffer; entry: Entry }[] = [];
  if (isRoot) records.push({ name: ROOT_RECORD_NAME, entry: dir.entry! });

  for (const child of dir.children) {
    const name = toTreeName(child.name);
    const entry = child.entry;
    records.push({ name: child.name, entry });
    if (child.dir) {
      const sub = await writeDir(child.dir, put, false);
      treeEntries.push({ mode: MODE_TREE, name, oid: sub.rootfs });
      if (sub.meta) metaEntries.push({ mode: MODE_TREE, name, oid: sub.meta });
    } else if (entry.type === 'file') {
      treeEntries.push({ mode: entry.mode & 0o100 ? MODE_EXEC : MODE_FILE, name, oid: entry.oid! });
    } else if (entry.type === 'symlink') {
      treeEntries.push({ mode: MODE_SYMLINK, name, oid: entry.oid! });
    }
  }

  const rootfs = await put('tree', encodeTree(treeEntries));
  if (records.length === 0) {
    dir.written = { rootfsOid: rootfs };
    return { rootfs };
  }
  metaEntries.push({ mode: MODE_FILE, name: META_BLOB_NAME, oid: await put('blob', encodeMeta(records)) });
  const meta = await put('tree', encodeTree(metaEntries));
  dir.written = { rootfsOid: rootfs, metaOid: meta };
  return { rootfs, meta };
}

/**
 * Stores a small file as a blob, or only hashes it without `write`, on the main thread, as a hash
 * pool worker would. Throws IO when the file's size is no longer `size`.
 */
async function storeSmallFile(objects: ObjectStore, path: Buffer, size: number, write: boolean): Promise<string> {
  let content: Buffer;
  try {
    content = fs.readFileSync(path);
  } catch (error) {
    throw ioError('reading', path, error);
  }
  if (content.length !== size) {
    throw new SnapError('IO', `file '${path.toString()}' changed size while being read (${size} -> ${content.length} bytes); retry when it is not being written`);
  }
  return write ? objects.write('blob', content) : hashObject('blob', content);
}
