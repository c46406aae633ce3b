// The commands the benchmark runs, for snap and its peers: the snap CLI as a separate node
// process, native git with its repository outside the tree, ostree in bare mode, umoci. One
// environment for all of them, so no user or system configuration changes what is measured.

import fs from 'node:fs';
import { join } from 'node:path';
import type { Command } from './measure.js';
import { q, run, sh } from './shell.js';

/**
 * The environment of every command: the caller's, minus SNAP_STORE and git's own variables, with
 * a fixed identity, the C locale, and no global or system git configuration.
 */
export function benchEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (key === 'SNAP_STORE' || key.startsWith('GIT_') || key.startsWith('SNAP_AUTHOR')) continue;
    env[key] = value;
  }
  return {
    ...env,
    LC_ALL: 'C',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'snap bench',
    GIT_AUTHOR_EMAIL: 'bench@example.com',
    GIT_COMMITTER_NAME: 'snap bench',
    GIT_COMMITTER_EMAIL: 'bench@example.com',
  };
}

/**
 * git -c options of every git command: no fsmonitor, and no automatic gc/maintenance, which git
 * would otherwise start detached after a commit of many loose objects and leave running in the
 * background of the next measurement. Everything else is git's default.
 */
export const GIT_OPTIONS = ['-c', 'core.fsmonitor=false', '-c', 'gc.auto=0', '-c', 'maintenance.auto=false'];

/** The snap CLI. */
export class Snap {
  constructor(private readonly node: string, private readonly bin: string, private readonly env: NodeJS.ProcessEnv) {}

  /** `node bin/snap -q --store STORE -C TREE ARGS...` */
  command(store: string, tree: string, args: string[]): Command {
    return { argv: [this.node, this.bin, '-q', '--store', store, '-C', tree, ...args], env: this.env };
  }

  /** Creates the store for `tree` at `store` (outside the tree, so both sides see the same tree). */
  init(store: string, tree: string): void {
    run({ argv: [this.node, this.bin, '-q', '--store', store, 'init', tree], env: this.env });
  }

  /** Commits the tree and returns the new commit's full id. */
  commit(store: string, tree: string, message: string): string {
    const out = run(this.command(store, tree, ['commit', '--json', '-m', message]));
    return (JSON.parse(out) as { oid: string }).oid;
  }
}

/** Native git, with the repository (GIT_DIR) outside the work tree. */
export class Git {
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  private envFor(gitdir: string, tree: string): NodeJS.ProcessEnv {
    return { ...this.env, GIT_DIR: gitdir, GIT_WORK_TREE: tree };
  }

  /** `sh -c SCRIPT` in `tree` with GIT_DIR and GIT_WORK_TREE set; `git` in SCRIPT is git with GIT_OPTIONS. */
  command(gitdir: string, tree: string, script: string): Command {
    const prelude = `git() { command git ${GIT_OPTIONS.map(q).join(' ')} "$@"; }; `;
    return { argv: ['sh', '-c', prelude + script], cwd: tree, env: this.envFor(gitdir, tree) };
  }

  /** A fresh, empty, non-bare repository whose git directory is `gitdir`. */
  init(gitdir: string): void {
    run({ argv: ['git', 'init', '-q', '--bare', '--initial-branch=main', gitdir], env: this.env });
    run({ argv: ['git', '--git-dir', gitdir, 'config', 'core.bare', 'false'], env: this.env });
  }

  /** `git add -A && git commit` as an untimed step. */
  commitAll(gitdir: string, tree: string, message: string): void {
    const c = this.command(gitdir, tree, `git add -A && git commit -q --allow-empty -m ${q(message)}`);
    run(c);
  }

  /** Runs a git script untimed. */
  script(gitdir: string, tree: string, script: string): void {
    run(this.command(gitdir, tree, script));
  }
}

/** ostree, with bare repositories (owners, modes and xattrs stored as the files themselves). */
export class Ostree {
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  init(repo: string): void {
    run({ argv: ['ostree', `--repo=${repo}`, 'init', '--mode=bare'], env: this.env });
  }

  /** `ostree commit` of `tree` onto `branch` (the branch's tip becomes the parent). */
  commitCommand(repo: string, branch: string, tree: string, subject: string): Command {
    return { argv: ['ostree', `--repo=${repo}`, 'commit', `--branch=${branch}`, `--tree=dir=${tree}`, `--subject=${subject}`], env: this.env };
  }

  /** `ostree checkout` of `ref` into the new directory `target`. */
  checkoutCommand(repo: string, ref: string, target: string): Command {
    return { argv: ['ostree', `--repo=${repo}`, 'checkout', ref, target], env: this.env };
  }
}

/** umoci, on an OCI image layout. */
export class Umoci {
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** A new image layout `layout` whose tag `tag` holds the one (uncompressed) layer `layer`. */
  imageFromLayer(layout: string, tag: string, layer: string): void {
    run({ argv: ['umoci', 'init', '--layout', layout], env: this.env });
    run({ argv: ['umoci', 'new', '--image', `${layout}:${tag}`], env: this.env });
    run({ argv: ['umoci', 'raw', 'add-layer', '--image', `${layout}:${tag}`, layer], env: this.env });
  }

  unpack(layout: string, tag: string, bundle: string): void {
    run({ argv: ['umoci', 'unpack', '--image', `${layout}:${tag}`, bundle], env: this.env });
  }

  /** `umoci repack`: the bundle's changes since its unpack, as a new gzip layer on a new tag. */
  repackCommand(layout: string, tag: string, bundle: string): Command {
    return { argv: ['umoci', 'repack', '--image', `${layout}:${tag}`, bundle], env: this.env };
  }
}

/** The version line of a tool, or 'missing'. */
export function toolVersion(argv: string[], pick: (out: string) => string = (out) => out.trim().split('\n')[0]): string {
  try {
    return pick(run({ argv }));
  } catch {
    return 'missing';
  }
}

/** Throws, naming the package to install, when a command the benchmark needs is missing. */
export function checkTools(): void {
  const needed: [string, string][] = [
    ['git', 'git'], ['ostree', 'ostree'], ['umoci', 'umoci'], ['rsync', 'rsync'], ['tar', 'tar'], ['cp', 'coreutils'],
  ];
  const missing = needed.filter(([tool]) => {
    try {
      sh(`command -v ${tool}`);
      return false;
    } catch {
      return true;
    }
  });
  if (!fs.existsSync('/usr/bin/time')) missing.push(['/usr/bin/time', 'time']);
  if (missing.length > 0) {
    throw new Error(`missing: ${missing.map(([tool]) => tool).join(', ')}; install them with apt-get install ${[...new Set(missing.map(([, pkg]) => pkg))].join(' ')} (.ci/run does)`);
  }
}

/** The snap CLI of this checkout. */
export function snapBin(repoRoot: string): string {
  return join(repoRoot, 'bin', 'snap');
}
