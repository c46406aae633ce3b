// Mount points below a rootfs, from /proc/self/mountinfo. A bind mount of a directory of the same
// filesystem has the same st_dev as its parent, so comparing devices does not find it.

import * as fs from 'node:fs';

/**
 * Returns the mount points strictly below `root` (a directory), as paths relative to it in latin1
 * strings of their raw bytes. Returns an empty set where /proc/self/mountinfo cannot be read.
 */
export function mountPointsBelow(root: Buffer): Set<string> {
  const found = new Set<string>();
  let text: string;
  let real: Buffer;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'latin1');
    real = fs.realpathSync(root, { encoding: 'buffer' });
  } catch {
    return found;
  }
  const prefix = real.length === 1 ? '/' : `${real.toString('latin1')}/`;
  for (const line of text.split('\n')) {
    // Fields: mount ID, parent ID, major:minor, root, mount point, ...
    const field = line.split(' ')[4];
    if (field === undefined) continue;
    const mountPoint = unescapeMountinfo(field);
    if (mountPoint.length > prefix.length && mountPoint.startsWith(prefix)) found.add(mountPoint.slice(prefix.length));
  }
  return found;
}

/** Decodes the octal escapes (\040 for a space, \134 for a backslash) of a mountinfo path. */
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Returns the mount point (latin1) that the path `key` is, or lies below, or undefined. */
export function atOrBelowMount(key: string, mountPoints: Set<string>): string | undefined {
  if (mountPoints.size === 0) return undefined;
  for (let end = key.length; end > 0; end = key.lastIndexOf('/', end - 1)) {
    if (mountPoints.has(key.slice(0, end))) return key.slice(0, end);
  }
  return undefined;
}
