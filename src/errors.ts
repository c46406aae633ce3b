// The one error type of snap: a stable code for callers and a message for people.

/** Stable error codes. Callers test the code, never the message text. */
export type ErrorCode =
  | 'USAGE'            // invalid arguments or option values
  | 'NOT_FOUND'        // a revision, path, store or ref does not exist
  | 'AMBIGUOUS'        // an abbreviated id matches several objects
  | 'ALREADY_EXISTS'   // a store, branch or tag exists already
  | 'NO_STORE'         // no store found for the current directory
  | 'DIRTY_TREE'       // the rootfs has uncommitted changes
  | 'NOTHING_TO_COMMIT'// the rootfs is unchanged since HEAD
  | 'UNSAFE_PATH'      // a path would escape the rootfs or pass through a symlink
  | 'INVALID_NAME'     // a file name that a layer cannot carry (a real file named .wh.*)
  | 'CORRUPT'          // the store holds an object or record snap cannot parse
  | 'UNSUPPORTED'      // a feature or object kind snap does not handle
  | 'LOCKED'           // another snap process holds a lock on the store
  | 'IO'               // a filesystem call failed
  | 'NATIVE'           // the native addon is missing or failed to load
  | 'INTERNAL';        // a bug in snap

/** SnapError is the only error type the library throws on purpose. */
export class SnapError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SnapError';
    this.code = code;
    this.data = options.data ?? {};
  }
}

/** Reports whether a value is a SnapError, optionally with the given code. */
export function isSnapError(value: unknown, code?: ErrorCode): value is SnapError {
  return value instanceof SnapError && (code === undefined || value.code === code);
}

/** Meaning and next step for the system error codes people meet most. */
const ERRNO_HINTS: Record<string, string> = {
  ENOENT: 'no such file or directory; check that the path and its parent directories exist',
  EACCES: 'permission denied; run snap as a user with access to the path, usually root for a rootfs and its store',
  EPERM: 'operation not permitted; run snap as root and check for immutable files with lsattr',
  ENOSPC: 'no space left on the device; free some space and run the command again',
  EDQUOT: 'disk quota exceeded; free some space and run the command again',
  EROFS: 'the filesystem is read-only; remount it read-write or choose another location',
  ENOTDIR: 'a component of the path is not a directory',
  EISDIR: 'the path is a directory; name a file',
  ENAMETOOLONG: 'the path is too long for the system',
};

/** Wraps a Node system error (ENOENT, EACCES, ...) on a path as an IO SnapError. */
export function ioError(action: string, path: Buffer | string, cause: unknown): SnapError {
  const shown = typeof path === 'string' ? path : showPath(path);
  const errno = (cause as NodeJS.ErrnoException | undefined)?.code ?? 'error';
  const hint = ERRNO_HINTS[errno];
  return new SnapError('IO', `${action} '${shown}' failed: ${errno}${hint ? ` (${hint})` : ''}`, { cause, data: { path: shown, errno } });
}

/** Renders path bytes for a message: UTF-8 where valid, \xNN escapes elsewhere. */
export function showPath(path: Buffer | string): string {
  if (typeof path === 'string') return path;
  let out = '';
  const text = path.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(path) && !/[\x00-\x1f\x7f]/.test(text)) return text;
  for (const byte of path) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}
