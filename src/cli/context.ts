// What every command needs from the global options: where the store is, and the callbacks that
// turn library progress and warnings into stderr lines.

import type { Command } from 'commander';
import type { CommonOptions, Progress } from '../api/common.js';
import { formatBytes, progress, warn } from './output.js';

/** Global options as commander parses them. */
export interface GlobalOptions {
  C?: string;
  store?: string;
  quiet?: boolean;
  color?: string | boolean;
  debug?: boolean;
}

/** Builds the library's common options from the global options of the running command. */
export function commonOptions(command: Command): CommonOptions {
  const global = command.optsWithGlobals() as GlobalOptions;
  return {
    cwd: global.C,
    store: global.store ?? process.env.SNAP_STORE,
    onWarning: warn,
    onProgress: (p: Progress) => progress(describeProgress(p)),
  };
}

function describeProgress(p: Progress): string {
  const count = p.total !== undefined ? `${p.done}/${p.total}` : `${p.done}`;
  const bytes = p.bytes !== undefined ? `, ${formatBytes(p.bytes)}` : '';
  return `${p.phase}: ${count}${bytes}`;
}
