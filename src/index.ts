// The library API of snap: Git-backed snapshots of root filesystems, with OCI layer export.

export { SnapError, isSnapError, type ErrorCode } from './errors.js';
export type { Entry, EntryType, Xattr } from './tree/entry.js';
export type { Change, ChangeStatus } from './store/diff.js';
export type { Commit } from './store/commit-object.js';
export type { Signature } from './store/refs.js';
export type { CommonOptions, Progress } from './api/common.js';
export { init, type InitResult } from './api/init.js';
export { commit, type CommitOptions, type CommitResult } from './api/commit.js';
export { status, type StatusResult } from './api/status.js';
export { diff, type DiffOptions } from './api/diff.js';
export { log, type LogOptions } from './api/log.js';
export { checkout, type CheckoutOptions, type CheckoutResult } from './api/checkout.js';
export { exportDiff, exportSnapshot, compressionForName, type ExportOptions, type ExportResult, type LayerOutput } from './api/export.js';
export { writeLayer, type LayerItem, type LayerResult, type Compression } from './oci/layer.js';
