// What every command needs from the global options: where the store is, the callbacks that turn
// library progress and warnings into stderr lines, and operands split at '--'.

import type { Command } from 'commander';
import type { CommonOptions, Progress } from '../api/common.js';
import { SnapError } from '../errors.js';
import { formatBytes, progress, warn } from './output.js';

/** Global options as commander parses them. */
export interface GlobalOptions {
  C?: string;
  store?: string;
  quiet?: boolean;
  color?: string | boolean;
  pager?: boolean;
  debug?: boolean;
}

/** Builds the library's common options from the global options of the running command. */
export function commonOptions(command: Command): CommonOptions {
  const global = command.optsWithGlobals() as GlobalOptions;
  return {
    cwd: global.C,
    store: global.store ?? process.env.SNAP_STORE,
    onWarning: warn,
    onProgress: (p: Progress) => progress(describeProgress(p), p.phase),
  };
}

const PHASE_NAMES: Record<string, string> = {
  scan: 'Scanning rootfs',
  content: 'Reading files',
  trees: 'Writing trees',
  checkout: 'Updating rootfs',
  export: 'Writing layer',
};

/** Renders a progress report as git does: "Reading files: 45% (90/200), 1.2 MiB". */
export function describeProgress(p: Progress): string {
  const name = PHASE_NAMES[p.phase] ?? p.phase;
  let text: string;
  if (p.total !== undefined && p.total > 0) {
    text = `${name}: ${Math.floor((p.done * 100) / p.total)}% (${p.done}/${p.total})`;
  } else {
    text = `${name}: ${p.done} ${p.phase === 'export' || p.phase === 'scan' ? 'entries' : 'done'}`;
  }
  if (p.bytes !== undefined) text += `, ${formatBytes(p.bytes)}`;
  return text;
}

/**
 * Splits a command's operands at '--' as git does: those before are revisions, those after are
 * paths. Commander drops the '--' itself, so its place is found in the raw arguments: the paths
 * are the operands that follow the first '--' after which exactly the trailing operands remain.
 */
export function splitOperands(command: Command): { revisions: string[]; paths: string[] } {
  const operands = command.args;
  let root: Command = command;
  while (root.parent) root = root.parent;
  const raw = (root as Command & { rawArgs: string[] }).rawArgs ?? [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== '--') continue;
    const after = raw.slice(i + 1);
    if (after.length > operands.length) continue;
    const tail = operands.slice(operands.length - after.length);
    if (tail.every((value, index) => value === after[index])) {
      return { revisions: operands.slice(0, operands.length - after.length), paths: after };
    }
  }
  return { revisions: operands, paths: [] };
}

/** Throws a usage error when more revisions are given than a command takes. */
export function checkRevisionCount(command: Command, revisions: string[], max: number): void {
  if (revisions.length <= max) return;
  const extra = revisions[max];
  throw new SnapError('USAGE', `too many revisions at '${extra}'; put paths after '--', like 'snap ${command.name()} ${revisions.slice(0, max).join(' ')}${max ? ' ' : ''}-- ${extra}'`);
}
