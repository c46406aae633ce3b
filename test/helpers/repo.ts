// A rootfs with a snap store in a fresh temp directory. The *InProcess methods call the library
// instead of starting the snap program: tests use them for setup steps, which are many, because a
// CLI start costs far more. Commands under test run through the program with `snap` and `ok`.

import * as fs from 'node:fs';
import { join } from 'node:path';
import { checkout, commit, init } from '../../src/index.js';
import { runOk, runSnap, snapOk, type RunOptions, type RunResult } from './snap.js';
import { makeTree, tempDir, type Spec } from './tree.js';

/** Options of Repo.create. */
export interface RepoOptions {
  /** The first tree; the rootfs starts empty without it. */
  spec?: Spec;
  /** Keep the store at BASE/store (passed with --store) rather than ROOTFS/.snap. */
  externalStore?: boolean;
}

/** Repo is one rootfs and its store under one temp directory that `remove` deletes. */
export class Repo {
  readonly base: string;
  readonly rootfs: string;
  readonly gitdir: string;
  private readonly external: boolean;
  private readonly storeArgs: string[];

  private constructor(base: string, external: boolean) {
    this.base = base;
    this.rootfs = join(base, 'rootfs');
    this.gitdir = external ? join(base, 'store') : join(this.rootfs, '.snap');
    this.external = external;
    this.storeArgs = external ? ['--store', this.gitdir] : [];
  }

  /** Creates the rootfs (from `spec`) and runs `snap init` for it. */
  static create(options: RepoOptions = {}): Repo {
    const repo = Repo.prepare(options);
    snapOk([...repo.storeArgs, 'init', repo.rootfs]);
    return repo;
  }

  /** Creates the rootfs (from `spec`) and a store for it with the library's init, in-process. */
  static async createInProcess(options: RepoOptions = {}): Promise<Repo> {
    const repo = Repo.prepare(options);
    await init({ dir: repo.rootfs, store: repo.external ? repo.gitdir : undefined });
    return repo;
  }

  private static prepare(options: RepoOptions): Repo {
    const repo = new Repo(tempDir(), options.externalStore ?? false);
    fs.mkdirSync(repo.rootfs);
    if (options.spec) makeTree(repo.rootfs, options.spec);
    return repo;
  }

  private get location(): { cwd: string; store?: string } {
    return this.external ? { cwd: this.rootfs, store: this.gitdir } : { cwd: this.rootfs };
  }

  /** Runs snap in the rootfs with this repo's store. */
  snap(args: string[], options: RunOptions = {}): RunResult {
    return runSnap([...this.storeArgs, ...args], { cwd: this.rootfs, ...options });
  }

  /** Runs snap and returns trimmed stdout; throws with stderr when it fails. */
  ok(args: string[], options: RunOptions = {}): string {
    return snapOk([...this.storeArgs, ...args], { cwd: this.rootfs, ...options });
  }

  /** Commits the rootfs with `snap commit` and returns the full id of the new snapshot. */
  commit(message: string): string {
    this.ok(['commit', '-m', message]);
    return this.revParse('HEAD');
  }

  /** Commits the rootfs with the library's commit, in-process, and returns the full id. */
  async commitInProcess(message: string): Promise<string> {
    return (await commit({ ...this.location, message })).oid;
  }

  /** Checks out a revision with the library's checkout, in-process; `force` discards changes. */
  async checkoutInProcess(revision: string, force = false): Promise<void> {
    await checkout({ ...this.location, revision, force });
  }

  /** Runs git on the store and returns stdout; throws when git fails. */
  git(args: string[]): string {
    return runOk('git', ['--git-dir', this.gitdir, ...args]);
  }

  /** Resolves a revision with git itself. */
  revParse(revision: string): string {
    return this.git(['rev-parse', '--verify', '--quiet', `${revision}^{commit}`]).trim();
  }

  /** Path of a file in the work directory beside the rootfs. */
  file(name: string): string {
    return join(this.base, name);
  }

  /** Deletes the rootfs, the store and every file beside them. */
  remove(): void {
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}
