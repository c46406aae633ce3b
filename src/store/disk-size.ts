// How many bytes an object takes on disk: a loose object's file size, or a packed object's span in
// its pack (as `git cat-file --batch-check='%(objectsize:disk)'` reports, deltas counted as stored).

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

/** DiskSizes answers object sizes on disk for one store, reading pack indexes once. */
export class DiskSizes {
  private packed: Map<string, number> | undefined;

  constructor(private readonly gitdir: string) {}

  /** Returns the bytes `oid` takes on disk, or undefined when the store does not hold it. */
  async size(oid: string): Promise<number | undefined> {
    try {
      return (await fsp.stat(join(this.gitdir, 'objects', oid.slice(0, 2), oid.slice(2)))).size;
    } catch {
      this.packed ??= await readPackSizes(join(this.gitdir, 'objects', 'pack'));
      return this.packed.get(oid);
    }
  }
}

/** Reads every version-2 pack index under `dir` and returns each object's byte span in its pack. */
async function readPackSizes(dir: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return sizes;
  }
  for (const name of names) {
    if (!name.endsWith('.idx')) continue;
    const idx = await fsp.readFile(join(dir, name));
    const packSize = (await fsp.stat(join(dir, name.replace(/\.idx$/, '.pack'))).catch(() => undefined))?.size;
    if (packSize === undefined || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) continue;
    const count = idx.readUInt32BE(8 + 255 * 4);
    const namesAt = 8 + 256 * 4;
    const offsetsAt = namesAt + count * 20 + count * 4;
    const largeAt = offsetsAt + count * 4;
    const objects: { oid: string; offset: number }[] = [];
    for (let i = 0; i < count; i++) {
      let offset = idx.readUInt32BE(offsetsAt + i * 4);
      if (offset & 0x80000000) offset = Number(idx.readBigUInt64BE(largeAt + (offset & 0x7fffffff) * 8));
      objects.push({ oid: idx.toString('hex', namesAt + i * 20, namesAt + i * 20 + 20), offset });
    }
    objects.sort((a, b) => a.offset - b.offset);
    for (let i = 0; i < objects.length; i++) {
      const end = i + 1 < objects.length ? objects[i + 1].offset : packSize - 20;
      sizes.set(objects[i].oid, end - objects[i].offset);
    }
  }
  return sizes;
}
