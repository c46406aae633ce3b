// Checks layer items and orders them into tar records, applying the OCI changeset rules.

import { SnapError, showPath } from '../errors.js';
import type { Entry } from '../tree/entry.js';
import type { LayerItem } from './layer.js';

/** One record of the layer tar, in final order. Names are tar entry names as raw bytes. */
export type TarRecord =
  | { kind: 'entry'; name: Buffer; entry: Entry }
  | { kind: 'hardlink'; name: Buffer; entry: Entry; linkname: Buffer }
  | { kind: 'whiteout'; name: Buffer };

/** Prefix that marks a whiteout file in an OCI layer. */
export const WHITEOUT_PREFIX = Buffer.from('.wh.');

const SLASH = 0x2f;
const MAX_DEVICE_NUMBER = 0o7777777;

interface SortableItem {
  item: LayerItem;
  path: Buffer;
  components: Buffer[];
  key: string; // the path bytes as latin1, one char per byte, for maps
}

/**
 * Checks every item and returns the tar records in layer order. Nothing is written, so a failure
 * here leaves the output untouched.
 *
 * Order: components compare bytewise, a parent directory precedes its children, and inside one
 * directory all whiteouts precede the other entries, as the OCI layer spec recommends.
 * Hardlinks: the first member of a set in that order carries the content and the others become
 * hardlink entries naming it, so no link points outside the layer.
 *
 * Throws SnapError INVALID_NAME for a name starting with '.wh.' and UNSAFE_PATH for a path that is
 * not clean and relative. Throws UNSUPPORTED for values a tar header cannot carry. Throws INTERNAL
 * for contradictory items, such as duplicates or an item beneath a whiteout.
 */
export function planLayer(items: LayerItem[]): TarRecord[] {
  const sortable = items.map(toSortable);

  for (const { item, path, components } of sortable) {
    checkReservedName(item, path, components);
    if (item.kind === 'entry') checkEntry(item.entry);
  }
  checkConsistency(sortable);

  sortable.sort(compareItems);
  return toRecords(sortable);
}

/**
 * Checks one entry of a whole snapshot, as planLayer checks each item, and returns its tar name.
 * Throws the errors planLayer throws for a single item.
 */
export function checkSnapshotEntry(entry: Entry): Buffer {
  const item: LayerItem = { kind: 'entry', entry };
  checkReservedName(item, entry.path, splitPath(entry.path));
  checkEntry(entry);
  return entryName(entry);
}

function toSortable(item: LayerItem): SortableItem {
  const path = item.kind === 'entry' ? item.entry.path : item.path;
  const components = splitPath(path);
  if (item.kind === 'whiteout' && components.length === 0) {
    throw new SnapError('INTERNAL', 'a whiteout for the rootfs itself cannot be written; this is a bug in snap');
  }
  return { item, path, components, key: path.toString('latin1') };
}

function splitPath(path: Buffer): Buffer[] {
  if (path.length === 0) return [];

  const components: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i < path.length && path[i] !== SLASH) continue;
    const component = path.subarray(start, i);
    const text = component.toString('latin1');
    if (component.length === 0 || text === '.' || text === '..' || component.includes(0)) {
      throw new SnapError('UNSAFE_PATH', `cannot export '${showPath(path)}': the path must be relative, without empty, '.' or '..' components or NUL bytes`, {
        data: { path: showPath(path) },
      });
    }
    components.push(component);
    start = i + 1;
  }
  return components;
}

// A real file named .wh.* would be read as a whiteout, and a whiteout for such a name would become
// .wh..wh.* (for '.wh..opq' the opaque marker that empties the directory), so both are rejected.
function checkReservedName(item: LayerItem, path: Buffer, components: Buffer[]): void {
  const base = components[components.length - 1];
  if (base === undefined || !base.subarray(0, WHITEOUT_PREFIX.length).equals(WHITEOUT_PREFIX)) return;

  throw new SnapError('INVALID_NAME', `cannot export '${showPath(path)}': names starting with '.wh.' are reserved for whiteouts in OCI layers`, {
    data: { path: showPath(path), kind: item.kind },
  });
}

function checkEntry(entry: Entry): void {
  const shown = showPath(entry.path);
  const internal = (problem: string) => new SnapError('INTERNAL', `entry '${shown}' ${problem}; this is a bug in snap`, { data: { path: shown } });

  if (entry.path.length === 0 && entry.type !== 'dir') throw internal(`is the rootfs but has type '${entry.type}'`);
  if (!isCount(entry.uid) || !isCount(entry.gid)) throw internal(`has invalid owner ${entry.uid}:${entry.gid}`);
  if (!Number.isInteger(entry.mode)) throw internal(`has invalid mode ${entry.mode}`);
  if (entry.type === 'dir' && entry.linkTarget !== undefined) throw internal('is a directory with a hardlink target');

  if (entry.type === 'file') {
    if (!isCount(entry.size)) throw internal(`has invalid size ${entry.size}`);
    if (entry.size > 0 && !entry.oid) throw internal('has content but no blob id');
  }
  if (entry.type === 'symlink' && !Buffer.isBuffer(entry.target)) throw internal('is a symlink without a target');
  if (entry.type === 'char' || entry.type === 'block') {
    if (!isCount(entry.rdevMajor) || !isCount(entry.rdevMinor)) throw internal('is a device without device numbers');
    if (entry.rdevMajor > MAX_DEVICE_NUMBER || entry.rdevMinor > MAX_DEVICE_NUMBER) {
      throw new SnapError('UNSUPPORTED', `cannot export '${shown}': device number ${entry.rdevMajor}:${entry.rdevMinor} does not fit a tar header`, {
        data: { path: shown },
      });
    }
  }

  // PAX records split key from value at the first '=', so such a name cannot round-trip.
  for (const xattr of entry.xattrs) {
    if (xattr.name.length === 0 || xattr.name.includes('=') || xattr.name.includes('\u0000')) {
      throw new SnapError('UNSUPPORTED', `cannot export xattr '${xattr.name}' of '${shown}': PAX records cannot carry a name that is empty or contains '=' or NUL`, {
        data: { path: shown, xattr: xattr.name },
      });
    }
  }
}

function isCount(value: number | undefined): value is number {
  return value !== undefined && Number.isSafeInteger(value) && value >= 0;
}

function checkConsistency(sortable: SortableItem[]): void {
  const byKey = new Map<string, SortableItem>();
  for (const current of sortable) {
    const earlier = byKey.get(current.key);
    if (earlier) {
      const pair = earlier.item.kind === current.item.kind ? `two ${current.item.kind} items` : 'both a whiteout and an entry';
      throw inconsistent(current.path, `has ${pair}`);
    }
    byKey.set(current.key, current);
  }

  // Every ancestor present in the layer must be a directory entry: a whiteout or a non-directory
  // there means the items contradict each other.
  for (const current of sortable) {
    let end = current.path.lastIndexOf(SLASH);
    while (end > 0) {
      const ancestor = byKey.get(current.path.subarray(0, end).toString('latin1'));
      if (ancestor && (ancestor.item.kind === 'whiteout' || ancestor.item.entry.type !== 'dir')) {
        throw inconsistent(current.path, `lies beneath '${showPath(ancestor.path)}', which the layer does not write as a directory`);
      }
      end = current.path.lastIndexOf(SLASH, end - 1);
    }
  }
}

function inconsistent(path: Buffer, problem: string): SnapError {
  const shown = showPath(path);
  return new SnapError('INTERNAL', `layer items are inconsistent: '${shown}' ${problem}; this is a bug in snap`, { data: { path: shown } });
}

// Compares component by component, and names compare bytewise. Within one directory a whiteout
// sorts before every other entry, and a path sorts before the paths beneath it.
function compareItems(a: SortableItem, b: SortableItem): number {
  const shared = Math.min(a.components.length, b.components.length);
  for (let i = 0; i < shared; i++) {
    const rankA = i === a.components.length - 1 && a.item.kind === 'whiteout' ? 0 : 1;
    const rankB = i === b.components.length - 1 && b.item.kind === 'whiteout' ? 0 : 1;
    if (rankA !== rankB) return rankA - rankB;
    const order = Buffer.compare(a.components[i]!, b.components[i]!);
    if (order !== 0) return order;
  }
  return a.components.length - b.components.length;
}

function toRecords(sorted: SortableItem[]): TarRecord[] {
  const setSizes = new Map<string, number>();
  for (const { item } of sorted) {
    const setKey = hardlinkSetKey(item);
    if (setKey !== undefined) setSizes.set(setKey, (setSizes.get(setKey) ?? 0) + 1);
  }

  const firstNames = new Map<string, Buffer>();
  const records: TarRecord[] = [];
  for (const { item, path, components } of sorted) {
    if (item.kind === 'whiteout') {
      records.push({ kind: 'whiteout', name: whiteoutName(path, components) });
      continue;
    }

    const name = entryName(item.entry);
    const setKey = hardlinkSetKey(item);
    const linkname = setKey === undefined ? undefined : firstNames.get(setKey);
    if (linkname) {
      records.push({ kind: 'hardlink', name, entry: item.entry, linkname });
      continue;
    }
    if (setKey !== undefined && (setSizes.get(setKey) ?? 0) > 1) firstNames.set(setKey, name);
    records.push({ kind: 'entry', name, entry: item.entry });
  }
  return records;
}

function hardlinkSetKey(item: LayerItem): string | undefined {
  if (item.kind !== 'entry' || item.entry.linkTarget === undefined) return undefined;
  return item.entry.linkTarget.toString('latin1');
}

/**
 * Returns the tar name of an entry: the path for files, links and nodes, the path with a trailing
 * '/' for directories, and './' for the rootfs. Names carry no './' prefix, like the layers that
 * umoci 0.4.7 generates and the whiteout examples of the OCI layer spec.
 */
export function entryName(entry: Entry): Buffer {
  if (entry.path.length === 0) return Buffer.from('./');
  if (entry.type === 'dir') return Buffer.concat([entry.path, Buffer.from('/')]);
  return entry.path;
}

/** Returns the tar name of the whiteout for `path`: `.wh.` prefixed to its final component. */
export function whiteoutName(path: Buffer, components: Buffer[] = splitPath(path)): Buffer {
  const base = components[components.length - 1]!;
  const parent = path.subarray(0, path.length - base.length);
  return Buffer.concat([parent, WHITEOUT_PREFIX, base]);
}
