// The store survives the commands that rewrite the rootfs, and snap never guesses a rootfs.

import { mkdirSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pathBelow } from '../src/store/store.js';
import { fingerprint } from './helpers/judge.js';
import { runOk, runSnap, snapOk } from './helpers/snap.js';

function workdir(): string {
  return mkdtempSync(join(tmpdir(), 'snap-store-safety-'));
}

describe('store inside the rootfs', () => {
  it('refuses a checkout that would remove it', () => {
    const base = workdir();
    const root = join(base, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc/a'), 'a\n');
    snapOk(['--store', join(base, 'store'), 'init', root]);
    const env = { SNAP_STORE: join(base, 'store') };
    snapOk(['-C', root, 'commit', '-m', 'one'], { env });
    mkdirSync(join(root, 'var/lib'), { recursive: true });
    snapOk(['-C', root, 'commit', '-m', 'two'], { env });
    renameSync(join(base, 'store'), join(root, 'var/lib/snap'));
    const inside = { SNAP_STORE: join(root, 'var/lib/snap') };
    snapOk(['-C', root, 'commit', '-m', 'three'], { env: inside });
    const before = fingerprint(join(root, 'var/lib/snap'));

    const result = runSnap(['-C', root, 'checkout', 'HEAD~2'], { env: inside });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain("'var'");
    expect(result.stderr).toContain('contains the store');
    expect(fingerprint(join(root, 'var/lib/snap'))).toEqual(before);
    expect(snapOk(['-C', root, 'log', '--oneline'], { env: inside }).split('\n').filter(Boolean)).toHaveLength(3);
  });
});

describe('store without a recorded rootfs', () => {
  it('is refused instead of guessed', () => {
    const base = workdir();
    const root = join(base, 'root');
    mkdirSync(root);
    writeFileSync(join(root, 'f'), 'f\n');
    snapOk(['init', root]);
    snapOk(['-C', root, 'commit', '-m', 'one']);
    runOk('git', ['clone', '-q', '--bare', join(root, '.snap'), join(base, 'web.git')]);
    mkdirSync(join(base, 'keep'));
    writeFileSync(join(base, 'keep/data'), 'keep\n');

    const result = runSnap(['--store', join(base, 'web.git'), 'checkout', '-f', 'main'], { cwd: join(base, 'keep') });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('records no rootfs');
    expect(result.stderr).toContain('snap.rootfs');
    expect(readdirSync(join(base, 'keep'))).toEqual(['data']);
  });
});

describe('pathBelow', () => {
  it.each([
    ['/r', '/r/a', 'a'],
    ['/r', '/r/..a', '..a'],
    ['/r', '/r/a/..b/c', 'a/..b/c'],
    ['/r', '/r', undefined],
    ['/r', '/r/..', undefined],
    ['/r', '/rx/a', undefined],
    ['/r', '/a', undefined],
  ])('places %s and %s', (dir, path, expected) => {
    expect(pathBelow(dir, path)).toBe(expected);
  });
});
