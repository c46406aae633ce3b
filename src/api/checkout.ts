// snap checkout: make the rootfs exactly a snapshot, and move HEAD.

import { SnapError, showPath } from '../errors.js';
import { diffSnapshots, type Change } from '../store/diff.js';
import { checkRefName } from '../store/refs.js';
import { previousCheckout, readCommit, resolveRevision } from '../store/revision.js';
import { readSnapshotDir, snapshotRoot, type SnapshotDir } from '../store/snapshot-read.js';
import { identity, openStore, pathBelow, withStoreLock, type Store } from '../store/store.js';
import { cacheNotSaved, captureWorktree, planCheckoutRecord, saveCheckoutRecord, type Capture, type CheckoutRecordPlan } from '../store/worktree.js';
import { applyChanges } from '../tree/apply.js';
import type { Entry } from '../tree/entry.js';
import type { CommonOptions } from './common.js';
import { leftBehindWarning, unreachableHead } from './reachability.js';

/** Options of checkout. */
export interface CheckoutOptions extends CommonOptions {
  revision: string;
  /** Discard uncommitted changes in the rootfs instead of refusing. */
  force?: boolean;
  /** Create this branch at `revision` and check it out (git checkout -b NAME REV). */
  createBranch?: string;
  /** With createBranch: move the branch to `revision` if it exists already (git checkout -B). */
  resetBranch?: boolean;
}

/** Result of checkout. */
export interface CheckoutResult {
  oid: string;
  /** The branch HEAD now points at, or undefined when HEAD is detached. */
  branch?: string;
  /** Paths removed, written or whose attributes were restored. */
  changed: number;
}

/**
 * Makes the rootfs exactly the snapshot `revision` and points HEAD at it: at the branch when
 * `revision` is a branch name, else detached at the commit. Throws DIRTY_TREE (naming the changed
 * paths in the message and `data.paths`) when the rootfs differs from HEAD and `force` is unset;
 * nothing is changed then. Warns through onWarning when a detached HEAD commit that no branch or
 * tag reaches is left behind.
 */
export async function checkout(options: CheckoutOptions): Promise<CheckoutResult> {
  if (options.createBranch !== undefined) checkRefName(options.createBranch, 'branch');
  const store = await openStore(options);
  return withStoreLock(store, async () => {
    // '-' and @{-N} name what HEAD was on before, a branch when it was one (git checkout -).
    let revision = options.revision;
    if (revision === '-' || /^@\{-\d+\}$/.test(revision)) {
      const previous = await previousCheckout(store, revision === '-' ? 1 : Number(revision.slice(3, -1)));
      if (!previous) throw new SnapError('NOT_FOUND', `no earlier checkout is in the HEAD reflog for '${revision}'; name a branch or snapshot`);
      revision = previous;
    }
    const oid = await resolveRevision(store, revision);
    const newBranch = options.createBranch;
    const head = await store.refs.head();
    if (newBranch !== undefined) {
      const existing = await store.refs.read(`refs/heads/${newBranch}`);
      if (existing && !options.resetBranch) {
        throw new SnapError('ALREADY_EXISTS', `branch '${newBranch}' already exists; check it out with 'snap checkout ${newBranch}', or use -B to move it here`);
      }
      const conflict = await store.refs.conflicting(`refs/heads/${newBranch}`);
      if (conflict) throw new SnapError('ALREADY_EXISTS', `branch '${newBranch}' cannot be made while '${conflict}' exists; pick another name`);
    }
    // 'HEAD' and '@' name the current position, so a checkout of them stays on the branch, as in git.
    const headItself = (revision === 'HEAD' || revision === '@') && head.branch !== undefined ? head.branch : undefined;
    const branch = newBranch ?? headItself ?? ((await store.refs.read(`refs/heads/${revision}`)) ? revision : undefined);

    // A new branch at HEAD's own commit keeps the rootfs as it is, uncommitted changes included, as git does.
    let changed = 0;
    if (!(newBranch !== undefined && oid === head.oid)) {
      const target = await snapshotRoot(store.objects, (await readCommit(store, oid)).tree);
      let current: Capture;
      let plan: CheckoutPlan | undefined;
      if (head.oid) {
        const headRoot = await snapshotRoot(store.objects, (await readCommit(store, head.oid)).tree);
        let clean: boolean;
        ({ current, plan, clean } = await captureWithPlan(store, headRoot, target, options));
        if (!options.force && !clean) await refuseDirty(store, head.oid, current.root);
      } else {
        current = await captureWorktree(store, { write: false, onWarning: options.onWarning });
      }
      changed = await writeRootfs(store, current, target, options, plan);
    }

    const who = identity(store);
    if (newBranch !== undefined) {
      const ref = `refs/heads/${newBranch}`;
      const existing = await store.refs.read(ref);
      await store.refs.update(ref, oid, existing, who, existing ? `branch: Reset to ${revision}` : `branch: Created from ${revision}`);
    }
    const leaving = await unreachableHead(store, head);
    await store.refs.setHead(branch ? { branch } : { oid }, head.oid, oid, who, `checkout: moving from ${head.branch ?? head.oid} to ${newBranch ?? revision}`);
    if (leaving && leaving !== oid) options.onWarning?.(leftBehindWarning(leaving));
    return { oid, branch, changed };
  });
}

/** The changes that make one snapshot another, and the target's directories that the diff read. */
interface CheckoutPlan {
  changes: Change[];
  targetDirs: SnapshotLookup;
}

/** Lists the changes from `from` to `target` as writeRootfs applies them. */
async function planCheckout(store: Store, from: SnapshotDir, target: SnapshotDir): Promise<CheckoutPlan> {
  const targetDirs = new SnapshotLookup(store, target);
  const changes = await diffSnapshots(store.objects, from, target, undefined, {
    onTargetDir: (dir, entry) => targetDirs.remember(dir, entry),
    oldSymlinkTargets: false,
  });
  return { changes, targetDirs };
}

/**
 * Captures the rootfs and, at the same time, plans the checkout from HEAD's snapshot `headRoot`.
 * `clean` reports whether the capture equals `headRoot`. The plan is returned only then, because
 * only then do the changes from HEAD's snapshot make the rootfs the target.
 *
 * The capture is started first. It reaches its directory reads, which run on native threads,
 * after a few microtasks, and the diff then runs on the JS thread while the reads go on. The
 * diff's reads of objects are synchronous, so it yields only to microtasks. NOTE: the overlap
 * needs the capture to wait for no I/O before its directory reads (StatCache.load reads the cache
 * file synchronously). After such a wait the whole diff would run first, with the same result.
 *
 * A failed diff is dropped: writeRootfs diffs again from the capture and reports any error.
 */
async function captureWithPlan(store: Store, headRoot: SnapshotDir, target: SnapshotDir, options: CommonOptions): Promise<{ current: Capture; plan?: CheckoutPlan; clean: boolean }> {
  const capturing = captureWorktree(store, { write: false, onWarning: options.onWarning });
  const planning = planCheckout(store, headRoot, target);
  // Both settle before either result is used, so that no failure is left unhandled and no work
  // goes on after this returns.
  const [captured, planned] = await Promise.allSettled([capturing, planning]);
  if (captured.status === 'rejected') throw captured.reason;
  const current = captured.value;
  const clean = current.root.rootfsOid === headRoot.rootfsOid && current.root.metaOid === headRoot.metaOid;
  return { current, plan: clean && planned.status === 'fulfilled' ? planned.value : undefined, clean };
}

/**
 * Throws DIRTY_TREE (naming the changed paths in the message and `data.paths`) when the captured
 * rootfs `current` differs from the snapshot `headOid`.
 */
export async function refuseDirty(store: Store, headOid: string, current: SnapshotDir): Promise<void> {
  const dirty = await diffSnapshots(store.objects, await snapshotRoot(store.objects, (await readCommit(store, headOid)).tree), current);
  if (dirty.length === 0) return;
  const shown = dirty.slice(0, 10).map((change) => `${change.status} ${showPath(change.path) || '.'}`);
  const more = dirty.length > 10 ? ` and ${dirty.length - 10} more` : '';
  throw new SnapError('DIRTY_TREE', `the rootfs has uncommitted changes (${shown.join(', ')}${more}); commit them, or use --force to discard them`, {
    data: { paths: dirty.map((change) => showPath(change.path)) },
  });
}

/**
 * Makes the rootfs (captured as `current`) exactly `target` and returns how many paths changed.
 * Then saves the stat cache for the new state. A failure to save it is only a warning, because the
 * cache only saves work and the one left in place still matches the files it describes. A `plan`
 * given must be from a snapshot equal to `current.root` to `target`. Without one, the changes are
 * diffed here.
 */
export async function writeRootfs(store: Store, current: Capture, target: SnapshotDir, options: CommonOptions, plan?: CheckoutPlan): Promise<number> {
  const { changes, targetDirs } = plan ?? (await planCheckout(store, current.root, target));
  guardStore(store, changes);
  const lookup = (path: Buffer) => targetDirs.find(path);
  const findDir = async (path: Buffer): Promise<SnapshotDir | undefined> => (await lookup(path))?.dir;
  // The stat cache's part that needs no file is planned while the removals run. A failure to
  // plan is reported with a failure to save, below.
  let planned: { plan?: CheckoutRecordPlan } | { error: unknown } | undefined;
  const planRecord = async (): Promise<void> => {
    try {
      planned = { plan: planCheckoutRecord(current, changes) };
    } catch (error) {
      planned = { error };
    }
  };
  const written = await applyChanges(Buffer.from(store.rootfs), changes, store.objects, async (path) => (await lookup(path))?.entry,
    (progress) => options.onProgress?.({ phase: 'checkout', done: progress.done, total: progress.total }), planRecord);
  try {
    planned ??= { plan: planCheckoutRecord(current, changes) };
    if ('error' in planned) throw planned.error;
    if (planned.plan) await saveCheckoutRecord(store, current, planned.plan, written, findDir);
  } catch (error) {
    options.onWarning?.(cacheNotSaved(error));
  }
  return changes.length;
}

/**
 * Throws UNSAFE_PATH, before anything is written, when a change would remove, replace or write
 * into the store itself or a directory that contains it (a store kept inside the rootfs).
 */
function guardStore(store: Store, changes: Change[]): void {
  const relative = pathBelow(store.rootfs, store.gitdir);
  if (relative === undefined) return;
  const storePath = Buffer.from(relative);
  const related = (a: Buffer, b: Buffer): boolean =>
    a.equals(b) || (b.length > a.length && b[a.length] === 0x2f && b.subarray(0, a.length).equals(a));
  for (const change of changes) {
    if (change.path.length === 0 || change.status === 'm' || change.status === 'M') continue;
    if (related(change.path, storePath) || related(storePath, change.path)) {
      throw new SnapError('UNSAFE_PATH', `checkout would ${change.status === 'A' ? 'write' : 'remove or replace'} '${showPath(change.path)}', which contains the store '${store.gitdir}'; move the store outside the rootfs (snap --store PATH) and run the checkout again`);
    }
  }
}

/**
 * Directory entries of a snapshot, with their subtree ids, by path. Directories that the diff
 * already read are remembered, and any other is found by reading its parents, each at most once.
 * Only the entries of subdirectories are kept, not whole listings, so memory grows with the
 * number of directories read, not with the number of files.
 */
class SnapshotLookup {
  private readonly found = new Map<string, { entry?: Entry; dir?: SnapshotDir }>();
  private readonly listed = new Set<string>();

  constructor(private readonly store: Store, private readonly root: SnapshotDir) {}

  /** Remembers a directory of the snapshot and its entry (unset for the root). */
  remember(dir: SnapshotDir, entry: Entry | undefined): void {
    this.found.set(dir.path.toString('latin1'), { entry, dir });
  }

  /** Returns the entry and ids of the directory at `path`, or undefined when the snapshot has none there. */
  async find(path: Buffer): Promise<{ entry?: Entry; dir?: SnapshotDir } | undefined> {
    const key = path.toString('latin1');
    if (!this.found.has('')) await this.read(this.root);
    const parts = path.length === 0 ? [] : key.split('/');
    for (let depth = 1; depth <= parts.length && !this.found.has(key); depth++) {
      const parent = parts.slice(0, depth - 1).join('/');
      const known = this.found.get(parent);
      if (!known?.dir) return undefined;
      if (this.listed.has(parent)) continue;
      this.listed.add(parent);
      await this.read(known.dir);
    }
    return this.found.get(key);
  }

  private async read(dir: SnapshotDir): Promise<void> {
    const listing = await readSnapshotDir(this.store.objects, dir, { symlinkTargets: false });
    if (dir.path.length === 0) this.found.set('', { entry: listing.self, dir });
    for (const child of listing.children) {
      if (child.dir) this.found.set(child.dir.path.toString('latin1'), { entry: child.entry, dir: child.dir });
    }
  }
}
