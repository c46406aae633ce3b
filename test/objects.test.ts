// Loose object writes of the object store, with git cat-file as the judge.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashObject, ObjectStore } from '../src/store/objects.js';

let gitdir: string;

beforeEach(() => {
  gitdir = fs.mkdtempSync(path.join(os.tmpdir(), 'snap-objects-'));
  execFileSync('git', ['init', '-q', '--bare', gitdir]);
});

afterEach(() => {
  fs.rmSync(gitdir, { recursive: true, force: true });
});

describe('loose object writes', () => {
  it('leave temporary files of the native writer alone', async () => {
    // The native hashFiles writes loose blobs through objects/xx/tmp_obj_PID_N with its own
    // counter, possibly at the same time in the same directory.
    const content = Buffer.from('a loose object\n');
    const oid = hashObject('blob', content);
    const dir = path.join(gitdir, 'objects', oid.slice(0, 2));
    fs.mkdirSync(dir, { recursive: true });
    const planted = Array.from({ length: 300 }, (_, n) => path.join(dir, `tmp_obj_${process.pid}_${n + 1}`));
    for (const file of planted) fs.writeFileSync(file, 'native\n');

    expect(await new ObjectStore(gitdir).write('blob', content)).toBe(oid);

    expect(execFileSync('git', ['--git-dir', gitdir, 'cat-file', 'blob', oid]).equals(content)).toBe(true);
    for (const file of planted) expect(fs.readFileSync(file, 'utf8')).toBe('native\n');
  });
});
