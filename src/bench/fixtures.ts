// Histories shared by the rows that only read them or put them back as they found them (no-change
// commit, status, export, rollback): a snap store and a git repository that each committed s0 and
// then s1 from their own copy of the tree, now at s1 and clean; an ostree repository with both
// commits; and an OCI image whose one layer is s0, for umoci. Made on first use in WORKDIR/fixtures.

import fs from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from './inputs.js';
import { copyTree, rsyncTree, run } from './shell.js';
import type { Git, Ostree, Snap, Umoci } from './tools.js';

export interface SnapHistory {
  tree: string;
  store: string;
  /** Full commit ids. */
  s0: string;
  s1: string;
}

export interface GitHistory {
  tree: string;
  gitdir: string;
}

export interface OstreeHistory {
  repo: string;
  /** Commit checksums. */
  s0: string;
  s1: string;
}

export interface UmociBase {
  layout: string;
  tag: string;
}

export class Fixtures {
  readonly dir: string;
  private readonly made = new Map<string, unknown>();
  private ready = false;

  constructor(work: string, private readonly tools: { snap: Snap; git: Git; ostree: Ostree; umoci: Umoci }, private readonly log: (line: string) => void) {
    this.dir = join(work, 'fixtures');
  }

  private memo<T>(key: string, make: () => T): T {
    if (!this.made.has(key)) {
      if (!this.ready) {
        fs.rmSync(this.dir, { recursive: true, force: true });
        fs.mkdirSync(this.dir, { recursive: true });
        this.ready = true;
      }
      const started = Date.now();
      this.made.set(key, make());
      this.log(`  made fixture ${key} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    return this.made.get(key) as T;
  }

  /**
   * Takes over a history a measured run left behind (s0 and s1 committed, tree at s1) instead of
   * making the same again; returns false, and takes nothing, when the fixture already exists.
   */
  adopt(kind: 'snap' | 'git' | 'ostree', d: Dataset, make: () => SnapHistory | GitHistory | OstreeHistory): boolean {
    const key = `${d.name}-${kind}`;
    if (this.made.has(key)) return false;
    this.made.set(key, make());
    this.log(`  kept this run's ${kind} history as fixture ${key}`);
    return true;
  }

  /** snap: tree copied from s0, committed; made s1 with rsync, committed. HEAD is main at s1. */
  snapHistory(d: Dataset): SnapHistory {
    return this.memo(`${d.name}-snap`, () => {
      const tree = join(this.dir, `${d.name}-snap-tree`);
      const store = join(this.dir, `${d.name}-snap-store`);
      copyTree(d.s0, tree);
      this.tools.snap.init(store, tree);
      const s0 = this.tools.snap.commit(store, tree, 's0');
      rsyncTree(d.s1, tree);
      const s1 = this.tools.snap.commit(store, tree, 's1');
      return { tree, store, s0, s1 };
    });
  }

  /** git: the same steps; tags s0 and s1; HEAD is main at s1. */
  gitHistory(d: Dataset): GitHistory {
    return this.memo(`${d.name}-git`, () => {
      const tree = join(this.dir, `${d.name}-git-tree`);
      const gitdir = join(this.dir, `${d.name}-git-dir`);
      copyTree(d.s0, tree);
      this.tools.git.init(gitdir);
      this.tools.git.commitAll(gitdir, tree, 's0');
      this.tools.git.script(gitdir, tree, 'git tag s0');
      rsyncTree(d.s1, tree);
      this.tools.git.commitAll(gitdir, tree, 's1');
      this.tools.git.script(gitdir, tree, 'git tag s1');
      return { tree, gitdir };
    });
  }

  /** ostree: s0 then s1 (without devices) committed on branch main. */
  ostreeHistory(d: Dataset): OstreeHistory {
    return this.memo(`${d.name}-ostree`, () => {
      if (!d.s0NoDev || !d.s1NoDev) throw new Error(`no device-free copy of ${d.name} for ostree`);
      const repo = join(this.dir, `${d.name}-ostree-repo`);
      this.tools.ostree.init(repo);
      const s0 = run(this.tools.ostree.commitCommand(repo, 'main', d.s0NoDev, 's0')).trim();
      const s1 = run(this.tools.ostree.commitCommand(repo, 'main', d.s1NoDev, 's1')).trim();
      return { repo, s0, s1 };
    });
  }

  /**
   * An OCI image layout whose tag s0 has one layer: s0 as snap exports it, uncompressed, since
   * `umoci raw add-layer` takes only uncompressed archives.
   */
  umociBase(d: Dataset): UmociBase {
    return this.memo(`${d.name}-umoci`, () => {
      const history = this.snapHistory(d);
      const layer = join(this.dir, `${d.name}-s0-layer.tar`);
      run(this.tools.snap.command(history.store, history.tree, ['export', history.s0, '-o', layer]));
      const layout = join(this.dir, `${d.name}-oci`);
      this.tools.umoci.imageFromLayer(layout, 's0', layer);
      fs.rmSync(layer);
      return { layout, tag: 's0' };
    });
  }
}
