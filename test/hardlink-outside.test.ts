// Checkout leaves a file outside the rootfs alone when a file the snapshot records as a single link
// is linked to it. NOTE: a recorded hardlink set with one more link outside is not detected yet
// (src/tree/apply.ts), so its attributes change on both sides.

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
