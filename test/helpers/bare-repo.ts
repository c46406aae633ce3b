// A fresh bare Git repository for each test, for tests of the object store on its own.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';

/**
 * Creates a bare repository before each test of the calling file and removes it after. Returns a
 * function that gives the current test's git directory.
 */
export function useBareRepo(prefix: string): () => string {
  let gitdir = '';
  beforeEach(() => {
    gitdir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    execFileSync('git', ['init', '-q', '--bare', gitdir]);
  });
  afterEach(() => {
    fs.rmSync(gitdir, { recursive: true, force: true });
  });
  return () => gitdir;
}
