// Tests of reading objects back from packs that snap writes, with git cat-file as the judge.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ObjectStore } from '../src/store/objects.js';
import { useBareRepo } from './helpers/bare-repo.js';

const repo = useBareRepo('snap-pack-');

/** Writes `contents` as blobs into one new pack and returns their ids. */
async function packBlobs(contents: Buffer[]): Promise<string[]> {
  const objects = new ObjectStore(repo());
  await objects.beginPack();
  const oids: string[] = [];
  for (const content of contents) oids.push(await objects.write('blob', content));
  await objects.finishPack();
  return oids;
}

function packFile(): string {
  const dir = path.join(repo(), 'objects', 'pack');
  return path.join(dir, fs.readdirSync(dir).find((name) => name.endsWith('.pack'))!);
}

describe('pack reader', () => {
  it.each([
    ['an empty', 0],
    ['a 100-byte', 100],
    ['an 8000-byte', 8000],
    ['a 20,000-byte', 20_000],
    ['a 2 MiB', 2 * 1024 * 1024],
  ])('reads %s blob as git does', async (_name, size) => {
    const content = Buffer.alloc(size);
    for (let i = 0; i < size; i++) content[i] = (i * 7919) % 251;
    const [oid] = await packBlobs([content]);

    const read = await new ObjectStore(repo()).readTyped(oid, 'blob');
    expect(read.equals(content)).toBe(true);
    expect(execFileSync('git', ['--git-dir', repo(), 'cat-file', 'blob', oid], { maxBuffer: 4 * size + 1024 }).equals(content)).toBe(true);
  });

  it('reads every blob of a pack', async () => {
    const contents = Array.from({ length: 50 }, (_, i) => Buffer.from(`blob ${i} `.repeat(i * 40)));
    const oids = await packBlobs(contents);

    const objects = new ObjectStore(repo());
    for (const [i, oid] of oids.entries()) {
      expect((await objects.readTyped(oid, 'blob')).equals(contents[i])).toBe(true);
    }
  });

  it('throws CORRUPT for a damaged entry', async () => {
    const content = Buffer.from('some content that deflates '.repeat(20));
    const [oid] = await packBlobs([content]);
    // The entry's zlib data starts after the 12-byte pack header and its own 2-byte header.
    const pack = packFile();
    const bytes = fs.readFileSync(pack);
    bytes[12 + 2 + 4] ^= 0xff;
    fs.chmodSync(pack, 0o644);
    fs.writeFileSync(pack, bytes);

    await expect(new ObjectStore(repo()).read(oid)).rejects.toMatchObject({ code: 'CORRUPT' });
  });
});
