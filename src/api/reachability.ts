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

/**
 * Reports whether a branch, a tag or HEAD reaches `oid`. Used after a ref moved, to warn that a
 * commit is now findable only through the reflog.
 */
export async function reachableFromRefs(store: Store, oid: string): Promise<boolean> {
  const head = await store.refs.head();
  const tips = [...(await store.refs.list('refs/heads/')), ...(await store.refs.list('refs/tags/'))].map((ref) => ref.oid);
  if (head.oid) tips.push(head.oid);
  const seen = new Set<string>();
  const queue = [...tips];
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (next === oid) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    const commit = await readCommit(store, next).catch(() => undefined);
    if (commit) queue.push(...commit.parents);
  }
  return false;
}

/** The warning shown when a commit is left where only the reflog finds it. */
export function leftBehindWarning(oid: string): string {
  const short = oid.slice(0, 7);
  return `leaving commit ${short} behind: no branch or tag reaches it; keep it with 'snap branch NAME ${short}' (it stays in 'snap reflog' until then)`;
}
