// The input trees of the benchmark, made on first use in WORKDIR/inputs: the real history's s0 and
// s1 (copied with cp -a, plus copies without device nodes for ostree), the synthetic tree and its
// change, the trees of the scaling rows, and the tree holding one large file. Each is complete
// once its ".done" marker exists, so a kept work directory (--keep --workdir) is reused.

import fs from 'node:fs';
import { join } from 'node:path';
import { ensureHistory } from './history.js';
import { copyTree, remove, rsyncTree } from './shell.js';
import { generateTree, mutateTree, syntheticSpec, writeBinaryFile, type MutationStats, type TreeSpec, type TreeStats } from './trees.js';

/** Two states of a tree: the "before" (s0) and the "after" (s1). */
export interface Dataset {
  name: 'real' | 'syn';
  s0: string;
  s1: string;
  /** The same trees without device nodes, FIFOs and sockets, which ostree cannot store. */
  s0NoDev?: string;
  s1NoDev?: string;
}

/** Sizes of the generated inputs. */
export interface InputSizes {
  synthetic: { files: number; bigFiles: number; bigFileBytes: number };
  scaling: number[];
  bigFileBytes: number;
}

/** Full-size and --quick sizes. */
export function inputSizes(quick: boolean): InputSizes {
  const MiB = 1024 * 1024;
  return quick
    ? { synthetic: { files: 10_000, bigFiles: 5, bigFileBytes: 5 * MiB }, scaling: [1_000, 3_000, 10_000], bigFileBytes: 256 * MiB }
    : { synthetic: { files: 100_000, bigFiles: 5, bigFileBytes: 50 * MiB }, scaling: [10_000, 30_000, 100_000], bigFileBytes: 2048 * MiB };
}

/** Lazily made inputs. */
export class Inputs {
  readonly dir: string;
  /** What was generated, for the report. */
  readonly notes: Record<string, unknown> = {};
  private realData?: Dataset;
  private synData?: Dataset;

  constructor(work: string, private readonly repoRoot: string, readonly sizes: InputSizes, private readonly log: (line: string) => void) {
    this.dir = join(work, 'inputs');
  }

  /** Makes `path` with `make` unless a previous run completed it. */
  private once<T>(path: string, make: () => T): void {
    if (fs.existsSync(`${path}.done`)) return;
    fs.mkdirSync(this.dir, { recursive: true });
    remove(path);
    const started = Date.now();
    const result = make();
    fs.writeFileSync(`${path}.done`, `${JSON.stringify(result ?? {})}\n`);
    this.log(`  made ${path} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  private done(path: string): unknown {
    return JSON.parse(fs.readFileSync(`${path}.done`, 'utf8'));
  }

  /** The real history: s1 = s0 + php-cli. */
  real(): Dataset {
    if (this.realData) return this.realData;
    const history = ensureHistory(this.repoRoot, this.log);
    const d: Dataset = {
      name: 'real',
      s0: join(this.dir, 'real-s0'),
      s1: join(this.dir, 'real-s1'),
      s0NoDev: join(this.dir, 'real-s0-nodev'),
      s1NoDev: join(this.dir, 'real-s1-nodev'),
    };
    this.once(d.s0, () => copyTree(history.s0, d.s0));
    this.once(d.s1, () => copyTree(history.s1, d.s1));
    for (const [from, to] of [[d.s0, d.s0NoDev!], [d.s1, d.s1NoDev!]]) {
      this.once(to, () => {
        fs.mkdirSync(to);
        rsyncTree(from, to, ['--no-devices', '--no-specials']);
      });
    }
    this.notes.real = { history: history.dir, s0: 's0-base (debootstrap --variant=minbase bookworm)', s1: 's1-php (s0 + apt-get install php-cli)' };
    this.realData = d;
    return d;
  }

  /** The synthetic tree (s0) and the same after mutateTree (s1). */
  synthetic(): Dataset {
    if (this.synData) return this.synData;
    const { files, bigFiles, bigFileBytes } = this.sizes.synthetic;
    const spec = syntheticSpec(files, bigFiles, bigFileBytes);
    const d: Dataset = { name: 'syn', s0: join(this.dir, `syn-${label(files)}-s0`), s1: join(this.dir, `syn-${label(files)}-s1`) };
    this.once(d.s0, (): TreeStats => generateTree(d.s0, spec));
    this.once(d.s1, (): MutationStats => {
      copyTree(d.s0, d.s1);
      return mutateTree(d.s1, spec);
    });
    this.notes.synthetic = { spec, tree: this.done(d.s0), change: this.done(d.s1) };
    this.synData = d;
    return d;
  }

  /** A tree of `files` small files for the scaling rows (no large files). */
  scale(files: number): string {
    const path = join(this.dir, `scale-${label(files)}`);
    const spec: TreeSpec = syntheticSpec(files, 0, 0);
    this.once(path, (): TreeStats => generateTree(path, spec));
    this.notes[`scale-${label(files)}`] = { spec, tree: this.done(path) };
    return path;
  }

  /** A directory holding one large file of pseudo-random bytes. */
  bigFile(): string {
    const bytes = this.sizes.bigFileBytes;
    const path = join(this.dir, `bigfile-${bytes / 1024 / 1024}M`);
    this.once(path, () => {
      fs.mkdirSync(path);
      writeBinaryFile(join(path, 'big.bin'), bytes, 0xb16);
      return { bytes };
    });
    this.notes.bigFile = { bytes };
    return path;
  }
}

/** 100000 -> "100k". */
export function label(files: number): string {
  return files % 1000 === 0 ? `${files / 1000}k` : String(files);
}
