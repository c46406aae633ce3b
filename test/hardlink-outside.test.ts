// Checkout never changes a file outside the rootfs through a hardlink into it: neither for a file
// the snapshot records as a single link nor for a recorded hardlink set.

import { chmodSync, linkSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { snapOk } from './helpers/snap.js';

it('checkout leaves an outside hardlink alone', () => {
  const base = mkdtempSync(join(tmpdir(), 'snap-outside-link-'));
  const root = join(base, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(root, 'etc/x'), 'A\n');
  chmodSync(join(root, 'etc/x'), 0o600);
  snapOk(['init', root]);
  snapOk(['-C', root, 'commit', '-m', 'one']);
  chmodSync(join(root, 'etc/x'), 0o644);
  snapOk(['-C', root, 'commit', '-m', 'two']);
  writeFileSync(join(base, 'outside/host'), 'A\n');
  chmodSync(join(base, 'outside/host'), 0o644);
  rmSync(join(root, 'etc/x'));
  linkSync(join(base, 'outside/host'), join(root, 'etc/x'));

  snapOk(['-C', root, 'checkout', '-f', 'HEAD~1']);

  expect(statSync(join(base, 'outside/host')).mode & 0o7777).toBe(0o644);
  expect(statSync(join(root, 'etc/x')).mode & 0o7777).toBe(0o600);
  expect(statSync(join(root, 'etc/x')).nlink).toBe(1);
});

it('checkout leaves alone an outside link of a recorded hardlink set', () => {
  const base = mkdtempSync(join(tmpdir(), 'snap-outside-set-'));
  const root = join(base, 'root');
  mkdirSync(join(root, 'a'), { recursive: true });
  mkdirSync(join(root, 'c'));
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(root, 'a/h1'), 'x\n');
  chmodSync(join(root, 'a/h1'), 0o644);
  linkSync(join(root, 'a/h1'), join(root, 'c/h3'));
  snapOk(['init', root]);
  snapOk(['-C', root, 'commit', '-m', 'one']);
  chmodSync(join(root, 'a/h1'), 0o600);
  snapOk(['-C', root, 'commit', '-m', 'two']);
  snapOk(['-C', root, 'checkout', 'HEAD~1']);
  linkSync(join(root, 'a/h1'), join(base, 'outside/host'));

  snapOk(['-C', root, 'checkout', 'main']);

  expect(statSync(join(base, 'outside/host')).mode & 0o7777).toBe(0o644);
  expect(statSync(join(root, 'a/h1')).mode & 0o7777).toBe(0o600);
  expect(statSync(join(root, 'c/h3')).ino).toBe(statSync(join(root, 'a/h1')).ino);
  expect(statSync(join(root, 'a/h1')).nlink).toBe(2);
  expect(snapOk(['-C', root, 'status', '--porcelain'])).toBe('');
  rmSync(base, { recursive: true, force: true });
});
