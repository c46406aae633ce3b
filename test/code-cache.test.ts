// The CLI bundle and its V8 code cache, as `npm run build` (run once before the tests) leaves them.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const bundle = join(root, 'dist/cli/snap.cjs');
const loader = join(root, 'bin/load-bundle.cjs');

/** Loads the bundle in a new node process with the cache at `cache` and reports what V8 did with it. */
function load(cache: string): { offered: boolean; rejected?: boolean; main: string } {
  const script = `
    const { loadBundle } = require(${JSON.stringify(loader)});
    const { exports, script } = loadBundle(${JSON.stringify(bundle)}, ${JSON.stringify(cache)});
    console.log(JSON.stringify({ offered: script.cachedDataRejected !== undefined, rejected: script.cachedDataRejected, main: typeof exports.main }));`;
  const done = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  expect(done.stderr).toBe('');
  return JSON.parse(done.stdout);
}

describe('CLI bundle code cache', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'snap-code-cache-test-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is newer than the bundle and accepted', () => {
    expect(statSync(`${bundle}.cache`).mtimeMs).toBeGreaterThanOrEqual(statSync(bundle).mtimeMs);
    expect(load(`${bundle}.cache`)).toEqual({ offered: true, rejected: false, main: 'function' });
  });

  it('is not offered when older than the bundle', () => {
    const stale = join(scratch, 'stale.cache');
    copyFileSync(`${bundle}.cache`, stale);
    const before = new Date(statSync(bundle).mtimeMs - 60_000);
    utimesSync(stale, before, before);
    expect(load(stale)).toEqual({ offered: false, main: 'function' });
  });

  it('is optional: the bundle loads without one', () => {
    expect(load(join(scratch, 'missing.cache'))).toEqual({ offered: false, main: 'function' });
  });

  it('is skipped when it is not a readable file', () => {
    const directory = join(scratch, 'directory.cache');
    mkdirSync(directory);
    expect(load(directory)).toEqual({ offered: false, main: 'function' });
  });

  it('is rejected when made from other source', () => {
    const other = join(scratch, 'other.cache');
    const vmScript = `const vm = require('node:vm'); require('node:fs').writeFileSync(${JSON.stringify(other)}, new vm.Script('1 + 1').createCachedData());`;
    expect(spawnSync(process.execPath, ['-e', vmScript]).status).toBe(0);
    expect(load(other)).toEqual({ offered: true, rejected: true, main: 'function' });
  });
});
