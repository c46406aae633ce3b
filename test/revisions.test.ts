// Revision names in snap log, snap diff and snap checkout, with git rev-parse as the judge: full
// and short ids, HEAD and @, ~N and ^ suffixes, branch names and tags.

import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Repo } from './helpers/repo.js';
import { run } from './helpers/snap.js';

interface JsonCommit {
  oid: string;
  parents: string[];
  message: string;
}

interface JsonChange {
  status: string;
  path: string;
  old?: { oid?: string };
  new?: { oid?: string };
}

// The history: commits c1 to c4 on main each write their number to `n`. Branch `feature` starts
// at c2 and has one more commit, f1. Tag `v1` (lightweight) is at c1, and `v2` (annotated) at c3.
let repo: Repo;
const ids: Record<string, string> = {};

beforeAll(async () => {
  repo = await Repo.createInProcess({ spec: { n: '1\n' } });
  ids.c1 = await repo.commitInProcess('c1');
  for (const n of [2, 3, 4]) {
    fs.writeFileSync(join(repo.rootfs, 'n'), `${n}\n`);
    ids[`c${n}`] = await repo.commitInProcess(`c${n}`);
  }
  repo.git(['branch', 'feature', ids.c2]);
  await repo.checkoutInProcess('feature');
  fs.writeFileSync(join(repo.rootfs, 'f'), 'feature\n');
  ids.f1 = await repo.commitInProcess('f1');
  await repo.checkoutInProcess('main');
  repo.git(['tag', 'v1', ids.c1]);
  repo.git(['tag', '-a', 'v2', '-m', 'annotated', ids.c3]);
});

afterAll(() => repo?.remove());

function logJson(args: string[]): JsonCommit[] {
  return JSON.parse(repo.ok(['log', '--json', ...args]));
}

describe('snap log', () => {
  it.each([
    'HEAD', '@', 'HEAD~0', 'HEAD~1', 'HEAD~3', 'HEAD^', 'HEAD^^', 'HEAD^1', 'HEAD~1^', 'main', 'main~2', 'feature', 'feature~1', 'feature^',
    'v1', 'v2', 'v2~1', 'refs/heads/main', 'refs/tags/v1',
  ])('starts at the commit git resolves %s to', async (revision) => {
    expect(logJson(['-n', '1', revision])[0]?.oid).toBe(repo.revParse(revision));
  });

  it.each([
    ['a full id', () => ids.c2],
    ['a 7-digit id', () => ids.c2.slice(0, 7)],
    ['a 12-digit id', () => ids.c3.slice(0, 12)],
  ])('starts at %s', async (_name, revision) => {
    const oid = revision();
    expect(logJson(['-n', '1', oid])[0]?.oid.startsWith(oid)).toBe(true);
  });

  it.each(['HEAD', 'main~1', 'feature', 'v2'])('lists the first-parent history of %s as git does', (revision) => {
    const expected = repo.git(['rev-list', '--first-parent', `${revision}^{commit}`]).trim().split('\n');
    expect(logJson([revision]).map((commit) => commit.oid)).toEqual(expected);
  });

  it('prints --oneline as a short id and the subject', async () => {
    const expected = repo.git(['log', '--first-parent', '--abbrev=7', '--format=%h %s', 'main']);
    expect(repo.ok(['log', '--oneline'])).toBe(expected.trim());
  });

  it('stops after -n snapshots', async () => {
    expect(logJson(['-n', '2']).map((commit) => commit.message.trim())).toEqual(['c4', 'c3']);
  });
});

describe('snap diff A B', () => {
  const nBlob = (revision: string) => repo.git(['rev-parse', `${revision}:rootfs/n`]).trim();

  it.each([
    ['HEAD~3', 'HEAD'],
    ['HEAD^', 'HEAD'],
    ['main~2', 'main'],
    ['v1', 'v2'],
    ['feature', 'main'],
  ])('compares %s with %s', async (from, to) => {
    const changes = JSON.parse(repo.ok(['diff', from, to, '--json'])).changes as JsonChange[];
    const n = changes.find((change) => change.path === 'n');

    expect(n?.status).toBe('M');
    expect(n?.old?.oid).toBe(nBlob(repo.revParse(from)));
    expect(n?.new?.oid).toBe(nBlob(repo.revParse(to)));
  });

  it('compares full and short ids', async () => {
    const full = JSON.parse(repo.ok(['diff', ids.c1, ids.c4, '--json'])).changes;
    const short = JSON.parse(repo.ok(['diff', ids.c1.slice(0, 7), ids.c4.slice(0, 8), '--json'])).changes;

    expect(short).toEqual(full);
    expect(full.map((change: JsonChange) => change.path)).toContain('n');
  });

  it('lists nothing between two names of one snapshot', async () => {
    const result = repo.snap(['diff', 'HEAD~2', ids.c2]);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
  });

  it('lists a file only on the branch as added', async () => {
    expect(repo.ok(['diff', 'main', 'feature'])).toContain('A\tf');
  });
});

describe('revision errors', () => {
  it.each([
    ['an unknown name', 'nope'],
    ['a suffix past the first snapshot', 'HEAD~9'],
    ['a second parent that does not exist', 'HEAD^2'],
    ['an unknown id', 'abcdef1234'],
  ])('reports %s with exit 1 and a hint', async (_name, revision) => {
    const result = repo.snap(['log', revision]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`'${revision}'`);
    expect(result.stderr).toContain("run 'snap log'");
  });

  it('names the whole malformed revision the user gave', async () => {
    const result = repo.snap(['diff', 'HEAD*~1']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("'HEAD*~1'");
  });
});

describe('checkout of an annotated tag', () => {
  it('points HEAD at the tagged commit, not the tag object', async () => {
    repo.ok(['checkout', 'v2']);
    const head = fs.readFileSync(join(repo.gitdir, 'HEAD'), 'utf8').trim();
    const type = repo.git(['cat-file', '-t', head]).trim();
    repo.ok(['checkout', 'main']);

    expect(type).toBe('commit');
    expect(head).toBe(ids.c3);
  });

  it('leaves a store that git fsck accepts after a commit on top', async () => {
    repo.ok(['checkout', 'v2']);
    fs.writeFileSync(join(repo.rootfs, 'on-tag'), 'x\n');
    repo.ok(['commit', '-m', 'on top of a tag']);
    const fsck = run('git', ['--git-dir', repo.gitdir, 'fsck', '--strict', '--no-dangling']);
    repo.ok(['checkout', '--force', 'main']);

    expect(fsck.stderr).toBe('');
    expect(fsck.code).toBe(0);
  });
});

describe('short ids in a packed store', () => {
  it('resolve as in a store of loose objects', async () => {
    const packed = await Repo.createInProcess({ spec: { n: '1\n' } });
    try {
      const first = await packed.commitInProcess('first');
      fs.writeFileSync(join(packed.rootfs, 'n'), '2\n');
      await packed.commitInProcess('second');
      packed.git(['repack', '-a', '-d', '-q']);
      packed.git(['prune-packed']);

      for (const length of [4, 5, 7, 39]) {
        const log = JSON.parse(packed.ok(['log', '-n', '1', '--json', first.slice(0, length)])) as JsonCommit[];
        expect(log[0].oid, `${length} digits`).toBe(first);
      }
    } finally {
      packed.remove();
    }
  });
});
