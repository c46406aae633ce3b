// Where a layer goes and what is printed about it, shared by `diff --export` and `export`.

import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ExportResult, LayerOutput } from '../../api/export.js';
import { SnapError } from '../../errors.js';
import type { Compression } from '../../oci/layer.js';
import { formatBytes, info, out, outJson, requireWholeStdout } from '../output.js';

/** The compression flags of `diff --export` and `export`. */
export interface CompressionFlags {
  gzip?: boolean;
  zstd?: boolean;
  compressionLevel?: number;
}

/** Adds --gzip, --zstd and --compression-level to a command that writes a layer. */
export function addCompressionOptions(command: Command): Command {
  return command
    .option('--gzip', 'compress the layer with gzip (also chosen by a .gz or .tgz file name)')
    .option('--zstd', 'compress the layer with zstd (also chosen by a .zst file name)')
    .addOption(
      new Option('--compression-level <n>', 'gzip level 1-12 (1-9 where snap was built without libdeflate; default 1), or zstd level 1-19 (default 3)').argParser(
        parseLevel,
      ),
    );
}

/** Returns the compression and level the flags ask for. Throws USAGE for --gzip with --zstd. */
export function chosenCompression(flags: CompressionFlags): { compression?: Compression; compressionLevel?: number } {
  if (flags.gzip && flags.zstd) throw new SnapError('USAGE', '--gzip and --zstd cannot be used together; pick one');
  let compression: Compression | undefined;
  if (flags.zstd) compression = 'zstd';
  else if (flags.gzip) compression = 'gzip';
  return { compression, compressionLevel: flags.compressionLevel };
}

function parseLevel(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`'${value}' is not a whole number.`);
  return Number(value);
}

/**
 * Maps a file argument to a layer output: '-' is stdout. Throws USAGE for '-' when stdout is a
 * terminal, as gzip(1) refuses to write compressed data to one.
 */
export function layerOutput(file: string): LayerOutput {
  if (file !== '-') return { path: file };
  if (process.stdout.isTTY) throw new SnapError('USAGE', 'a layer is binary data and stdout is a terminal; redirect stdout or give a file name');
  requireWholeStdout();
  return { stream: process.stdout };
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
