// Loose object writes of the object store, with git cat-file as the judge.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashObject, ObjectStore } from '../src/store/objects.js';
import { useBareRepo } from './helpers/bare-repo.js';

const repo = useBareRepo('snap-objects-');

describe('loose object writes', () => {
  it('leave native temporary files alone', async () => {
    // The native hashFiles writes loose blobs through objects/xx/tmp_obj_PID_N with its own
    // counter, possibly at the same time in the same directory.
    const content = Buffer.from('a loose object\n');
    const oid = hashObject('blob', content);
    const dir = path.join(repo(), 'objects', oid.slice(0, 2));
    fs.mkdirSync(dir, { recursive: true });
    const planted = Array.from({ length: 300 }, (_, n) => path.join(dir, `tmp_obj_${process.pid}_${n + 1}`));
    for (const file of planted) fs.writeFileSync(file, 'native\n');

    expect(await new ObjectStore(repo()).write('blob', content)).toBe(oid);

    expect(execFileSync('git', ['--git-dir', repo(), 'cat-file', 'blob', oid]).equals(content)).toBe(true);
    for (const file of planted) expect(fs.readFileSync(file, 'utf8')).toBe('native\n');
  });

  it('skip names a killed process left', async () => {
    // In a PID namespace every snap can run as the same PID, so names a killed one left behind
    // come up again: both the JS writer's (objects/xx) and the native writer's (objects/).
    const small = Buffer.from('a small object\n');
    const oid = hashObject('blob', small);
    const dir = path.join(repo(), 'objects', oid.slice(0, 2));
    fs.mkdirSync(dir, { recursive: true });
    const objectsDir = path.join(repo(), 'objects');
    const left: string[] = [];
    for (let n = 1; n <= 300; n++) {
      left.push(path.join(dir, `tmp_obj_${process.pid}_js${n}`), path.join(objectsDir, `tmp_obj_${process.pid}_${n}`));
    }
    for (const file of left) fs.writeFileSync(file, 'left behind\n');
    const large = path.join(repo(), 'large-file');
    fs.writeFileSync(large, Buffer.alloc(3 * 1024 * 1024, 1));
    const objects = new ObjectStore(repo());

    expect(await objects.write('blob', small)).toBe(oid);
    const largeOid = await objects.writeFileBlob(Buffer.from(large), 3 * 1024 * 1024, true);

    expect(execFileSync('git', ['--git-dir', repo(), 'cat-file', 'blob', oid]).equals(small)).toBe(true);
    expect(execFileSync('git', ['--git-dir', repo(), 'cat-file', '-s', largeOid]).toString().trim()).toBe(String(3 * 1024 * 1024));
    for (const file of left) expect(fs.readFileSync(file, 'utf8')).toBe('left behind\n');
  });
});
