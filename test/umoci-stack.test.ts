// Layers that snap writes, read back by umoci: a full export and the diff layers of a short
// history, stacked into an image and unpacked, reproduce each committed tree exactly (modes,
// owners, nanosecond mtimes, xattrs, devices, FIFOs, symlinks, hardlinks).

import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeXattr, setTimes, setXattr } from '../src/native/index.js';
import { treeState, unpackLayers, type TreeState } from './helpers/judge.js';
import { Repo } from './helpers/repo.js';
import { has } from './helpers/snap.js';
import { at, device, dir, fifo, file, hardlink, makeTree, setAttrs, symlink, type Spec } from './helpers/tree.js';

const T1 = 1_650_000_000_123_456_789n;
const T2 = 1_600_000_000_000_000_001n;
const T3 = 1_700_000_000_999_999_999n;
const CAPABILITY = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, ...new Array(12).fill(0)]);

const first: Spec = [
  ['', dir({ mode: 0o755, mtime: T1 })],
  ['bin', dir({ mtime: T2 })],
  ['bin/ping', file('#!/bin/true\n', { mode: 0o4755, mtime: T1, xattrs: { 'security.capability': CAPABILITY } })],
  ['bin/sh', symlink('dash', { mtime: T2, xattrs: { 'trusted.link': 'on-the-link' } })],
  ['bin/dash', file('dash\n', { mode: 0o755, mtime: T3 })],
  ['bin/rdash', hardlink('bin/dash')],
  ['etc', dir({ mode: 0o755, mtime: T1, xattrs: { 'user.dir': 'etc' } })],
  ['etc/passwd', file('root:x:0:0::/root:/bin/sh\n', { mtime: T2 })],
  ['etc/shadow', file('root:*::\n', { mode: 0o640, gid: 42, mtime: T1 })],
  ['etc/binary-xattr', file('b', { xattrs: { 'user.bin': Buffer.from([0, 0xff, 0, 1]), 'trusted.t': 'tv' }, mtime: T3 })],
  ['dev', dir({ mtime: T1 })],
  ['dev/null', device('char', 1, 3, { mode: 0o666, mtime: T2 })],
  ['dev/sda', device('block', 8, 0, { mode: 0o660, gid: 6, mtime: T3 })],
  ['run/initctl', fifo({ mode: 0o600, mtime: T1 })],
  ['tmp', dir({ mode: 0o1777, mtime: T2 })],
  ['home/user', dir({ mode: 0o700, uid: 1000, gid: 1000, mtime: T3 })],
  ['home/user/notes', file('mine\n', { mode: 0o600, uid: 1000, gid: 1000, mtime: T1 })],
  ['srv/empty', dir({ mode: 0o2750, gid: 50, mtime: T1 })],
  ['var/cache/apt/pkgcache.bin', file('cache', { mtime: T2 })],
];

describe.skipIf(!has('umoci'))('umoci reads back snap layers', () => {
  let repo: Repo;
  const ids: string[] = [];
  const states: TreeState[] = [];

  beforeAll(async () => {
    repo = await Repo.createInProcess({ spec: first, externalStore: true });
    const p = (path: string) => at(repo.rootfs, path);
    const record = async (message: string) => {
      for (const path of ['', 'bin', 'etc', 'dev', 'var']) if (fs.existsSync(p(path))) setTimes(p(path), T1, T1);
      states.push(treeState(repo.rootfs));
      ids.push(await repo.commitInProcess(message));
    };
    await record('first');

    fs.writeFileSync(p('etc/passwd'), 'root:x:0:0::/root:/bin/bash\n');
    setTimes(p('etc/passwd'), T3, T3);
    setAttrs(p('etc/shadow'), { mode: 0o600, uid: 5, gid: 5 });
    setXattr(p('etc/binary-xattr'), 'user.bin', Buffer.from([1, 2, 3]));
    removeXattr(p('etc/binary-xattr'), 'trusted.t');
    fs.rmSync(p('bin/sh'));
    fs.writeFileSync(p('bin/sh'), '#!/bin/dash\n');
    setAttrs(p('bin/sh'), { mode: 0o755, mtime: T2 });
    fs.rmSync(p('dev/null'));
    makeTree(repo.rootfs, { 'dev/null': device('char', 1, 5, { mode: 0o666, mtime: T1 }), 'dev/tty1': device('char', 4, 1, { mode: 0o620, gid: 5 }) });
    fs.rmSync(p('var/cache'), { recursive: true });
    await record('second');

    fs.rmSync(p('home'), { recursive: true });
    fs.rmSync(p('bin/rdash'));
    makeTree(repo.rootfs, { 'bin/ping2': hardlink('bin/ping'), 'var/cache': file('now a file', { mtime: T2 }), 'etc/new': file('new', { uid: 1234, gid: 5678, mtime: T3 }) });
    setAttrs(p('bin/ping'), { xattrs: { 'security.capability': CAPABILITY }, mode: 0o4755, mtime: T1 });
    await record('third');

    repo.ok(['export', ids[0], '-o', repo.file('layer0.tar')]);
    repo.ok(['diff', ids[0], ids[1], '--export', repo.file('layer1.tar')]);
    repo.ok(['diff', ids[1], ids[2], '--export', repo.file('layer2.tar')]);
  });

  afterAll(() => repo?.remove());

  it.each([
    ['the first snapshot from its export', 1],
    ['the second snapshot from export and one diff', 2],
    ['the third snapshot from export and two diffs', 3],
  ])('unpacks %s', async (_name, count) => {
    const layers = [0, 1, 2].slice(0, count).map((i) => repo.file(`layer${i}.tar`));

    const state = treeState(unpackLayers(join(repo.base, `umoci-${count}`), layers));

    const expected = states[count - 1];
    expect(state.mtree).toEqual(expected.mtree);
    expect(state.xattrs).toEqual(expected.xattrs);
    expect(state.links).toEqual(expected.links);
  });

  it('unpacks a whole-snapshot export of the last snapshot alone', async () => {
    repo.ok(['export', ids[2], '-o', repo.file('full2.tar')]);

    const state = treeState(unpackLayers(join(repo.base, 'umoci-full'), [repo.file('full2.tar')]));

    expect(state.mtree).toEqual(states[2].mtree);
    expect(state.xattrs).toEqual(states[2].xattrs);
    expect(state.links).toEqual(states[2].links);
  });
});
