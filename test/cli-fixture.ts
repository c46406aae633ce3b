// A small history for the CLI output tests: a base tree, and a second state that changes it in
// every way snap distinguishes (content, binary content, metadata only, type, device numbers,
// symlink targets, hardlinks) and adds names that need quoting (a newline, a 0xff byte, a leading
// dash). Times are fixed, so listings, patches and JSON are the same on every run.

import * as fs from 'node:fs';
import { join } from 'node:path';
import { device, dir, file, hardlink, makeTree, symlink, tempDir, emptyDir, type Spec } from './helpers/tree.js';
import { runSnap, type RunResult } from './helpers/snap.js';

/** 2023-11-14 22:13:20 UTC, in nanoseconds. */
export const T = 1_700_000_000_000_000_000n;
/** One hour and half a second later. */
export const T2 = T + 3_600_500_000_000n;

/** Paths that need quoting. */
export const ODD_NEWLINE = Buffer.from('odd\nname');
export const ODD_FF = Buffer.from([0x6e, 0xff]);
export const ODD_DASH = '-dash';

/** The base state. */
export const BASE: Spec = [
  ['', dir({ mtime: T })],
  ['etc', dir({ mtime: T })],
  ['etc/hosts', file('127.0.0.1 localhost\n::1 localhost\n', { mtime: T })],
  ['etc/motd', file('welcome\n', { mode: 0o644, uid: 0, gid: 0, mtime: T })],
  ['etc/touched', file('same\n', { mtime: T })],
  ['etc/attr', file('x\n', { mtime: T })],
  ['etc/gone', file('bye\n', { mtime: T })],
  ['bin', dir({ mtime: T })],
  ['bin/tool', file(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]), { mode: 0o755, mtime: T })],
  ['bin/sh', file('#!/bin/false\n', { mode: 0o755, mtime: T })],
  ['lib', dir({ mtime: T })],
  ['lib/a', file('a\n', { mtime: T })],
  ['dev', dir({ mtime: T })],
  ['dev/tty9', device('char', 4, 9, { mode: 0o620, mtime: T })],
  ['link', symlink('etc/hosts', { mtime: T })],
  ['hl1', file('shared\n', { mtime: T })],
  ['hl2', hardlink('hl1')],
];

/** The second state: every kind of change against BASE. */
export const CHANGED: Spec = [
  ['', dir({ mtime: T })],
  ['etc', dir({ mtime: T })],
  ['etc/hosts', file('127.0.0.1 localhost\n::1 localhost ip6-localhost\n10.0.0.1 db\n', { mtime: T })],
  ['etc/motd', file('welcome\n', { mode: 0o600, uid: 1000, gid: 100, mtime: T })],
  ['etc/touched', file('same\n', { mtime: T2 })],
  ['etc/attr', file('x\n', { mtime: T, xattrs: { 'user.note': 'hi', 'user.raw': Buffer.from([0, 1, 2]) } })],
  ['bin', dir({ mtime: T })],
  ['bin/tool', file(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 9, 9, 9, 9]), { mode: 0o755, mtime: T })],
  ['bin/sh', symlink('dash', { mtime: T })],
  ['lib', file('now a file\n', { mtime: T })],
  ['dev', dir({ mtime: T })],
  ['dev/tty9', device('char', 4, 10, { mode: 0o620, mtime: T })],
  ['link', symlink('etc/motd', { mtime: T })],
  ['hl1', file('shared\n', { mtime: T })],
  ['hl2', file('shared\n', { mtime: T })],
  [ODD_NEWLINE, file('new\n', { mtime: T })],
  [ODD_FF, file('latin\n', { mtime: T })],
  [ODD_DASH, file('', { mtime: T })],
];

/** Environment that makes commits reproducible. */
export const ENV: Record<string, string> = {
  SNAP_AUTHOR_NAME: 'Test User',
  SNAP_AUTHOR_EMAIL: 'test@example.com',
  GIT_AUTHOR_NAME: 'Test User',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test User',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  SOURCE_DATE_EPOCH: '1700000000',
  TZ: 'UTC',
};

/** A rootfs with its store kept outside it. */
export interface Fixture {
  root: string;
  rootfs: string;
  store: string;
  /** Runs snap on this store (NO_COLOR set, reproducible identity and time). */
  snap(args: string[], env?: Record<string, string>): RunResult;
  /** Runs snap and throws unless it exits 0; returns stdout. */
  ok(args: string[], env?: Record<string, string>): string;
  /** Replaces the rootfs content with a declared state. */
  setState(spec: Spec): void;
  /** Removes the temporary directories. */
  remove(): void;
}

/** Makes a fresh store for a rootfs in BASE state (not committed). */
export function makeFixture(): Fixture {
  const root = tempDir('snap-cli-');
  const rootfs = join(root, 'rootfs');
  const store = join(root, 'store');
  fs.mkdirSync(rootfs);
  const snap = (args: string[], env: Record<string, string> = {}) => runSnap(['--store', store, ...args], { cwd: root, env: { ...ENV, ...env } });
  const ok = (args: string[], env: Record<string, string> = {}) => {
    const result = snap(args, env);
    if (result.code !== 0) throw new Error(`snap ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
    return result.stdout;
  };
  const setState = (spec: Spec) => {
    emptyDir(rootfs);
    makeTree(rootfs, spec);
  };
  setState(BASE);
  ok(['init', rootfs]);
  return { root, rootfs, store, snap, ok, setState, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** Replaces every full or abbreviated id in `text` that starts one of `ids` with a name. */
export function normalizeIds(text: string, ids: Record<string, string>): string {
  let out = text;
  for (const [name, id] of Object.entries(ids)) {
    out = out.replaceAll(id, `<${name}>`);
    out = out.replaceAll(id.slice(0, 7), `<${name}>`);
  }
  return out;
}
