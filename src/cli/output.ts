// Output of the CLI: results on stdout, progress and warnings on stderr, colour only on a terminal.

import { Chalk, type ChalkInstance } from 'chalk';

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

/** Returns a chalk instance for stdout or stderr: colour on a terminal unless NO_COLOR or --no-color. */
export function colors(stream: 'stdout' | 'stderr' = 'stdout'): ChalkInstance {
  if (settings.color === 'always') return new Chalk({ level: 1 });
  if (settings.color === 'never' || process.env.NO_COLOR) return new Chalk({ level: 0 });
  return new Chalk({ level: process[stream].isTTY ? 1 : 0 });
}

/** Writes a result line to stdout. */
export function out(line: string): void {
  process.stdout.write(line + '\n');
}

/** Writes a warning to stderr (also under -q: warnings are never silenced). */
export function warn(message: string): void {
  process.stderr.write(`${colors('stderr').yellow('warning:')} ${message}\n`);
}

/** Writes an informational line to stderr, unless -q. */
export function info(message: string): void {
  if (!settings.quiet) process.stderr.write(message + '\n');
}

/** Writes JSON to stdout, one document. */
export function outJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

let lastProgress = 0;

/** Shows a progress line on stderr when it is a terminal and not -q; redrawn at most 10 times a second. */
export function progress(text: string, final = false): void {
  if (settings.quiet || !process.stderr.isTTY) return;
  const now = Date.now();
  if (!final && now - lastProgress < 100) return;
  lastProgress = now;
  process.stderr.write(`\r\x1b[K${text}${final ? '\n' : ''}`);
}

/** Clears a progress line, if one is shown. */
export function clearProgress(): void {
  if (!settings.quiet && process.stderr.isTTY && lastProgress > 0) process.stderr.write('\r\x1b[K');
  lastProgress = 0;
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
