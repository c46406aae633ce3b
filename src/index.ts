// The library API of snap: Git-backed snapshots of root filesystems, with OCI layer export.

export { SnapError, isSnapError, type ErrorCode } from './errors.js';
export type { Entry, EntryType, Xattr } from './tree/entry.js';
export type { Change, ChangeStatus } from './store/diff.js';
export type { Commit } from './store/commit-object.js';
export type { Signature } from './store/refs.js';
export type { CommonOptions, Progress } from './api/common.js';
export { init, type InitResult } from './api/init.js';
export { commit, type CommitOptions, type CommitResult } from './api/commit.js';
export { status, type StatusOptions, type StatusResult } from './api/status.js';
export { diff, type DiffOptions } from './api/diff.js';
export { compare, changedFields, isBinary, type Comparison, type FilePatch, type ContentPatch, type Hunk, type Field, type PatchOptions } from './api/patch.js';
export { show, type ShowOptions, type ShowResult } from './api/show.js';
export { log, addedSize, type LogOptions, type LogEntry, type AddedSize } from './api/log.js';
export { createTag, deleteTags, listTags, type TagInfo, type CreateTagOptions, type CreateTagResult } from './api/tag.js';
export { listBranches, createBranch, deleteBranches, renameBranch, type BranchInfo, type BranchList, type CreateBranchOptions, type RenameBranchOptions } from './api/branch.js';
export { reset, type ResetOptions, type ResetResult } from './api/reset.js';
export { reflog, type ReflogItem, type ReflogOptions } from './api/reflog.js';
export { resolveRevision } from './store/revision.js';
export { parseDate } from './store/ident.js';
export { checkout, type CheckoutOptions, type CheckoutResult } from './api/checkout.js';
export { exportDiff, exportSnapshot, compressionForName, type ExportOptions, type ExportResult, type LayerOutput } from './api/export.js';
export { writeLayer, type LayerItem, type LayerResult, type Compression } from './oci/layer.js';
