// Finding commits that no branch or tag reaches, so moving HEAD never loses one silently.

import type { Head } from '../store/refs.js';
import { readCommit } from '../store/revision.js';
import type { Store } from '../store/store.js';

/**
 * Returns the commit of a detached HEAD when no branch or tag reaches it (moving HEAD away would
 * leave it findable only through the reflog), else undefined.
 */
export async function unreachableHead(store: Store, head: Head): Promise<string | undefined> {
  if (head.branch !== undefined || !head.oid) return undefined;
  const tips = [...(await store.refs.list('refs/heads/')), ...(await store.refs.list('refs/tags/'))].map((ref) => ref.oid);
  const seen = new Set<string>();
  const queue = [...tips];
  while (queue.length > 0) {
    const oid = queue.pop()!;
    if (oid === head.oid) return undefined;
    if (seen.has(oid)) continue;
    seen.add(oid);
    const commit = await readCommit(store, oid).catch(() => undefined);
    if (commit) queue.push(...commit.parents);
  }
  return head.oid;
}
