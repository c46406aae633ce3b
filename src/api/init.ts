// snap init: create a store for a rootfs.

import { initStore } from '../store/store.js';

/** Result of init. */
export interface InitResult {
  gitdir: string;
  rootfs: string;
}

/**
 * Creates a store for the rootfs `dir` (default: the working directory), at DIR/.snap or at
 * `store`. Atomic: a failed init leaves no store. Throws ALREADY_EXISTS or NOT_FOUND.
 */
export async function init(options: { dir?: string; store?: string } = {}): Promise<InitResult> {
  const store = await initStore(options.dir ?? process.cwd(), options.store);
  return { gitdir: store.gitdir, rootfs: store.rootfs };
}
