// Printing a comparison, shared by `snap diff` and `snap show`: --name-status, --name-only, --stat,
// -p and --json.

import type { Comparison } from '../api/patch.js';
import { drain, out, outJson, write } from './output.js';
import { displayPath } from './quote.js';
import { changeJson, formatChange, formatPatch, formatStat, patchJson, summarize } from './render.js';

/** How each changed path is listed. 'none' lists nothing (for --stat alone). */
export type ChangeFormat = 'name-status' | 'name-only' | 'patch' | 'none';

/** Options of printChanges. */
export interface PrintOptions {
  format: ChangeFormat;
  stat: boolean;
  /** NUL-terminated fields and raw paths (-z), for name-status and name-only. */
  nul: boolean;
  json: boolean;
  /** Lines of context in patches. */
  context?: number;
  /** Fields printed before the changes in JSON (show's commit). */
  jsonHead?: Record<string, unknown>;
}

/** Prints a comparison's changes in the chosen format, reading patch content only as it goes. */
export async function printChanges(comparison: Comparison, options: PrintOptions): Promise<void> {
  const { changes } = comparison;
  if (options.json) {
    const items: Record<string, unknown>[] = [];
    if (options.format === 'patch') {
      for await (const patch of comparison.patches({ context: options.context })) items.push({ ...changeJson(patch.change), patch: patchJson(patch) });
    } else {
      for (const change of changes) items.push(changeJson(change));
    }
    outJson({ ...options.jsonHead, from: comparison.from ?? null, to: comparison.to ?? null, changes: items, summary: summarize(changes) });
    return;
  }
  if (options.stat && changes.length > 0) {
    for (const line of formatStat(changes)) out(line);
    if (options.format === 'patch') out('');
  }
  switch (options.format) {
    case 'name-status':
      for (const change of changes) {
        if (options.nul) write(Buffer.concat([Buffer.from(`${change.status}\0`), rawPath(change.path), Buffer.from('\0')]));
        else out(formatChange(change));
      }
      break;
    case 'name-only':
      for (const change of changes) {
        if (options.nul) write(Buffer.concat([rawPath(change.path), Buffer.from('\0')]));
        else out(displayPath(change.path));
      }
      break;
    case 'patch':
      for await (const patch of comparison.patches({ context: options.context })) {
        for (const line of formatPatch(patch)) out(line);
        await drain();
      }
      break;
    case 'none':
      break;
  }
}

/** The exact bytes of a path for -z output; the rootfs itself, whose path is empty, is '.'. */
export function rawPath(path: Buffer): Buffer {
  return path.length === 0 ? Buffer.from('.') : path;
}
