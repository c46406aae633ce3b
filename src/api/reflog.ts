// snap reflog: every position a ref (HEAD by default) has had, newest first, so that any commit
// the rootfs was on can be found again.

import { SnapError } from '../errors.js';
import type { Signature } from '../store/refs.js';
import { findRef } from '../store/revision.js';
import { openStore } from '../store/store.js';
import type { CommonOptions } from './common.js';

/** One reflog entry, newest first as `git reflog` shows them. */
export interface ReflogItem {
  /** How to name this entry as a revision: HEAD@{0}, main@{2}. */
  selector: string;
  /** Where the ref pointed after this entry. */
  oid: string;
  /** Where it pointed before (40 zeros when it did not exist). */
  old: string;
  who: Signature;
  message: string;
}

/** Options of reflog. */
export interface ReflogOptions extends CommonOptions {
  /** 'HEAD' (default), a branch or tag name, or a full refs/... name. */
  ref?: string;
  /** At most this many entries. */
  maxCount?: number;
}

/** Reads a reflog, newest first. Throws NOT_FOUND for an unknown ref. An empty log is an empty list. */
export async function reflog(options: ReflogOptions = {}): Promise<{ ref: string; entries: ReflogItem[] }> {
  const store = await openStore(options);
  const name = options.ref ?? 'HEAD';
  let ref = 'HEAD';
  if (name !== 'HEAD' && name !== '@') {
    const found = await findRef(store, name);
    if (!found) throw new SnapError('NOT_FOUND', `no branch or tag '${name}' (its reflog goes when it is deleted); run 'snap reflog' for HEAD's`);
    ref = found.ref;
  }
  const shortName = ref === 'HEAD' ? 'HEAD' : ref.replace(/^refs\/(heads|tags)\//, '');
  const lines = await store.refs.readLog(ref);
  const entries: ReflogItem[] = [];
  for (let i = lines.length - 1, n = 0; i >= 0; i--, n++) {
    if (options.maxCount !== undefined && entries.length >= options.maxCount) break;
    const line = lines[i];
    entries.push({ selector: `${shortName}@{${n}}`, oid: line.new, old: line.old, who: line.who, message: line.message });
  }
  return { ref, entries };
}
