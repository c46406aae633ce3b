// Untimed helpers for preparing the inputs of a measurement: run a command, copy a tree exactly,
// flush dirty pages, and read a tree once so both sides start from the same warm page cache.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, type Command } from './measure.js';

/** Runs a command to completion; throws with its stderr when it fails. Returns stdout. */
export function run(command: Command): string {
  const result = spawnSync(command.argv[0], command.argv.slice(1), {
    cwd: command.cwd,
    env: command.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    const err = result.stderr.toString().trim().split('\n').slice(-8).join('\n');
    throw new Error(`exit ${result.status ?? result.signal}: ${describe(command)}\n${err}`);
  }
  return result.stdout.toString();
}

/** Runs a shell script with `sh -c`. */
export function sh(script: string, env?: NodeJS.ProcessEnv, cwd?: string): string {
  return run({ argv: ['sh', '-c', script], env, cwd });
}

/** Quotes a word for sh. */
export function q(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Copies a tree exactly (owners, modes, times, xattrs, hardlinks, devices): `cp -a`. */
export function copyTree(from: string, to: string): void {
  run({ argv: ['cp', '-a', '--', from, to] });
}

/**
 * Makes `to` exactly `from` (deleting what `from` lacks): `rsync -aHAX --delete`. rsync's quick
 * check compares whole seconds by default, so `--modify-window=-1` makes it compare nanoseconds
 * and not skip a file whose size is equal and whose mtime differs within one second.
 */
export function rsyncTree(from: string, to: string, extra: string[] = []): void {
  run({ argv: ['rsync', '-aHAX', '--delete', '--modify-window=-1', ...extra, `${from}/`, `${to}/`] });
}

/** Writes dirty pages out, so a measurement does not pay for an earlier step's writeback. */
export function syncDisks(): void {
  run({ argv: ['sync'] });
}

/** Reads every file, directory, symlink and xattr under each path once (into the page cache). */
export function warm(paths: string[]): void {
  for (const path of paths) {
    if (!fs.existsSync(path)) continue;
    sh(`tar --xattrs --xattrs-include='*' -C ${q(path)} -cf - . | cat >/dev/null`);
  }
}

/** Removes a path and everything under it. */
export function remove(path: string): void {
  fs.rmSync(path, { recursive: true, force: true });
}
