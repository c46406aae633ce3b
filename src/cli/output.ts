// Output of the CLI: results on stdout (through a pager on a terminal for long output), progress
// and warnings on stderr, colour only on a terminal.

import { spawn, type ChildProcess } from 'node:child_process';
import { Chalk, type ChalkInstance } from 'chalk';
import { ioError } from '../errors.js';

/** Output settings decided once per run from the global options and the environment. */
export interface OutputSettings {
  color: 'auto' | 'always' | 'never';
  quiet: boolean;
}

let settings: OutputSettings = { color: 'auto', quiet: false };

/** Sets the output settings for this run. */
export function configureOutput(next: OutputSettings): void {
  settings = next;
}

/** Returns the output settings of this run. */
export function outputSettings(): OutputSettings {
  return settings;
}

/**
 * Decides whether a stream gets colour: --color=always forces it, --no-color or --color=never
 * turns it off, and otherwise ('auto') a terminal gets colour unless NO_COLOR is set to a
 * non-empty value (https://no-color.org).
 */
export function useColor(stream: 'stdout' | 'stderr', env: NodeJS.ProcessEnv = process.env): boolean {
  if (settings.color === 'always') return true;
  if (settings.color === 'never' || (env.NO_COLOR !== undefined && env.NO_COLOR !== '')) return false;
  return Boolean(process[stream].isTTY);
}

/** Returns a chalk instance for stdout or stderr, colouring only when useColor says so. */
export function colors(stream: 'stdout' | 'stderr' = 'stdout'): ChalkInstance {
  return new Chalk({ level: useColor(stream) ? 1 : 0 });
}

// ---- stdout, possibly through a pager ----

let pager: ChildProcess | undefined;
let pagerGone = false;
let pageOnFirstWrite = false;

/**
 * Marks this run's output as long output for people (log, diff, show): the pager starts with the
 * first write to stdout, so that progress of the work before it still shows on stderr.
 */
export function enablePaging(): void {
  if (pagingAllowed) pageOnFirstWrite = true;
}

let pagingAllowed = true;

/** Turns paging off for the whole run (--no-pager), whatever a command asks later. */
export function forbidPaging(): void {
  pagingAllowed = false;
  pageOnFirstWrite = false;
}

/** Takes back enablePaging for a run whose output turns out short (diff --export). */
export function disablePaging(): void {
  pageOnFirstWrite = false;
}

function sink(): NodeJS.WritableStream {
  if (pageOnFirstWrite) {
    pageOnFirstWrite = false;
    clearProgress();
    startPager();
  }
  return pager?.stdin ?? process.stdout;
}

/** Writes a result line to stdout (a Buffer is written as its exact bytes). */
export function out(line: string | Buffer = ''): void {
  write(typeof line === 'string' ? line + '\n' : Buffer.concat([line, Buffer.from('\n')]));
}

/** Writes result text or bytes to stdout as they are, without adding a newline. */
export function write(data: string | Buffer): void {
  if (pagerGone) return;
  sink().write(data);
}

/** Waits until stdout (or the pager) has taken what was written, so long output does not pile up in memory. */
export async function drain(): Promise<void> {
  const stream = sink() as NodeJS.WritableStream & { writableNeedDrain?: boolean };
  if (pagerGone || !stream.writableNeedDrain) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

/** Writes JSON to stdout, one document. */
export function outJson(value: unknown): void {
  write(JSON.stringify(value, null, 2) + '\n');
}

/** Writes a warning to stderr (also under -q: warnings are never silenced). */
export function warn(message: string): void {
  clearLine();
  process.stderr.write(`${colors('stderr').yellow('warning:')} ${message}\n`);
}

/** Writes an informational line or hint to stderr, unless -q. */
export function info(message: string): void {
  if (settings.quiet) return;
  clearLine();
  process.stderr.write(message + '\n');
}

/**
 * Chooses the pager command as git does: $SNAP_PAGER, else $PAGER, else `less`. An empty value
 * or `cat` means no pager.
 */
export function pagerCommand(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const command = (env.SNAP_PAGER ?? env.PAGER ?? 'less').trim();
  return command === '' || command === 'cat' ? undefined : command;
}

/**
 * Starts the pager when stdout is a terminal, and sends stdout into it from now on. `less` gets
 * LESS=FRX unless LESS is set (quit if one screen, keep colours, leave the screen as is), as git
 * sets it. When the user quits the pager early, output stops and the program ends quietly.
 */
export function startPager(): void {
  if (pager || !process.stdout.isTTY) return;
  const command = pagerCommand();
  if (!command) return;
  const env = { ...process.env };
  if (env.LESS === undefined) env.LESS = 'FRX';
  if (env.LV === undefined) env.LV = '-c';
  const child = spawn(command, { shell: true, stdio: ['pipe', 'inherit', 'inherit'], env });
  pager = child;
  child.stdin!.on('error', () => {
    // EPIPE: the pager has quit; its exit handler ends the program.
    pagerGone = true;
  });
  child.on('error', () => {
    pagerGone = true;
  });
  child.on('exit', () => {
    pagerGone = true;
    if (!finishing) process.exit(Number(process.exitCode ?? 0));
  });
  process.on('SIGINT', () => {
    // Ctrl-C reaches the pager too; stop writing and let the pager restore the terminal.
    finishing = true;
    child.stdin?.end();
    child.once('exit', () => process.exit(130));
  });
}

let finishing = false;

/** Reports whether output goes through a pager. */
export function pagerActive(): boolean {
  return pager !== undefined && !pagerGone;
}

/** Ends the pager's input and waits until the user quits it. Does nothing without a pager. */
export async function endPager(): Promise<void> {
  const child = pager;
  if (!child) return;
  finishing = true;
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.stdin?.end();
  });
}

let stdoutMustArriveWhole = false;

/**
 * Marks stdout as carrying a result that is lost unless it arrives whole (a layer written to '-'),
 * so a reader of stdout that goes away is a failure.
 */
export function requireWholeStdout(): void {
  stdoutMustArriveWhole = true;
}

/**
 * Ends the program quietly when a reader of stdout goes away (`snap log | head`), instead of
 * failing with EPIPE, unless requireWholeStdout was called. Any other failure to write stdout (a
 * full disk behind `> file`), and a broken pipe then, ends it with the error on stderr and exit
 * code 1, not with a stack trace.
 */
export function exitQuietlyOnBrokenPipe(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' && !stdoutMustArriveWhole) process.exit(Number(process.exitCode ?? 0));
    const message = error.code === 'EPIPE' ? 'the reader of stdout closed the pipe before the output was complete' : ioError('writing to', 'stdout', error).message;
    process.stderr.write(`error: ${message}\n`);
    process.exit(1);
  });
}

// ---- progress on stderr ----

let lastDraw = 0;
let startedAt: number | undefined;
let shown: { key: string; text: string } | undefined;
let pending: { key: string; text: string } | undefined;

/**
 * Seconds of work before progress shows, as git's GIT_PROGRESS_DELAY: $SNAP_PROGRESS_DELAY, default
 * 1, so quick commands stay silent.
 */
export function progressDelayMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.SNAP_PROGRESS_DELAY ?? 1);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000;
}

function progressVisible(): boolean {
  return !settings.quiet && Boolean(process.stderr.isTTY) && !pagerActive();
}

/**
 * Shows a progress line on stderr when it is a terminal, no pager runs and -q is not given, once
 * the work has taken longer than the progress delay; redrawn at most 10 times a second. `key`
 * names the phase: when it changes, the last line of the previous phase is completed with
 * ", done." and kept, as git does.
 */
export function progress(text: string, key = 'progress'): void {
  if (!progressVisible()) return;
  const now = Date.now();
  startedAt ??= now;
  if (shown && shown.key !== key) {
    finishPhase();
  }
  pending = { key, text };
  if (now - startedAt < progressDelayMs()) return;
  if (shown && now - lastDraw < 100) return;
  lastDraw = now;
  process.stderr.write(`\r\x1b[K${text}`);
  shown = pending;
}

function finishPhase(): void {
  if (!shown) {
    pending = undefined;
    return;
  }
  const last = pending && pending.key === shown.key ? pending : shown;
  process.stderr.write(`\r\x1b[K${last.text}, done.\n`);
  shown = undefined;
  pending = undefined;
}

/**
 * Ends the progress display: completes the current line with ", done." after success, or erases
 * it when `completed` is false (an error follows).
 */
export function clearProgress(completed = true): void {
  if (!shown) {
    pending = undefined;
    return;
  }
  if (completed) finishPhase();
  else clearLine();
}

function clearLine(): void {
  if (!shown) return;
  process.stderr.write('\r\x1b[K');
  shown = undefined;
  pending = undefined;
}

/** Formats a byte count for people (B, KiB, MiB, GiB). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
