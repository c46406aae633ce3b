// The in-memory model of one rootfs entry, shared by the walker, the store and the layer writer.

/** Kinds of filesystem entry a snapshot records. Sockets are never recorded. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo';

/** One extended attribute: its full name (with namespace) and its raw value. */
export interface Xattr {
  name: string;
  value: Buffer;
}

/**
 * Entry is everything a snapshot records of one path. Paths are raw bytes relative to the rootfs,
 * '/'-separated, without a leading slash; the rootfs directory itself has the empty path.
 */
export interface Entry {
  path: Buffer;
  type: EntryType;
  /** The 12 permission bits (07777): rwx for owner, group, other, setuid, setgid, sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time in nanoseconds since the Unix epoch. */
  mtimeNs: bigint;
  /** Content size in bytes of a regular file or symlink target; 0 otherwise. */
  size: number;
  /** Git blob id of the content (regular files) or of the target bytes (symlinks). */
  oid?: string;
  /** Symlink target bytes, as stored, never resolved. */
  target?: Buffer;
  /** Device numbers of a character or block device. */
  rdevMajor?: number;
  rdevMinor?: number;
  /** Extended attributes, sorted by name. */
  xattrs: Xattr[];
  /**
   * For a regular file that shares its inode with other recorded paths: the path of the set's first
   * member in byte order. Equal values mean the same inode. Undefined for a file with one recorded link.
   */
  linkTarget?: Buffer;
}
