// Timing one command: run it as its own process under GNU time, which reports the peak resident
// set size the kernel accounted to it (and to the children it waited for); the wall time is
// taken around the process with a monotonic clock. Medians over runs.

import { spawn } from 'node:child_process';
import fs from 'node:fs';

/** A command to run: argv, working directory, environment. */
export interface Command {
  argv: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** One measurement. */
export interface Sample {
  /** Wall-clock seconds. */
  seconds: number;
  /** Peak resident set size in KiB, as GNU time (getrusage ru_maxrss) reports it. */
  rssKB: number;
}

export const GNU_TIME = '/usr/bin/time';

/** Renders a command for logs and error messages. */
export function describe(command: Command): string {
  return command.argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * Runs `command` once under `/usr/bin/time -f '%e %M'`; stdout is discarded, stderr kept for
 * the error message. Throws when it exits non-zero.
 */
export async function measure(command: Command, timeFile: string): Promise<Sample> {
  fs.rmSync(timeFile, { force: true });
  const argv = [GNU_TIME, '-f', '%e %M', '-o', timeFile, ...command.argv];
  const started = process.hrtime.bigint();
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: command.cwd, env: command.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ code: exitCode, stderr: err }));
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`exit ${code}: ${describe(command)}\n${stderr.trim().split('\n').slice(-8).join('\n')}`);
  const lines = fs.readFileSync(timeFile, 'utf8').trim().split('\n');
  const last = lines[lines.length - 1].trim().split(/\s+/);
  const rssKB = Number(last[1]);
  if (!Number.isFinite(rssKB)) throw new Error(`cannot read GNU time's output '${lines.join(' | ')}'`);
  return { seconds, rssKB };
}

/** The median; the mean of the two middle values for an even count. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
