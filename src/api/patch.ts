// Patches: what changed inside each changed path. Text content becomes unified-diff hunks (through
// the `diff` package), binary content a size change, and every recorded attribute that differs is
// named so that it can be shown as "old X / new X" lines.

import { promises as fsp } from 'node:fs';
import { ioError } from '../errors.js';
import { diffSnapshots, type Change } from '../store/diff.js';
import type { Store } from '../store/store.js';
import type { Entry } from '../tree/entry.js';
import { pathFilter, resolveSides, type DiffOptions } from './diff.js';

/** Attributes of an entry a change can touch, in the order a patch shows them. */
export type Field = 'type' | 'mode' | 'owner' | 'mtime' | 'target' | 'device' | 'hardlink' | 'xattrs' | 'content';

/** Bytes looked at for a NUL to call content binary, as Git does. */
export const BINARY_PROBE_BYTES = 8000;

/** Files larger than this are shown as binary without being read, as Git's core.bigFileThreshold does. */
export const BIG_FILE_BYTES = 64 * 1024 * 1024;

/** Milliseconds a text diff may take before it is shown as one hunk replacing the whole file. */
const DIFF_TIMEOUT_MS = 10_000;

/**
 * One hunk of a unified diff. Lines keep their exact bytes, each starting with ' ', '-', '+' or '\'.
 * Starts are 1-based line numbers as a unified diff prints them: a side with no lines names the
 * line before the change (0 at the top of the file).
 */
export interface Hunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: Buffer[];
}

/** Content of a regular file on either side: text hunks, or binary with the two sizes. */
export type ContentPatch = { kind: 'text'; hunks: Hunk[] } | { kind: 'binary'; oldSize: number; newSize: number };

/** What changed at one path. */
export interface FilePatch {
  change: Change;
  /** Attributes that differ between the two sides (for A and D: every attribute the entry has). */
  fields: Field[];
  /** Set when either side is a regular file whose content differs (or, for A and D, exists). */
  content?: ContentPatch;
}

/** Reads the content of a regular file entry of one side. */
export type ContentReader = (entry: Entry, side: 'old' | 'new') => Promise<Buffer>;

/** Options of patch making. */
export interface PatchOptions {
  /** Lines of context around each change (default 3, as Git). */
  context?: number;
}

/** A comparison of two sides: the changed paths, and their patches made on demand. */
export interface Comparison {
  /** The old side's commit, or undefined for the empty tree. */
  from?: string;
  /** The new side's commit, or undefined for the rootfs. */
  to?: string;
  changes: Change[];
  /** Makes the patch of every change, in order, reading content only as it goes. */
  patches(options?: PatchOptions): AsyncGenerator<FilePatch>;
}

/** Lists the attributes that differ between two entries of one path (either may be absent). */
export function changedFields(old: Entry | undefined, now: Entry | undefined): Field[] {
  const fields: Field[] = [];
  if (!old || !now) {
    const only = (old ?? now)!;
    fields.push('type', 'mode', 'owner');
    if (only.type === 'symlink') fields.push('target');
    if (only.type === 'char' || only.type === 'block') fields.push('device');
    if (only.linkTarget) fields.push('hardlink');
    if (only.xattrs.length > 0) fields.push('xattrs');
    if (only.type === 'file') fields.push('content');
    return fields;
  }
  if (old.type !== now.type) fields.push('type');
  if (old.mode !== now.mode) fields.push('mode');
  if (old.uid !== now.uid || old.gid !== now.gid) fields.push('owner');
  if (old.mtimeNs !== now.mtimeNs) fields.push('mtime');
  if ((old.type === 'symlink' || now.type === 'symlink') && !sameBytes(old.target, now.target)) fields.push('target');
  const oldDevice = old.type === 'char' || old.type === 'block';
  const newDevice = now.type === 'char' || now.type === 'block';
  if ((oldDevice || newDevice) && (old.rdevMajor !== now.rdevMajor || old.rdevMinor !== now.rdevMinor)) fields.push('device');
  if (!sameBytes(old.linkTarget, now.linkTarget)) fields.push('hardlink');
  if (!sameXattrs(old, now)) fields.push('xattrs');
  if ((old.type === 'file' || now.type === 'file') && (old.type !== now.type || old.oid !== now.oid)) fields.push('content');
  return fields;
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  if (!a || !b) return a === b;
  return a.equals(b);
}

function sameXattrs(a: Entry, b: Entry): boolean {
  if (a.xattrs.length !== b.xattrs.length) return false;
  return a.xattrs.every((x, i) => x.name === b.xattrs[i].name && x.value.equals(b.xattrs[i].value));
}

/** Reports whether content is binary: a NUL byte in its first 8000 bytes, as Git decides. */
export function isBinary(content: Buffer): boolean {
  return content.subarray(0, BINARY_PROBE_BYTES).includes(0);
}

/** Makes the patch of one change, reading file content through `read`. */
export async function makePatch(change: Change, read: ContentReader, options: PatchOptions = {}): Promise<FilePatch> {
  const fields = changedFields(change.old, change.new);
  const patch: FilePatch = { change, fields };
  if (!fields.includes('content')) return patch;
  const oldFile = change.old?.type === 'file' ? change.old : undefined;
  const newFile = change.new?.type === 'file' ? change.new : undefined;
  const oldSize = oldFile?.size ?? 0;
  const newSize = newFile?.size ?? 0;
  if (oldSize > BIG_FILE_BYTES || newSize > BIG_FILE_BYTES) {
    patch.content = { kind: 'binary', oldSize, newSize };
    return patch;
  }
  const before = oldFile ? await read(oldFile, 'old') : Buffer.alloc(0);
  const after = newFile ? await read(newFile, 'new') : Buffer.alloc(0);
  if (isBinary(before) || isBinary(after)) {
    patch.content = { kind: 'binary', oldSize: before.length, newSize: after.length };
    return patch;
  }
  patch.content = { kind: 'text', hunks: await textHunks(before, after, options.context ?? 3) };
  return patch;
}

/**
 * Diffs two texts line by line. Bytes are carried through latin1 so that any byte survives. A diff
 * that takes too long becomes one hunk that removes every old line and adds every new one.
 */
export async function textHunks(before: Buffer, after: Buffer, context: number): Promise<Hunk[]> {
  // Loaded here only: the diff package is 19 modules that status and commit never use.
  const { structuredPatch } = await import('diff');
  const a = before.toString('latin1');
  const b = after.toString('latin1');
  const result = structuredPatch('', '', a, b, undefined, undefined, { context, timeout: DIFF_TIMEOUT_MS });
  if (result) {
    return result.hunks.map((hunk) => ({
      oldStart: hunk.oldLines === 0 ? hunk.oldStart - 1 : hunk.oldStart,
      oldLines: hunk.oldLines,
      newStart: hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart,
      newLines: hunk.newLines,
      lines: hunk.lines.map((line) => Buffer.from(line, 'latin1')),
    }));
  }
  return [wholeFileHunk(a, b)];
}

function wholeFileHunk(a: string, b: string): Hunk {
  const split = (text: string, sign: string): Buffer[] => {
    if (text === '') return [];
    const lines = text.split('\n');
    const endsWithNewline = lines[lines.length - 1] === '';
    if (endsWithNewline) lines.pop();
    const out = lines.map((line) => Buffer.from(sign + line, 'latin1'));
    if (!endsWithNewline) out.push(Buffer.from('\\ No newline at end of file'));
    return out;
  };
  const removed = split(a, '-');
  const added = split(b, '+');
  const count = (lines: Buffer[]) => lines.filter((line) => line[0] !== 0x5c).length;
  const oldLines = count(removed);
  const newLines = count(added);
  return { oldStart: oldLines ? 1 : 0, oldLines, newStart: newLines ? 1 : 0, newLines, lines: [...removed, ...added] };
}

/**
 * A reader for a comparison: the old side always comes from the store; the new side from the store
 * too, or from the rootfs files when the new side is the rootfs (its content is hashed, not stored).
 */
export function contentReader(store: Store, newIsRootfs: boolean): ContentReader {
  return async (entry, side) => {
    if (side === 'new' && newIsRootfs) {
      const path = Buffer.concat([Buffer.from(store.rootfs), Buffer.from('/'), entry.path]);
      try {
        return await fsp.readFile(path);
      } catch (error) {
        throw ioError('reading', entry.path, error);
      }
    }
    return store.objects.readTyped(entry.oid!, 'blob');
  };
}

/** Generates the patches of `changes` in order. */
export async function* patchesOf(changes: Change[], read: ContentReader, options: PatchOptions = {}): AsyncGenerator<FilePatch> {
  for (const change of changes) yield await makePatch(change, read, options);
}

/**
 * Compares two sides as `diff` does (no revision: HEAD with the rootfs; one: it with the rootfs;
 * two: the snapshots), limited to `paths`, and returns the changes with a patch maker. Writes
 * nothing but the stat cache.
 */
export async function compare(options: DiffOptions = {}): Promise<Comparison> {
  const filter = pathFilter(options.paths);
  const sides = await resolveSides(options);
  const changes = await diffSnapshots(sides.store.objects, sides.fromRoot, sides.toRoot, filter);
  const read = contentReader(sides.store, sides.toOid === undefined);
  return { from: sides.fromOid, to: sides.toOid, changes, patches: (patchOptions) => patchesOf(changes, read, patchOptions) };
}
