// Compression of layer tarballs: the media types, and zstd through one `zstd` process per layer.
// gzip is compressed by LayerSink (layer-sink.ts) on libuv's threads.

import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { Duplex } from 'node:stream';
import { SnapError } from '../errors.js';
import { gzipInfo } from '../native/index.js';

/** Compression applied to a layer tarball. */
export type Compression = 'none' | 'gzip' | 'zstd';

/** OCI media type of a layer for each compression. */
export const LAYER_MEDIA_TYPES: Record<Compression, string> = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

/** Compressor is a stream that compresses what is written to it, with a hook to check its end. */
export interface Compressor {
  stream: Duplex;
  /** Resolves once the compressor has exited cleanly; rejects when it failed. */
  finished(): Promise<void>;
  /** Stops the compressor after a failure elsewhere in the pipeline. */
  abort(): void;
}

/**
 * Default gzip level. With libdeflate, level 1 wrote the 154 MiB layer of the Debian history in
 * docs/BENCHMARKS.md as 72.1 MB, within 1% of umoci 0.4.7's layer of the same change (71.6 MB).
 * It took about 40% of the CPU time that node's zlib took at level 4. Higher levels trade CPU
 * time for size: libdeflate's level 2 wrote 67.2 MB in about 35% more time.
 */
const DEFAULT_GZIP_LEVEL = 1;

/** Default zstd level, zstd's own default. */
const DEFAULT_ZSTD_LEVEL = 3;
const MAX_ZSTD_LEVEL = 19;

/**
 * Returns the compression level to use: `level` when given and valid for `compression`, else the
 * default. Throws SnapError USAGE for a level with 'none' or outside the compressor's range.
 */
export function compressionLevel(compression: Compression, level: number | undefined): number | undefined {
  if (compression === 'none') {
    if (level === undefined) return undefined;
    throw new SnapError('USAGE', 'a compression level needs a compressed layer; add --gzip or --zstd, or name the file .gz or .zst');
  }
  const max = compression === 'gzip' ? gzipInfo().maxLevel : MAX_ZSTD_LEVEL;
  if (level === undefined) return compression === 'gzip' ? DEFAULT_GZIP_LEVEL : DEFAULT_ZSTD_LEVEL;
  if (!Number.isInteger(level) || level < 1 || level > max) {
    const library = compression === 'gzip' ? ` (${gzipInfo().library})` : '';
    throw new SnapError('USAGE', `invalid ${compression} level ${level}; use an integer from 1 to ${max}${library}`);
  }
  return level;
}

/**
 * Creates the compressing process for `compression` at `level`, or undefined for 'none' and
 * 'gzip', which LayerSink handles itself. Throws SnapError NOT_FOUND for zstd when no `zstd`
 * program is on PATH; nothing has been written at that point.
 */
export async function createCompressor(compression: Compression, level = DEFAULT_ZSTD_LEVEL): Promise<Compressor | undefined> {
  switch (compression) {
    case 'none':
    case 'gzip':
      return undefined;
    case 'zstd':
      return zstdCompressor(await findZstd(), level);
    default:
      throw new SnapError('USAGE', `unknown compression '${String(compression)}'; use none, gzip or zstd`);
  }
}

const ZSTD_MISSING = "zstd compression needs the 'zstd' program; install it (apt-get install zstd) or use --gzip";

async function findZstd(): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'zstd');
    try {
      await access(candidate, fsConstants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // Not in this directory; try the next one.
    }
  }
  throw new SnapError('NOT_FOUND', ZSTD_MISSING);
}

// The level and thread count are fixed on the command line, and ZSTD_CLEVEL and ZSTD_NBTHREADS are
// removed from the environment, because zstd's output depends on both. The output still depends
// on the zstd version installed.
function zstdCompressor(program: string, level: number): Compressor {
  const env = { ...process.env };
  delete env.ZSTD_CLEVEL;
  delete env.ZSTD_NBTHREADS;
  const child = spawn(program, [`-${level}`, '-T1', '-q', '-c', '--no-progress'], { stdio: ['pipe', 'pipe', 'pipe'], env });

  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderr = (stderr + text).slice(-2000);
  });
  const exited = waitForExit(child, () => stderr);
  // Keep an early failure from surfacing as an unhandled rejection before finished() is awaited.
  exited.catch(() => {});

  return {
    stream: Duplex.from({ writable: child.stdin!, readable: child.stdout! }),
    finished: () => exited,
    abort: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}

function waitForExit(child: ChildProcess, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') reject(new SnapError('NOT_FOUND', ZSTD_MISSING, { cause: error }));
      else reject(new SnapError('IO', `starting zstd failed: ${error.code ?? error.message}`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new SnapError('IO', `zstd failed (${signal ?? `exit code ${code}`}): ${stderr().trim() || 'no message'}`));
    });
  });
}
