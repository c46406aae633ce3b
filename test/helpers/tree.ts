// Builds small rootfs trees for tests from a declaration: every entry kind snap records, with
// owners, modes, xattrs and nanosecond mtimes set exactly as declared.

import * as fs from 'node:fs';
import * as net from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDevice, makeFifo, setTimes, setXattr } from '../../src/native/index.js';

/** Attributes any entry may declare; unset ones keep what creation gave. */
export interface Attrs {
  mode?: number;
  uid?: number;
  gid?: number;
  /** Modification time in nanoseconds since the epoch (the access time is set to it too). */
  mtime?: bigint;
  /** Extended attributes by full name; string values are UTF-8. */
  xattrs?: Record<string, string | Buffer>;
}

/** One declared entry. A bare string or Buffer is a regular file with that content. */
export type Node =
  | string
  | Buffer
  | ({ type: 'file'; content?: string | Buffer } & Attrs)
  | ({ type: 'dir' } & Attrs)
  | ({ type: 'symlink'; target: string | Buffer } & Attrs)
  | { type: 'hardlink'; to: string | Buffer }
  | ({ type: 'char' | 'block'; major: number; minor: number } & Attrs)
  | ({ type: 'fifo' } & Attrs);

/** A tree declaration: paths relative to the rootfs ('' is the rootfs itself). Buffer paths allow any bytes. */
export type Spec = Record<string, Node> | [string | Buffer, Node][];

export const file = (content: string | Buffer = '', attrs: Attrs = {}): Node => ({ type: 'file', content, ...attrs });
export const dir = (attrs: Attrs = {}): Node => ({ type: 'dir', ...attrs });
export const symlink = (target: string | Buffer, attrs: Attrs = {}): Node => ({ type: 'symlink', target, ...attrs });
export const hardlink = (to: string | Buffer): Node => ({ type: 'hardlink', to });
export const device = (type: 'char' | 'block', major: number, minor: number, attrs: Attrs = {}): Node => ({ type, major, minor, ...attrs });
export const fifo = (attrs: Attrs = {}): Node => ({ type: 'fifo', ...attrs });

/** Joins a directory and raw path bytes into one absolute path Buffer. */
export function at(root: string | Buffer, path: string | Buffer = ''): Buffer {
  const rel = Buffer.from(path);
  if (rel.length === 0) return Buffer.from(root);
  return Buffer.concat([Buffer.from(root), Buffer.from('/'), rel]);
}

/** Makes a fresh directory under the system temp directory. */
export function tempDir(prefix = 'snap-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function entries(spec: Spec): [Buffer, Node][] {
  const list = Array.isArray(spec) ? spec : Object.entries(spec);
  return list.map(([path, node]) => [Buffer.from(path), node]);
}

function depth(path: Buffer): number {
  if (path.length === 0) return 0;
  return path.filter((byte) => byte === 0x2f).length + 1;
}

function parentOf(path: Buffer): Buffer {
  const slash = path.lastIndexOf(0x2f);
  return slash < 0 ? Buffer.alloc(0) : path.subarray(0, slash);
}

function normalize(node: Node): Exclude<Node, string | Buffer> {
  return typeof node === 'string' || Buffer.isBuffer(node) ? { type: 'file', content: node } : node;
}

/**
 * Creates the declared entries under `root` (created when missing): parents before children,
 * missing parent directories with the default mode, hardlinks after every other entry. Then sets owner,
 * mode, xattrs and times in that order (chown clears setuid bits and file capabilities), every
 * directory after its children so that creating a child does not move its mtime.
 */
export function makeTree(root: string | Buffer, spec: Spec): void {
  fs.mkdirSync(root, { recursive: true });
  const list = entries(spec).map(([path, node]) => [path, normalize(node)] as const);
  list.sort((a, b) => depth(a[0]) - depth(b[0]));

  for (const [path, node] of list) {
    if (node.type === 'hardlink') continue;
    const full = at(root, path);
    if (path.length > 0) fs.mkdirSync(at(root, parentOf(path)), { recursive: true });
    switch (node.type) {
      case 'file':
        fs.writeFileSync(full, node.content ?? '');
        break;
      case 'dir':
        fs.mkdirSync(full, { recursive: true });
        break;
      case 'symlink':
        fs.symlinkSync(Buffer.from(node.target), full);
        break;
      case 'char':
      case 'block':
        makeDevice(full, node.type, 0o600, node.major, node.minor);
        break;
      case 'fifo':
        makeFifo(full, 0o600);
        break;
    }
  }
  for (const [path, node] of list) {
    if (node.type !== 'hardlink') continue;
    fs.mkdirSync(at(root, parentOf(path)), { recursive: true });
    fs.linkSync(at(root, node.to), at(root, path));
  }

  const withAttrs = list.filter(([, node]) => node.type !== 'hardlink') as [Buffer, Exclude<Node, string | Buffer | { type: 'hardlink' }>][];
  const nonDirs = withAttrs.filter(([, node]) => node.type !== 'dir');
  const dirs = withAttrs.filter(([, node]) => node.type === 'dir').sort((a, b) => depth(b[0]) - depth(a[0]));
  for (const [path, node] of [...nonDirs, ...dirs]) setAttrs(at(root, path), node);
}

/** Sets owner, mode, xattrs and mtime of one path, in that order, never following a symlink. */
export function setAttrs(full: Buffer, attrs: Attrs & { type?: string }): void {
  if (attrs.uid !== undefined || attrs.gid !== undefined) {
    const stat = fs.lstatSync(full);
    fs.lchownSync(full, attrs.uid ?? stat.uid, attrs.gid ?? stat.gid);
  }
  if (attrs.mode !== undefined && attrs.type !== 'symlink') fs.chmodSync(full, attrs.mode);
  for (const [name, value] of Object.entries(attrs.xattrs ?? {})) setXattr(full, name, Buffer.from(value));
  if (attrs.mtime !== undefined) setTimes(full, attrs.mtime, attrs.mtime);
}

/** Removes everything inside `root` but `keep` (names directly below root), leaving root itself. */
export function emptyDir(root: string, keep: string[] = []): void {
  for (const name of fs.readdirSync(root, { encoding: 'buffer' })) {
    if (keep.includes(name.toString('latin1'))) continue;
    fs.rmSync(at(root, name), { recursive: true, force: true });
  }
}

/** Binds a Unix socket at `path` and returns a function that closes it (which removes the file). */
export async function listenSocket(path: string): Promise<() => Promise<void>> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}
