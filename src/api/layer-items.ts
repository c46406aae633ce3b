// Turning a list of changes into the items of an OCI layer: whiteouts for deleted subtrees and
// full entries for the rest, with every member of a touched hardlink set.

import type { Change } from '../store/diff.js';
import type { ObjectStore } from '../store/objects.js';
import { walkSnapshot, type SnapshotDir } from '../store/snapshot-read.js';
import type { Entry } from '../tree/entry.js';
import type { LayerItem } from '../oci/layer.js';

function isBelow(path: Buffer, prefix: Buffer): boolean {
  if (prefix.length === 0) return path.length > 0;
  return path.length > prefix.length && path[prefix.length] === 0x2f && path.subarray(0, prefix.length).equals(prefix);
}

/**
 * Builds layer items from `changes` (walk order, parents first). A deleted path gets one whiteout
 * unless an ancestor is already deleted or replaced by another type (OCI layer rule: a whiteout
 * removes the whole subtree, and a replaced directory takes its children with it). A path that is
 * deleted and recreated in the same change is written as a plain replacement, without a whiteout.
 * When any member of a hardlink set is in the layer, every member in `to` is, so the links can be
 * rebuilt inside the layer.
 */
export async function layerItems(objects: ObjectStore, changes: Change[], to: SnapshotDir): Promise<LayerItem[]> {
  const items: LayerItem[] = [];
  const gone: Buffer[] = [];
  const included = new Set<string>();
  let hasLinks = false;

  for (const change of changes) {
    if (change.status === 'D') {
      if (!gone.some((prefix) => isBelow(change.path, prefix))) items.push({ kind: 'whiteout', path: change.path });
      gone.push(change.path);
      continue;
    }
    if (change.status === 'T' && change.old?.type === 'dir') gone.push(change.path);
    const entry = change.new!;
    items.push({ kind: 'entry', entry });
    included.add(entry.path.toString('latin1'));
    if (entry.linkTarget) hasLinks = true;
  }
  if (!hasLinks) return items;

  const sets = new Map<string, Entry[]>();
  await walkSnapshot(objects, to, (entry) => {
    if (!entry.linkTarget) return;
    const key = entry.linkTarget.toString('latin1');
    const members = sets.get(key);
    if (members) members.push(entry);
    else sets.set(key, [entry]);
  });
  const touched = new Set<string>();
  for (const item of items) {
    if (item.kind === 'entry' && item.entry.linkTarget) touched.add(item.entry.linkTarget.toString('latin1'));
  }
  for (const key of touched) {
    for (const member of sets.get(key) ?? []) {
      if (included.has(member.path.toString('latin1'))) continue;
      items.push({ kind: 'entry', entry: member });
      included.add(member.path.toString('latin1'));
    }
  }
  return items;
}
