// The work items of the benchmark: for each, how to prepare one snap run and one run of each peer
// (untimed), the command whose wall time and peak RSS are measured, how to clean up after it, and
// the target the ratio snap / peer must meet. Every side gets the same input: the same tree (or a
// fresh cp -a / rsync -aHAX copy of it), flushed with sync and read once before the timed command.

import fs from 'node:fs';
import { join } from 'node:path';
import type { Fixtures } from './fixtures.js';
import { label, type Dataset, type Inputs } from './inputs.js';
import type { Command } from './measure.js';
import { copyTree, q, remove, rsyncTree, run } from './shell.js';
import type { Git, Ostree, Snap, Umoci } from './tools.js';

/** One prepared run: the timed command, what to read into the page cache first, the cleanup. */
export interface Prepared {
  command: Command;
  warm: string[];
  /** Cleanup, told whether the timed command succeeded. */
  after?: (succeeded: boolean) => void;
}

/** snap or one peer of a row. */
export interface Side {
  name: string;
  /** What exactly is timed, for the report. */
  does: string;
  prepare: (run: number) => Prepared;
  /** Rows whose peer does the very same work share its measurements under this key. */
  shareKey?: string;
}

/** A ratio target: snap's median / this peer's median must be at most `max`. */
export interface Target {
  peer: string;
  max: number;
}

export interface Row {
  id: string;
  title: string;
  runs: number;
  snap: Side;
  peers: Side[];
  target?: Target;
}

/** Peak RSS every snap row must stay under, in bytes. */
export const RSS_LIMIT_BYTES = 200 * 1000 * 1000;

/** What the rows need. */
export interface RowContext {
  snap: Snap;
  git: Git;
  ostree: Ostree;
  umoci: Umoci;
  inputs: Inputs;
  fixtures: Fixtures;
  /** A fresh path (not created) under WORKDIR/scratch. */
  scratch: (name: string) => string;
  runs: number;
  runsBig: number;
}

type DatasetOf = () => Dataset;

// ---- first commit -------------------------------------------------------------------------------

function snapFirstCommit(c: RowContext, tree: () => string): Side {
  return {
    name: 'snap',
    does: 'snap commit into a new store (snap init untimed)',
    prepare: () => {
      const input = tree();
      const store = c.scratch('snap-store');
      c.snap.init(store, input);
      return { command: c.snap.command(store, input, ['commit', '-m', 'first']), warm: [input, store], after: () => remove(store) };
    },
  };
}

function gitFirstCommit(c: RowContext, tree: () => string): Side {
  return {
    name: 'git',
    does: 'git add -A && git commit into a new repository (git init untimed)',
    prepare: () => {
      const input = tree();
      const gitdir = c.scratch('git-dir');
      c.git.init(gitdir);
      return { command: c.git.command(gitdir, input, 'git add -A && git commit -q -m first'), warm: [input, gitdir], after: () => remove(gitdir) };
    },
  };
}

function ostreeFirstCommit(c: RowContext, tree: () => string): Side {
  return {
    name: 'ostree',
    does: 'ostree commit into a new bare repository, of the tree without device nodes',
    prepare: () => {
      const input = tree();
      const repo = c.scratch('ostree-repo');
      c.ostree.init(repo);
      return { command: c.ostree.commitCommand(repo, 'main', input, 'first'), warm: [input, repo], after: () => remove(repo) };
    },
  };
}

// ---- commit s1 on top of s0 ----------------------------------------------------------------------

function snapCommitOnTop(c: RowContext, data: DatasetOf): Side {
  return {
    name: 'snap',
    does: 'snap commit of s1, in a store that committed s0 from the same tree (cp -a s0, commit, rsync -aHAX --delete s1 over it: untimed)',
    prepare: () => {
      const d = data();
      const tree = c.scratch('snap-tree');
      const store = c.scratch('snap-store');
      copyTree(d.s0, tree);
      c.snap.init(store, tree);
      const s0 = c.snap.commit(store, tree, 's0');
      rsyncTree(d.s1, tree);
      const after = (ok: boolean): void => {
        const kept = ok && c.fixtures.adopt('snap', d, () => ({ tree, store, s0, s1: run({ argv: ['git', '--git-dir', store, 'rev-parse', 'HEAD'] }).trim() }));
        if (!kept) {
          remove(tree);
          remove(store);
        }
      };
      return { command: c.snap.command(store, tree, ['commit', '-m', 's1']), warm: [tree, store], after };
    },
  };
}

function gitCommitOnTop(c: RowContext, data: DatasetOf): Side {
  return {
    name: 'git',
    does: 'git add -A && git commit of s1, in a repository that committed s0 from the same tree (same untimed steps)',
    prepare: () => {
      const d = data();
      const tree = c.scratch('git-tree');
      const gitdir = c.scratch('git-dir');
      copyTree(d.s0, tree);
      c.git.init(gitdir);
      c.git.commitAll(gitdir, tree, 's0');
      rsyncTree(d.s1, tree);
      const after = (ok: boolean): void => {
        const kept = ok && c.fixtures.adopt('git', d, () => {
          c.git.script(gitdir, tree, 'git tag s0 HEAD~1 && git tag s1 HEAD');
          return { tree, gitdir };
        });
        if (!kept) {
          remove(tree);
          remove(gitdir);
        }
      };
      return { command: c.git.command(gitdir, tree, 'git add -A && git commit -q -m s1'), warm: [tree, gitdir], after };
    },
  };
}

function ostreeCommitOnTop(c: RowContext, data: DatasetOf): Side {
  return {
    name: 'ostree',
    does: 'ostree commit of s1 (without devices) onto a branch holding s0, in a bare repository',
    prepare: () => {
      const d = data();
      const repo = c.scratch('ostree-repo');
      c.ostree.init(repo);
      run(c.ostree.commitCommand(repo, 'main', d.s0NoDev!, 's0'));
      const after = (ok: boolean): void => {
        const rev = (ref: string): string => run({ argv: ['ostree', `--repo=${repo}`, 'rev-parse', ref] }).trim();
        if (!ok || !c.fixtures.adopt('ostree', d, () => ({ repo, s0: rev('main^'), s1: rev('main') }))) remove(repo);
      };
      return { command: c.ostree.commitCommand(repo, 'main', d.s1NoDev!, 's1'), warm: [d.s1NoDev!, repo], after };
    },
  };
}

// ---- on the shared histories (tree at s1, clean) -------------------------------------------------

function snapOnHistory(c: RowContext, data: DatasetOf, does: string, args: (h: { s0: string; s1: string; out: string }) => string[], restore?: (store: string, tree: string) => void): Side {
  return {
    name: 'snap',
    does,
    prepare: () => {
      const h = c.fixtures.snapHistory(data());
      const out = c.scratch('out');
      fs.mkdirSync(out);
      return {
        command: c.snap.command(h.store, h.tree, args({ s0: h.s0, s1: h.s1, out })),
        warm: [h.tree, h.store],
        after: () => {
          remove(out);
          restore?.(h.store, h.tree);
        },
      };
    },
  };
}

function gitOnHistory(c: RowContext, data: DatasetOf, name: string, does: string, script: (out: string) => string, restore?: string): Side {
  return {
    name,
    does,
    prepare: () => {
      const h = c.fixtures.gitHistory(data());
      const out = c.scratch('out');
      fs.mkdirSync(out);
      return {
        command: c.git.command(h.gitdir, h.tree, script(out)),
        warm: [h.tree, h.gitdir],
        after: () => {
          remove(out);
          if (restore) c.git.script(h.gitdir, h.tree, restore);
        },
      };
    },
  };
}

const GIT_STATUS = (c: RowContext, data: DatasetOf): Side =>
  gitOnHistory(c, data, 'git status', 'git status --porcelain on the clean tree', () => 'git status --porcelain');

function tarSide(c: RowContext, data: DatasetOf): Side {
  return {
    name: 'tar',
    does: "tar --xattrs --xattrs-include='*' -cf of the s1 tree",
    prepare: () => {
      const d = data();
      const out = c.scratch('out');
      fs.mkdirSync(out);
      return {
        command: { argv: ['tar', '--xattrs', '--xattrs-include=*', '-cf', join(out, 's1.tar'), '-C', d.s1, '.'] },
        warm: [d.s1],
        after: () => remove(out),
      };
    },
  };
}

function umociRepack(c: RowContext, data: DatasetOf, key: string): Side {
  return {
    name: 'umoci repack',
    does: 'umoci repack (gzip layer) of a bundle unpacked from an s0 image and made s1 with rsync -aHAX --delete (unpack and rsync untimed)',
    shareKey: `${key}-umoci-repack`,
    prepare: () => {
      const d = data();
      const base = c.fixtures.umociBase(d);
      const layout = c.scratch('oci');
      const bundle = c.scratch('bundle');
      copyTree(base.layout, layout);
      c.umoci.unpack(layout, base.tag, bundle);
      rsyncTree(d.s1, join(bundle, 'rootfs'));
      return { command: c.umoci.repackCommand(layout, 's1', bundle), warm: [join(bundle, 'rootfs'), layout], after: () => { remove(layout); remove(bundle); } };
    },
  };
}

function snapLayerFromRootfs(c: RowContext, data: DatasetOf, gzip: boolean): Side {
  return {
    name: 'snap',
    does: `snap diff HEAD --export ${gzip ? 'layer.tar.gz --gzip' : 'layer.tar'}: store at s0, rootfs made s1 with rsync (as umoci's bundle), layer of the difference`,
    prepare: () => {
      const d = data();
      const tree = c.scratch('snap-tree');
      const store = c.scratch('snap-store');
      const out = c.scratch('layer') + (gzip ? '.tar.gz' : '.tar');
      copyTree(d.s0, tree);
      c.snap.init(store, tree);
      c.snap.commit(store, tree, 's0');
      rsyncTree(d.s1, tree);
      const args = ['diff', 'HEAD', '--export', out, ...(gzip ? ['--gzip'] : [])];
      return { command: c.snap.command(store, tree, args), warm: [tree, store], after: () => { remove(tree); remove(store); remove(out); } };
    },
  };
}

// ---- the rows ------------------------------------------------------------------------------------

function datasetRows(c: RowContext, data: DatasetOf, name: 'real' | 'syn', runs: number): Row[] {
  const real = name === 'real';
  const what = real ? 'real' : `${label(c.inputs.sizes.synthetic.files)} tree`;
  const s0 = () => data().s0;
  const s0NoDev = () => data().s0NoDev!;
  const rows: Row[] = [];
  rows.push({
    id: `${name}.commit-s0`,
    title: `${what}: first commit of s0`,
    runs,
    snap: snapFirstCommit(c, s0),
    peers: [gitFirstCommit(c, s0), ...(real ? [ostreeFirstCommit(c, s0NoDev)] : [])],
    target: { peer: 'git', max: 1.0 },
  });
  rows.push({
    id: `${name}.commit-s1`,
    title: `${what}: commit s1 on top of s0`,
    runs,
    snap: snapCommitOnTop(c, data),
    peers: [gitCommitOnTop(c, data), ...(real ? [ostreeCommitOnTop(c, data)] : [])],
    target: real ? { peer: 'git', max: 1.0 } : undefined,
  });
  rows.push({
    id: `${name}.nochange-commit`,
    title: `${what}: commit with nothing changed`,
    runs,
    snap: snapOnHistory(c, data, 'snap commit --allow-empty on the clean tree (writes a commit)', () => ['commit', '--allow-empty', '-m', 'again']),
    peers: [
      GIT_STATUS(c, data),
      gitOnHistory(c, data, 'git commit', 'git add -A && git commit --allow-empty on the clean tree', () => 'git add -A && git commit -q --allow-empty -m again'),
    ],
    target: real ? undefined : { peer: 'git status', max: 2.0 },
  });
  rows.push({
    id: `${name}.status`,
    title: `${what}: status on a clean tree`,
    runs,
    snap: snapOnHistory(c, data, 'snap status on the clean tree', () => ['status']),
    peers: [GIT_STATUS(c, data)],
    target: real ? undefined : { peer: 'git status', max: 2.0 },
  });
  if (real) {
    const umoci = umociRepack(c, data, name);
    rows.push({
      id: `${name}.layer-tar`,
      title: `${what}: layer s0 -> s1, plain`,
      runs,
      snap: snapLayerFromRootfs(c, data, false),
      peers: [umoci],
    });
    rows.push({
      id: `${name}.layer-gzip`,
      title: `${what}: layer s0 -> s1, gzip`,
      runs,
      snap: snapLayerFromRootfs(c, data, true),
      peers: [umoci],
      target: { peer: 'umoci repack', max: 0.5 },
    });
  }
  rows.push({
    id: `${name}.layer-commits-gzip`,
    title: `${what}: layer s0 -> s1 between two snapshots, gzip`,
    runs,
    snap: snapOnHistory(c, data, 'snap diff S0 S1 --export layer.tar.gz --gzip (both committed)', (h) => ['diff', h.s0, h.s1, '--export', join(h.out, 'layer.tar.gz'), '--gzip']),
    peers: real ? [umociRepack(c, data, name)] : [],
  });
  rows.push({
    id: `${name}.export-tar`,
    title: `${what}: whole snapshot s1 as a tar`,
    runs,
    snap: snapOnHistory(c, data, 'snap export S1 -o s1.tar (one OCI layer of the whole snapshot)', (h) => ['export', h.s1, '-o', join(h.out, 's1.tar')]),
    peers: [tarSide(c, data), gitOnHistory(c, data, 'git archive', 'git archive -o s1.tar s1', (out) => `git archive -o ${q(join(out, 's1.tar'))} s1`)],
  });
  rows.push({
    id: `${name}.rollback`,
    title: `${what}: rollback s1 -> s0`,
    runs,
    snap: snapOnHistory(c, data, 'snap checkout S0 (restores content, owners, modes, xattrs, times; then checkout main, untimed)', (h) => ['checkout', h.s0], (store, tree) => {
      run(c.snap.command(store, tree, ['checkout', 'main']));
    }),
    peers: [
      gitOnHistory(c, data, 'git checkout', 'git checkout -f s0 && git clean -fdx (then git checkout -f main, untimed)', () => 'git checkout -q -f s0 && git clean -q -fdx', 'git checkout -q -f main'),
      ...(real ? [ostreeCheckout(c, data)] : []),
    ],
    target: real ? { peer: 'git checkout', max: 2.0 } : undefined,
  });
  return rows;
}

function ostreeCheckout(c: RowContext, data: DatasetOf): Side {
  return {
    name: 'ostree checkout',
    does: 'ostree checkout of s0 into a new directory (hardlinks into the bare repository, its default)',
    prepare: () => {
      const h = c.fixtures.ostreeHistory(data());
      const target = c.scratch('ostree-checkout');
      return { command: c.ostree.checkoutCommand(h.repo, h.s0, target), warm: [h.repo], after: () => remove(target) };
    },
  };
}

/** Every row, in the order they run. */
export function allRows(c: RowContext): Row[] {
  const real: DatasetOf = () => c.inputs.real();
  const syn: DatasetOf = () => c.inputs.synthetic();
  const rows = [...datasetRows(c, real, 'real', c.runs), ...datasetRows(c, syn, 'syn', c.runsBig)];
  const scaling = c.inputs.sizes.scaling;
  for (const files of scaling) {
    const tree = () => c.inputs.scale(files);
    rows.push({
      id: `scale.${label(files)}`,
      title: `scaling: first commit of ${label(files)} files`,
      runs: files === scaling[scaling.length - 1] ? c.runsBig : c.runs,
      snap: snapFirstCommit(c, tree),
      peers: [gitFirstCommit(c, tree)],
    });
  }
  const bigFile = () => c.inputs.bigFile();
  const size = c.inputs.sizes.bigFileBytes / 1024 / 1024;
  rows.push({
    id: 'bigfile.commit',
    title: `first commit of one ${size >= 1024 ? `${size / 1024} GiB` : `${size} MiB`} file`,
    runs: 1,
    snap: snapFirstCommit(c, bigFile),
    peers: [gitFirstCommit(c, bigFile)],
  });
  return rows;
}

/** Fresh scratch paths under `dir` (emptied on first use). */
export function scratchMaker(dir: string): (name: string) => string {
  let n = 0;
  return (name) => {
    if (n === 0) {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir, { recursive: true });
    }
    return join(dir, `${name}-${++n}`);
  };
}
