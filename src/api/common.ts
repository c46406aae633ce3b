// Pieces shared by the library's operations: options every operation takes, and opening the store.

import type { StoreLocation } from '../store/store.js';

/** Options every operation on an existing store takes. */
export interface CommonOptions extends StoreLocation {
  /** Receives warnings (skipped sockets, mount points); the library never prints. */
  onWarning?: (message: string) => void;
  /** Receives progress of long work. */
  onProgress?: (progress: Progress) => void;
}

/** Progress of long work: a phase, a count done, and when known a total and bytes. */
export interface Progress {
  phase: string;
  done: number;
  total?: number;
  bytes?: number;
}
