// Describes directory trees with real tools, so tests compare an original tree with a checkout or
// an unpacked image: mtree(8) for types, modes, owners, sizes, times, devices and content,
// getfattr(1) for xattrs, and find(1) inode numbers for hardlink sets.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { at, tempDir } from './tree.js';
import { run, runOk } from './snap.js';

/** mtree keywords compared between trees. */
const MTREE_KEYWORDS = 'type,mode,uid,gid,size,link,nlink,time,device,sha256';

/** A tree as the judge tools see it. Two trees are the same when their states are equal. */
export interface TreeState {
  /** mtree -c output without its comment header. */
  mtree: string[];
  /** One getfattr block per path with xattrs ("# file: PATH" then NAME=0xHEX lines), sorted. */
  xattrs: string[];
  /** Paths sharing an inode, one sorted group per inode with two or more paths, sorted. */
  links: string[][];
}

/** Options of treeState. */
export interface StateOptions {
  /** Top-level names left out (for a store kept inside the rootfs). */
  exclude?: string[];
}

/** Describes the tree at `root` with mtree, getfattr and find. */
export function treeState(root: string, options: StateOptions = {}): TreeState {
  return { mtree: mtreeSpec(root, options), xattrs: xattrBlocks(root, options), links: hardlinkGroups(root, options) };
}

/** Runs `mtree -c` over root and returns its lines without the header comments. */
export function mtreeSpec(root: string, options: StateOptions = {}): string[] {
  const args = ['-c', '-p', root, '-k', MTREE_KEYWORDS];
  const listDir = options.exclude?.length ? tempDir('snap-mtree-') : undefined;
  try {
    if (listDir) {
      const list = join(listDir, 'exclude');
      fs.writeFileSync(list, options.exclude!.map((name) => `./${name}\n`).join(''));
      args.push('-X', list);
    }
    const text = runOk('mtree', args);
    return text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
  } finally {
    if (listDir) fs.rmSync(listDir, { recursive: true, force: true });
  }
}

function isExcluded(path: string, options: StateOptions): boolean {
  return options.exclude?.some((name) => path === name || path.startsWith(`${name}/`)) ?? false;
}

/**
 * Returns every path's xattrs as `getfattr -R -h -d -m - -e hex .` prints them, one block per
 * path ("# file: PATH" then sorted NAME=0xHEX lines), blocks sorted. Paths are decoded as latin1
 * so that every byte stays distinct.
 */
export function xattrBlocks(root: string, options: StateOptions = {}): string[] {
  const text = run('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '.'], { cwd: root }).stdoutBytes.toString('latin1');
  const blocks = text.split(/\n(?=# file: )/).map((block) => block.trim()).filter((block) => block !== '');
  const included = blocks.filter((block) => !isExcluded(block.split('\n')[0].slice('# file: '.length), options));
  return included.map((block) => {
    const [head, ...values] = block.split('\n');
    return [head, ...values.sort()].join('\n');
  }).sort();
}

/** Groups the non-directory paths under root by inode; returns only groups of two or more. */
export function hardlinkGroups(root: string, options: StateOptions = {}): string[][] {
  const out = run('find', ['.', '-mindepth', '1', '!', '-type', 'd', '-printf', '%i %P\\0'], { cwd: root }).stdoutBytes.toString('latin1');
  const groups = new Map<string, string[]>();
  for (const record of out.split('\0')) {
    if (record === '') continue;
    const space = record.indexOf(' ');
    const path = record.slice(space + 1);
    if (isExcluded(path, options)) continue;
    const inode = record.slice(0, space);
    groups.set(inode, [...(groups.get(inode) ?? []), path]);
  }
  return [...groups.values()].filter((group) => group.length > 1).map((group) => group.sort()).sort();
}

/** Returns the paths (relative to root, sorted) that share an inode with `path`, itself included. */
export function linkedPaths(root: string, path: string): string[] {
  const group = hardlinkGroups(root).find((members) => members.includes(path));
  return group ?? [path];
}

/**
 * Lists every path under `dir` with its type, mode, owner and symlink target, and for
 * non-directories also size, content sha256 and mtime. Directory mtimes are left out because a
 * command that takes and releases a lock file inside the store moves them without changing content.
 */
export function fingerprint(dir: string): string[] {
  const lines: string[] = [];
  const walk = (path: Buffer, rel: string): void => {
    const stat = fs.lstatSync(path, { bigint: true });
    const kind = stat.isDirectory() ? 'd' : stat.isSymbolicLink() ? 'l' : stat.isFile() ? 'f' : 'o';
    const base = `${rel} ${kind} ${(stat.mode & 0o7777n).toString(8)} ${stat.uid}:${stat.gid}`;
    if (kind === 'd') {
      lines.push(base);
      for (const name of fs.readdirSync(path, { encoding: 'buffer' }).sort(Buffer.compare)) {
        walk(at(path, name), rel === '.' ? name.toString('latin1') : `${rel}/${name.toString('latin1')}`);
      }
      return;
    }
    const content = kind === 'f' ? createHash('sha256').update(fs.readFileSync(path)).digest('hex') : '';
    const target = kind === 'l' ? fs.readlinkSync(path, { encoding: 'buffer' }).toString('hex') : '';
    lines.push(`${base} size=${stat.size} mtime=${stat.mtimeNs} ${content}${target}`);
  };
  walk(Buffer.from(dir), '.');
  return lines;
}

/** Returns 'sha256:HEX' of bytes. */
export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * Stacks uncompressed layer tarballs into a fresh OCI image under `work` with umoci (init, new,
 * raw add-layer for each, unpack) and returns the unpacked rootfs path.
 */
export function unpackLayers(work: string, layers: string[]): string {
  const image = join(work, 'image');
  const bundle = join(work, 'bundle');
  runOk('umoci', ['init', '--layout', image]);
  runOk('umoci', ['new', '--image', `${image}:t`]);
  for (const layer of layers) runOk('umoci', ['raw', 'add-layer', '--image', `${image}:t`, layer]);
  runOk('umoci', ['unpack', '--image', `${image}:t`, bundle]);
  return join(bundle, 'rootfs');
}
