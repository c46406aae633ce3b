// Runs the built `snap` program (bin/snap over dist/) the way a user does, and a few judge tools.

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

/** Absolute path of the snap program. */
export const SNAP_BIN = resolve(import.meta.dirname, '../../bin/snap');

/** What a finished command left behind. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as raw bytes, for layers written to '-'. */
  stdoutBytes: Buffer;
}

/** Options of runSnap and run. */
export interface RunOptions {
  cwd?: string;
  /** Added to the environment; SNAP_STORE is removed from it unless set here. */
  env?: Record<string, string>;
  input?: Buffer | string;
}

const MAX_OUTPUT = 256 * 1024 * 1024;

function environment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  if (!('SNAP_STORE' in extra)) delete env.SNAP_STORE;
  return env;
}

/** Runs any program to completion and returns its exit code and output. */
export function run(command: string, args: string[], options: RunOptions = {}): RunResult {
  const done = spawnSync(command, args, {
    cwd: options.cwd,
    env: environment(options.env),
    input: options.input,
    maxBuffer: MAX_OUTPUT,
  });
  if (done.error) throw done.error;
  return {
    code: done.status ?? 128 + (done.signal ? 1 : 0),
    stdout: done.stdout.toString('utf8'),
    stderr: done.stderr.toString('utf8'),
    stdoutBytes: done.stdout,
  };
}

/** Runs `node bin/snap ARGS` and returns its exit code, stdout and stderr. */
export function runSnap(args: string[], options: RunOptions = {}): RunResult {
  return run(process.execPath, [SNAP_BIN, ...args], options);
}

/** Runs `snap ARGS` and throws with its stderr unless it exits 0; returns trimmed stdout. */
export function snapOk(args: string[], options: RunOptions = {}): string {
  const result = runSnap(args, options);
  if (result.code !== 0) {
    throw new Error(`snap ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  }
  return result.stdout.trim();
}

/** Runs a program and throws with its stderr unless it exits 0; returns stdout. */
export function runOk(command: string, args: string[], options: RunOptions = {}): string {
  const result = run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  }
  return result.stdout;
}

/** Reports whether a program is on PATH. */
export function has(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
}
