// The synthetic trees of the benchmark, generated from a seed so every run and every machine gets
// the same names, sizes, modes and content: N small files (1-16 KB of text-like content, 100 per
// directory), one symlink and one hardlink per directory, optionally some large binary files; the
// change applied on top of such a tree (the synthetic "s1"); and a single large file.

import fs from 'node:fs';
import { join } from 'node:path';
import { Prng } from './prng.js';

/** What to generate. */
export interface TreeSpec {
  /** Small regular files (hardlink names and large files not counted). */
  files: number;
  /** Small files per directory. */
  perDir: number;
  minSize: number;
  maxSize: number;
  /** Large files under big/, and their size in bytes. */
  bigFiles: number;
  bigSize: number;
  seed: number;
}

/** What was generated. */
export interface TreeStats {
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  bigFiles: number;
  bytes: number;
}

/** What mutateTree changed. */
export interface MutationStats {
  modified: number;
  added: number;
  deleted: number;
  chmodded: number;
  bigReplaced: number;
}

/** The default synthetic tree of the issue: 100,000 files in 1,000 directories, five 50 MB files. */
export function syntheticSpec(files: number, bigFiles: number, bigSize: number): TreeSpec {
  return { files, perDir: 100, minSize: 1024, maxSize: 16 * 1024, bigFiles, bigSize, seed: 0x5eed0000 + files };
}

const POOL_SIZE = 4 * 1024 * 1024;

/**
 * Text-like content: words from a fixed 4096-word vocabulary, frequent words more often, in lines
 * of 40-100 characters. It compresses about as well as source code or documentation does, so
 * zlib (git, snap) and gzip (layers) do realistic work.
 */
function textPool(seed: number): Buffer {
  const rng = new Prng(seed ^ 0x7e47);
  const letters = 'etaoinshrdlcumwfgypbvkjxqz';
  const vocabulary: string[] = [];
  for (let i = 0; i < 4096; i++) {
    let word = '';
    const length = rng.int(2, 10);
    for (let j = 0; j < length; j++) word += letters[Math.min(25, Math.floor(((rng.next() / 2 ** 32) ** 2) * 26))];
    vocabulary.push(word);
  }
  const pool = Buffer.alloc(POOL_SIZE);
  let at = 0;
  let line = 0;
  let lineLength = rng.int(40, 100);
  while (at < POOL_SIZE) {
    const r = rng.next() / 2 ** 32;
    const word = vocabulary[Math.floor(r * r * r * vocabulary.length)];
    at += pool.write(word, at, 'latin1');
    line += word.length;
    if (at >= POOL_SIZE) break;
    if (line >= lineLength) {
      pool[at++] = 0x0a;
      line = 0;
      lineLength = rng.int(40, 100);
    } else {
      pool[at++] = 0x20;
      line++;
    }
  }
  return pool;
}

/** Relative path of directory number d: 100 directories per group, gNN/dNNNN. */
function dirName(d: number): string {
  return join(`g${String(Math.floor(d / 100)).padStart(2, '0')}`, `d${String(d).padStart(4, '0')}`);
}

function fileName(f: number): string {
  return `f${String(f).padStart(3, '0')}.txt`;
}

function dirCount(spec: TreeSpec): number {
  return Math.ceil(spec.files / spec.perDir);
}

/** Writes a text file of `size` bytes: a unique header line, then a slice of the pool. */
function writeTextFile(path: string, header: string, size: number, pool: Buffer, rng: Prng): number {
  const head = Buffer.from(`${header}\n`, 'latin1');
  const bodyLength = Math.max(0, size - head.length);
  const offset = rng.int(0, pool.length - bodyLength - 1);
  fs.writeFileSync(path, Buffer.concat([head, pool.subarray(offset, offset + bodyLength)]));
  return head.length + bodyLength;
}

/** Writes `size` pseudo-random (incompressible, like packaged binaries) bytes to `path`. */
export function writeBinaryFile(path: string, size: number, seed: number): void {
  const rng = new Prng(seed);
  const chunk = Buffer.alloc(Math.min(size, 8 * 1024 * 1024));
  const fd = fs.openSync(path, 'w');
  try {
    let left = size;
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      rng.fill(chunk);
      fs.writeSync(fd, chunk, 0, n);
      left -= n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Generates the tree described by `spec` in `root` (created; must not exist). Files are 0644,
 * every tenth 0755; when run as root every twentieth belongs to 1000:1000. Each directory also
 * holds `latest` (a symlink to its first file, or for every other directory an absolute-style
 * link into the next one) and `first.hard` (a hardlink to its first file).
 */
export function generateTree(root: string, spec: TreeSpec): TreeStats {
  const rng = new Prng(spec.seed);
  const pool = textPool(spec.seed);
  const isRoot = process.getuid?.() === 0;
  const stats: TreeStats = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, bigFiles: 0, bytes: 0 };
  fs.mkdirSync(root);
  const dirs = dirCount(spec);
  for (let d = 0; d < dirs; d++) {
    const rel = dirName(d);
    const dir = join(root, rel);
    fs.mkdirSync(dir, { recursive: true });
    stats.dirs++;
    const inThisDir = Math.min(spec.perDir, spec.files - d * spec.perDir);
    for (let f = 0; f < inThisDir; f++) {
      const path = join(dir, fileName(f));
      stats.bytes += writeTextFile(path, `${rel}/${fileName(f)} seed ${spec.seed}`, rng.int(spec.minSize, spec.maxSize), pool, rng);
      stats.files++;
      const n = d * spec.perDir + f;
      if (n % 10 === 3) fs.chmodSync(path, 0o755);
      if (isRoot && n % 20 === 7) fs.chownSync(path, 1000, 1000);
    }
    const target = d % 2 === 0 || d + 1 >= dirs ? fileName(0) : join('/', dirName(d + 1), fileName(0));
    fs.symlinkSync(target, join(dir, 'latest'));
    stats.symlinks++;
    fs.linkSync(join(dir, fileName(0)), join(dir, 'first.hard'));
    stats.hardlinks++;
  }
  if (spec.bigFiles > 0) {
    fs.mkdirSync(join(root, 'big'));
    for (let b = 0; b < spec.bigFiles; b++) {
      writeBinaryFile(join(root, 'big', `blob${b}.bin`), spec.bigSize, spec.seed + 1000 + b);
      stats.bigFiles++;
      stats.bytes += spec.bigSize;
    }
  }
  return stats;
}

/**
 * Applies the synthetic "s1" change to a copy of a tree generated from `spec`, like a package
 * upgrade: in every directory one file rewritten (new content and size), one deleted, one added,
 * one chmod 0600; and the first large file replaced by new content.
 */
export function mutateTree(root: string, spec: TreeSpec): MutationStats {
  const rng = new Prng(spec.seed ^ 0x51);
  const pool = textPool(spec.seed ^ 0x51);
  const stats: MutationStats = { modified: 0, added: 0, deleted: 0, chmodded: 0, bigReplaced: 0 };
  const dirs = dirCount(spec);
  for (let d = 0; d < dirs; d++) {
    const rel = dirName(d);
    const dir = join(root, rel);
    const inThisDir = Math.min(spec.perDir, spec.files - d * spec.perDir);
    if (inThisDir < 5) continue;
    // Files 1..4 only: file 0 carries the symlink and the hardlink.
    const pick = 1 + (rng.next() % (inThisDir - 4));
    writeTextFile(join(dir, fileName(pick)), `${rel}/${fileName(pick)} modified`, rng.int(spec.minSize, spec.maxSize), pool, rng);
    stats.modified++;
    fs.unlinkSync(join(dir, fileName(pick + 1)));
    stats.deleted++;
    fs.chmodSync(join(dir, fileName(pick + 2)), 0o600);
    stats.chmodded++;
    writeTextFile(join(dir, 'new.txt'), `${rel}/new.txt added`, rng.int(spec.minSize, spec.maxSize), pool, rng);
    stats.added++;
  }
  if (spec.bigFiles > 0) {
    writeBinaryFile(join(root, 'big', 'blob0.bin'), spec.bigSize, spec.seed + 5000);
    stats.bigReplaced++;
  }
  return stats;
}
