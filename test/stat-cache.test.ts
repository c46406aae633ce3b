// The stat cache: after a commit, files whose stat is unchanged are not read again by status or
// commit, and a file rewritten with the same size and mtime is still caught.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkout, status, type Progress } from '../src/index.js';
import { readDirTable, setTimes, toStatInfos } from '../src/native/index.js';
import { isRacy, racyNames, StatCache } from '../src/store/stat-cache.js';
import { openStore } from '../src/store/store.js';
import { captureWorktree, refreshStatCache } from '../src/store/worktree.js';
import { Repo } from './helpers/repo.js';
import { at, file } from './helpers/tree.js';

const T = 1_650_000_000_123_456_789n;

// The cache does not trust a path whose ctime or mtime lies within a short window before the scan
// that recorded it (RACY_WINDOW_NS in src/store/stat-cache.ts), because a change in the same
// timestamp tick could go unseen. A freshly made tree is that new, so the tests wait longer than
// the widest window, one second, before the commit that fills the cache.
const RACY_WAIT_MS = 1100;

interface CommitJson {
  oid: string;
  filesRead: number;
  bytesRead: number;
}

/** Runs status through the library and returns how many files it read, from its progress reports. */
async function filesReadByStatus(repo: Repo): Promise<number> {
  let read = 0;
  await status({
    cwd: repo.rootfs,
    onProgress: (progress: Progress) => {
      if (progress.phase === 'content') read = Math.max(read, progress.done);
    },
  });
  return read;
}

describe('stat cache', () => {
  let repo: Repo;
  let first: CommitJson;

  beforeAll(async () => {
    repo = await Repo.createInProcess({
      spec: {
        'etc/a': file('alpha\n', { mtime: T }),
        'etc/b': file('bravo\n', { mtime: T }),
        same: file('abc', { mtime: T }),
        big: file(Buffer.alloc(2 * 1024 * 1024, 7), { mtime: T }),
      },
    });
    await sleep(RACY_WAIT_MS);
    first = JSON.parse(repo.ok(['commit', '--json', '-m', 'fill the cache']));
  });

  afterAll(() => repo?.remove());

  it('lets the first commit read every file', async () => {
    expect(first.filesRead).toBe(4);
  });

  it('lets a second commit read no file', async () => {
    const second = JSON.parse(repo.ok(['commit', '--json', '--allow-empty', '-m', 'unchanged'])) as CommitJson;

    expect(second.filesRead).toBe(0);
    expect(second.bytesRead).toBe(0);
  });

  it('lets status read no file', async () => {
    expect(await filesReadByStatus(repo)).toBe(0);
  });

  it('catches a file rewritten with the same size and mtime', async () => {
    fs.writeFileSync(join(repo.rootfs, 'same'), 'xyz');
    setTimes(at(repo.rootfs, 'same'), T, T);

    const changes = JSON.parse(repo.ok(['status', '--json'])).changes as { status: string; path: string }[];
    const read = await filesReadByStatus(repo);
    const committed = JSON.parse(repo.ok(['commit', '--json', '-m', 'rewritten'])) as CommitJson;

    expect(changes.map((change) => [change.status, change.path])).toEqual([['M', 'same']]);
    expect(read).toBe(1);
    expect(committed.filesRead).toBe(1);
    expect(repo.git(['show', 'HEAD:rootfs/same'])).toBe('xyz');
  });

  it('catches a large file changed in place with size and mtime restored', async () => {
    const big = fs.readFileSync(join(repo.rootfs, 'big'));
    big[1_500_000] = 8;
    fs.writeFileSync(join(repo.rootfs, 'big'), big);
    setTimes(at(repo.rootfs, 'big'), T, T);

    const changes = JSON.parse(repo.ok(['status', '--json'])).changes as { status: string; path: string }[];
    repo.ok(['commit', '-m', 'big changed']);

    expect(changes.map((change) => [change.status, change.path])).toEqual([['M', 'big']]);
    const stored = repo.git(['rev-parse', 'HEAD:rootfs/big']).trim();
    expect(repo.git(['hash-object', join(repo.rootfs, 'big')]).trim()).toBe(stored);
  });
});

describe('stat cache with racy entries', () => {
  let repo: Repo;

  beforeAll(async () => {
    // An mtime in the future is always within the racy window, so d/b is never trusted.
    const future = BigInt(Date.now() + 3_600_000) * 1_000_000n;
    repo = await Repo.createInProcess({ spec: { 'd/a': file('alpha\n', { mtime: T }), 'd/b': file('bravo\n', { mtime: future }) } });
    repo.ok(['commit', '-m', 'with a racy file']);
  });

  afterAll(() => repo?.remove());

  it('reads a racy file again beside a changed one', async () => {
    fs.writeFileSync(join(repo.rootfs, 'd/a'), 'ALPHA\n');

    const committed = JSON.parse(repo.ok(['commit', '--json', '-m', 'one changed'])) as CommitJson;

    expect(committed.filesRead).toBe(2);
    expect(repo.git(['show', 'HEAD:rootfs/d/a'])).toBe('ALPHA\n');
    expect(repo.git(['show', 'HEAD:rootfs/d/b'])).toBe('bravo\n');
  });
});

describe('stat cache file', () => {
  let repo: Repo;

  beforeAll(async () => {
    repo = await Repo.createInProcess({
      spec: {
        'etc/a': file('alpha\n', { mtime: T }),
        'usr/lib/b': file('bravo\n', { mtime: T }),
        c: file('charlie\n', { mtime: T }),
      },
    });
    await sleep(RACY_WAIT_MS);
    repo.ok(['commit', '-m', 'fill the cache']);
  });

  afterAll(() => repo?.remove());

  it.each([
    ['cut short', (raw: Buffer) => raw.subarray(0, raw.length - 9)],
    ['cut inside its header', (raw: Buffer) => raw.subarray(0, 20)],
    ['of another format', (raw: Buffer) => Buffer.concat([Buffer.from('junk'), raw])],
  ])('is ignored when %s', async (_what, damage) => {
    const index = join(repo.gitdir, 'snap-index');
    const saved = fs.readFileSync(index);
    fs.writeFileSync(index, damage(saved));

    const read = await filesReadByStatus(repo);
    const changes = JSON.parse(repo.ok(['status', '--json'])).changes as unknown[];
    // The first status saved a fresh cache in place of the damaged one.
    const readAfter = await filesReadByStatus(repo);
    fs.writeFileSync(index, saved);

    expect(changes).toEqual([]);
    expect(read).toBe(3);
    expect(readAfter).toBe(0);
    expect(await filesReadByStatus(repo)).toBe(0);
  });

  it('warns and commits when the cache cannot be saved', async () => {
    const index = join(repo.gitdir, 'snap-index');
    const saved = fs.readFileSync(index);
    fs.rmSync(index);
    fs.mkdirSync(index);
    fs.writeFileSync(join(repo.rootfs, 'c'), 'CHARLIE\n');

    const result = repo.snap(['commit', '-m', 'cache in the way']);
    fs.rmSync(index, { recursive: true });
    fs.writeFileSync(index, saved);
    fs.writeFileSync(join(repo.rootfs, 'c'), 'charlie\n');
    repo.ok(['commit', '-m', 'back']);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('warning: the stat cache was not saved (');
    expect(repo.git(['show', 'HEAD~1:rootfs/c'])).toBe('CHARLIE\n');
  });

  it.each([
    ['a FIFO', (index: string) => execFileSync('mkfifo', [index])],
    ['a symlink to /dev/zero', (index: string) => fs.symlinkSync('/dev/zero', index)],
  ])('is ignored and replaced when it is %s', async (_what, make) => {
    const index = join(repo.gitdir, 'snap-index');
    const saved = fs.readFileSync(index);
    fs.rmSync(index);
    make(index);

    const read = await filesReadByStatus(repo);
    const committed = repo.snap(['commit', '--allow-empty', '-m', 'cache replaced']);
    const isFile = fs.lstatSync(index).isFile();
    fs.rmSync(index);
    fs.writeFileSync(index, saved);

    expect(read).toBe(3);
    expect(committed.code, committed.stderr).toBe(0);
    expect(isFile).toBe(true);
  });

  it('catches a file added to a cached directory', async () => {
    fs.writeFileSync(join(repo.rootfs, 'usr/lib/new'), 'new\n');

    const changes = JSON.parse(repo.ok(['status', '--json'])).changes as { status: string; path: string }[];
    fs.rmSync(join(repo.rootfs, 'usr/lib/new'));

    // The directory's mtime changed with the new entry, hence its metadata change.
    expect(changes.map((change) => [change.status, change.path])).toEqual([
      ['m', 'usr/lib'],
      ['A', 'usr/lib/new'],
    ]);
  });

  it('catches a cached directory replaced by a symlink to a directory', async () => {
    fs.renameSync(join(repo.rootfs, 'usr/lib'), join(repo.rootfs, 'lib-moved'));
    fs.symlinkSync('../lib-moved', join(repo.rootfs, 'usr/lib'));

    const changes = JSON.parse(repo.ok(['status', '--json'])).changes as { status: string; path: string }[];
    fs.rmSync(join(repo.rootfs, 'usr/lib'));
    fs.renameSync(join(repo.rootfs, 'lib-moved'), join(repo.rootfs, 'usr/lib'));

    expect(changes.map((change) => [change.status, change.path])).toEqual([
      ['m', ''],
      ['A', 'lib-moved'],
      ['A', 'lib-moved/b'],
      ['m', 'usr'],
      ['T', 'usr/lib'],
      ['D', 'usr/lib/b'],
    ]);
  });
});

describe('stat cache after checkout', () => {
  let repo: Repo;
  let a: string;

  beforeAll(async () => {
    repo = await Repo.createInProcess({
      spec: {
        'etc/a': file('alpha\n', { mtime: T }),
        'etc/keep': file('keep\n', { mtime: T, mode: 0o644 }),
        'usr/lib/deep/x': file('x\n', { mtime: T }),
        'var/gone/y': file('y\n', { mtime: T }),
      },
    });
    a = await repo.commitInProcess('A');
    fs.writeFileSync(join(repo.rootfs, 'etc/a'), 'ALPHA\n');
    fs.chmodSync(join(repo.rootfs, 'etc/keep'), 0o600);
    fs.mkdirSync(join(repo.rootfs, 'usr/lib/deep/added'));
    fs.writeFileSync(join(repo.rootfs, 'usr/lib/deep/added/z'), 'z\n');
    fs.rmSync(join(repo.rootfs, 'var/gone'), { recursive: true });
    await repo.commitInProcess('B');
    await repo.checkoutInProcess(a);
  });

  afterAll(() => repo?.remove());

  it('records the target ids of changed directories', async () => {
    const cache = await StatCache.load(repo.gitdir);

    for (const path of ['', 'etc', 'usr', 'usr/lib', 'usr/lib/deep', 'var', 'var/gone']) {
      const treeId = repo.git(['rev-parse', `${a}:rootfs${path ? `/${path}` : ''}`]).trim();
      expect(cache.dir(Buffer.from(path))?.rootfsOid, path).toBe(treeId);
    }
  });

  it('drops records of removed directories', async () => {
    const cache = await StatCache.load(repo.gitdir);

    expect(cache.dir(Buffer.from('usr/lib/deep/added'))).toBeUndefined();
  });

  it('lets a commit record the checked-out tree', async () => {
    await sleep(RACY_WAIT_MS);

    repo.ok(['commit', '--allow-empty', '-m', 'unchanged']);

    expect(repo.git(['rev-parse', 'HEAD^{tree}'])).toBe(repo.git(['rev-parse', `${a}^{tree}`]));
  });

  it('catches a checked-out file rewritten with the same size and mtime', async () => {
    fs.writeFileSync(join(repo.rootfs, 'etc/a'), 'ALPHA\n');
    setTimes(at(repo.rootfs, 'etc/a'), T, T);

    const changes = JSON.parse(repo.ok(['status', '--json'])).changes as { status: string; path: string }[];

    expect(changes.map((change) => [change.status, change.path])).toEqual([['M', 'etc/a']]);
  });
});

describe('racyNames', () => {
  it('picks the entries isRacy picks', () => {
    const dir = fs.mkdtempSync('/tmp/snap-racy-');
    // A scan start 10.5 s from now, so the files' ctimes (now) are old and their mtimes decide.
    const second = (BigInt(Date.now()) / 1000n + 10n) * 1_000_000_000n;
    const scanStartNs = second + 500_000_000n;
    const cases: [string, bigint, boolean][] = [
      ['old', scanStartNs - 5_000_000_000n, false],
      ['inside-window', scanStartNs - 10_000_000n, true],
      ['after-start', scanStartNs + 1n, true],
      // A whole-second mtime with a ctime that is not whole seconds gets the 50 ms window.
      ['whole-second', second, false],
    ];
    for (const [name, mtimeNs] of cases) {
      fs.writeFileSync(join(dir, name), name);
      setTimes(Buffer.from(join(dir, name)), mtimeNs, mtimeNs);
    }
    const table = readDirTable(Buffer.from(dir));
    const byIsRacy = toStatInfos(table).filter((info) => isRacy(info, scanStartNs)).map((info) => info.name.toString('latin1')).sort();

    expect(racyNames(table, scanStartNs).sort()).toEqual(byIsRacy);
    expect(byIsRacy).toEqual(cases.filter(([, , racy]) => racy).map(([name]) => name).sort());
    fs.rmSync(dir, { recursive: true });
  });
});

/** Replaces the rootfs with a copy of itself (cp -a): the same tree, with new inodes and ctimes. */
function copyInPlace(repo: Repo): void {
  execFileSync('cp', ['-a', repo.rootfs, `${repo.rootfs}.copy`]);
  fs.rmSync(repo.rootfs, { recursive: true });
  fs.renameSync(`${repo.rootfs}.copy`, repo.rootfs);
}

describe('stat cache refresh', () => {
  let repo: Repo;
  let a: string;

  beforeAll(async () => {
    repo = await Repo.createInProcess({
      spec: {
        'etc/a': file('alpha\n', { mtime: T }),
        'etc/b': file('bravo\n', { mtime: T }),
        'usr/lib/c': file('charlie\n', { mtime: T }),
        d: file('delta\n', { mtime: T }),
      },
    });
    a = await repo.commitInProcess('A');
    fs.writeFileSync(join(repo.rootfs, 'usr/lib/c'), 'CHARLIE\n');
    await repo.commitInProcess('B');
  });

  afterAll(() => repo?.remove());

  /** Copies the rootfs in place, then waits until its new ctimes are too old to be racy. */
  async function copied(): Promise<void> {
    copyInPlace(repo);
    await sleep(RACY_WAIT_MS);
  }

  it('reads a copied rootfs once in status', async () => {
    await copied();

    expect(await filesReadByStatus(repo)).toBe(4);
    expect(await filesReadByStatus(repo)).toBe(0);
  });

  it('reads a copied rootfs once in diff', async () => {
    await copied();

    expect(repo.ok(['diff', '--stat'])).toBe('');
    expect(await filesReadByStatus(repo)).toBe(0);
  });

  it('reads a copied rootfs once in a checkout of HEAD', async () => {
    await copied();

    repo.ok(['checkout', 'main']);

    expect(await filesReadByStatus(repo)).toBe(0);
  });

  it('records directories a checkout left alone', async () => {
    await copied();

    repo.ok(['checkout', a]);
    const cache = await StatCache.load(repo.gitdir);
    repo.ok(['checkout', 'main']);

    // The checkout did not change etc, so its record has a's ids and the copy's stat table.
    const etc = cache.dir(Buffer.from('etc'));
    expect(etc?.rootfsOid).toBe(repo.git(['rev-parse', `${a}:rootfs/etc`]).trim());
    expect(etc && toStatInfos(etc.table!).map((info) => info.ino).sort()).toEqual(
      toStatInfos(readDirTable(Buffer.from(join(repo.rootfs, 'etc')))).map((info) => info.ino).sort(),
    );
  });

  it('skips directories with unstored trees', async () => {
    await copied();
    fs.writeFileSync(join(repo.rootfs, 'etc/a'), 'ALPHA\n');
    await sleep(RACY_WAIT_MS);

    expect(await filesReadByStatus(repo)).toBe(4);
    const cache = await StatCache.load(repo.gitdir);
    const committed = JSON.parse(repo.ok(['commit', '--json', '-m', 'C'])) as CommitJson;

    // usr/lib is unchanged and stored, so status refreshed it. etc and the root changed, so it did not.
    expect(cache.dir(Buffer.from('usr/lib'))?.rootfsOid).toBe(repo.git(['rev-parse', 'main~1:rootfs/usr/lib']).trim());
    expect(cache.dir(Buffer.from('etc'))?.rootfsOid).toBe(repo.git(['rev-parse', 'main~1:rootfs/etc']).trim());
    expect(committed.filesRead).toBe(3);
    expect(repo.git(['show', 'HEAD:rootfs/etc/a'])).toBe('ALPHA\n');
    expect(() => repo.git(['fsck', '--strict', '--no-dangling'])).not.toThrow();
  });

  it('keeps hardlink sets whole in the next commit', async () => {
    const linked = await Repo.createInProcess({ spec: { 'x/a': file('c\n', { mtime: T }), 'y/o': file('o\n', { mtime: T }) } });
    try {
      fs.linkSync(join(linked.rootfs, 'x/a'), join(linked.rootfs, 'y/b'));
      await linked.commitInProcess('linked');
      copyInPlace(linked);
      fs.writeFileSync(join(linked.rootfs, 'y/new'), 'n\n');
      await sleep(RACY_WAIT_MS);

      // y changed, so its trees are not stored. x's trees are, and x contains a member of the set.
      await filesReadByStatus(linked);
      linked.ok(['commit', '-m', 'new file']);

      expect(linked.git(['show', 'HEAD:meta/y/.snap-meta'])).toMatch(/^b f .* link=x\/a$/m);
      expect(linked.git(['show', 'HEAD:meta/x/.snap-meta'])).toMatch(/^a f .* link=x\/a$/m);
    } finally {
      linked.remove();
    }
  });

  it('skips the save while the store is locked', async () => {
    await copied();
    const lock = join(repo.gitdir, 'snap.lock');
    fs.writeFileSync(lock, '1\n');

    try {
      expect(await filesReadByStatus(repo)).toBe(4);
      expect(await filesReadByStatus(repo)).toBe(4);
    } finally {
      fs.rmSync(lock);
    }
    expect(await filesReadByStatus(repo)).toBe(4);
    expect(await filesReadByStatus(repo)).toBe(0);
  });

  it('skips the save after a newer save', async () => {
    await copied();
    const store = await openStore({ cwd: repo.rootfs });
    const capture = await captureWorktree(store, { write: false });
    repo.ok(['commit', '--allow-empty', '-m', 'saves the cache']);
    const saved = fs.readFileSync(join(repo.gitdir, 'snap-index'));

    expect(await refreshStatCache(store, capture)).toBe(false);
    expect(fs.readFileSync(join(repo.gitdir, 'snap-index')).equals(saved)).toBe(true);
  });
});

describe('stat cache after a checkout changed under it', () => {
  let repo: Repo;
  let a: string;

  beforeAll(async () => {
    repo = await Repo.createInProcess({
      spec: {
        'd/first': file('one\n', { mtime: T }),
        'd/kept': file('kept\n', { mtime: T }),
        'd/last': file('two\n', { mtime: T }),
      },
    });
    a = await repo.commitInProcess('A');
    fs.writeFileSync(join(repo.rootfs, 'd/first'), 'ONE\n');
    fs.writeFileSync(join(repo.rootfs, 'd/last'), 'TWO\n');
    await repo.commitInProcess('B');
    await sleep(RACY_WAIT_MS);
  });

  afterAll(() => repo?.remove());

  /** Rewrites a file with other bytes of the same size and its old mtime, as a concurrent writer could. */
  function rewrite(name: string, content: string): void {
    const path = join(repo.rootfs, name);
    const mtime = fs.lstatSync(path, { bigint: true }).mtimeNs;
    fs.writeFileSync(path, content);
    setTimes(at(repo.rootfs, name), mtime, mtime);
  }

  it('distrusts files changed during the checkout', async () => {
    // The checkout reports progress after each file it writes: d/first, then d/last. Between
    // them another writer changes d/first, which the checkout wrote, and d/kept, which it did not.
    await checkout({
      cwd: repo.rootfs,
      revision: a,
      onProgress: (progress: Progress) => {
        if (progress.phase === 'checkout' && progress.done === 1) {
          rewrite('d/first', 'XXX\n');
          rewrite('d/kept', 'KEPT\n');
          // The checkout goes on past the racy window after the rewrites, as a larger one would.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RACY_WAIT_MS);
        }
      },
    });
    await sleep(RACY_WAIT_MS);

    const changes = JSON.parse(repo.ok(['status', '--json'])).changes as { status: string; path: string }[];

    expect(changes.map((change) => [change.status, change.path])).toEqual([
      ['M', 'd/first'],
      ['M', 'd/kept'],
    ]);
  });
});
