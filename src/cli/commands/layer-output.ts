// Where a layer goes and what is printed about it, shared by `diff --export` and `export`.

import type { ExportResult, LayerOutput } from '../../api/export.js';
import { formatBytes, info, out, outJson } from '../output.js';

/** Maps a file argument to a layer output: '-' is stdout. */
export function layerOutput(file: string): LayerOutput {
  return file === '-' ? { stream: process.stdout } : { path: file };
}

/**
 * Prints the diff ID (and digest and size when compressed) on stdout, or on stderr when the layer
 * itself went to stdout.
 */
export function printLayerResult(result: ExportResult, file: string, json?: boolean): void {
  const toStderr = file === '-';
  if (json) {
    const text = JSON.stringify(result, null, 2);
    if (toStderr) process.stderr.write(text + '\n');
    else outJson(result);
    return;
  }
  const lines = [`diff-id ${result.diffId}`];
  if (result.digest !== result.diffId) lines.push(`digest ${result.digest}`, `size ${result.size}`);
  for (const line of lines) (toStderr ? info : out)(line);
  info(`wrote ${result.entries} entries, ${formatBytes(result.size)}${toStderr ? '' : ` to ${file}`} (${result.mediaType})`);
}
