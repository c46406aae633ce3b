// History and refs through the real `snap` program: log, tag, branch, checkout -b, reset, reflog
// and commit's identity options, each compared with what git itself prints or reads from the store
// (human output and --json), on a history with odd names, binary files, metadata-only changes and
// type changes.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimes } from '../src/native/index.js';
import { commit as commitInProcess, init } from '../src/index.js';
import { run, runOk, runSnap, type RunResult } from './helpers/snap.js';
import { at, file, makeTree, symlink, tempDir, type Spec } from './helpers/tree.js';

const T = 1_650_000_000_000_000_000n;
const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

/** A fixed identity, so ids and outputs do not depend on the machine. */
const WHO = { SNAP_AUTHOR_NAME: 'Test User', SNAP_AUTHOR_EMAIL: 'test@example.org' };
let clock = 1_700_000_000;

/** A rootfs and its store (inside it, or beside it with --store) in a fresh temp directory. */
class Repo {
  readonly base = tempDir();
  readonly rootfs = join(this.base, 'rootfs');
  readonly gitdir: string;
  private readonly storeArgs: string[];

  constructor(readonly external: boolean) {
    this.gitdir = external ? join(this.base, 'store') : join(this.rootfs, '.snap');
    this.storeArgs = external ? ['--store', this.gitdir] : [];
  }

  snap(args: string[], options: { env?: Record<string, string> } = {}): RunResult {
    return runSnap([...this.storeArgs, ...args], { cwd: this.rootfs, ...options });
  }

  /** Commits in-process (setup is many commits; a CLI start costs far more). */
  async commit(message: string): Promise<string> {
    return (await commitInProcess({ cwd: this.rootfs, store: this.external ? this.gitdir : undefined, message })).oid;
  }

  git(args: string[]): string {
    return runOk('git', ['--git-dir', this.gitdir, ...args]);
  }

  revParse(revision: string): string {
    return this.git(['rev-parse', '--verify', '--quiet', `${revision}^{commit}`]).trim();
  }
}

async function newRepo(spec?: Spec, externalStore = false): Promise<Repo> {
  const repo = new Repo(externalStore);
  cleanups.push(() => fs.rmSync(repo.base, { recursive: true, force: true }));
  fs.mkdirSync(repo.rootfs);
  if (spec) makeTree(repo.rootfs, spec);
  await init({ dir: repo.rootfs, store: externalStore ? repo.gitdir : undefined });
  return repo;
}

/** Runs snap with the fixed identity and the next second as SOURCE_DATE_EPOCH. */
function snap(repo: Repo, args: string[], env: Record<string, string> = {}): RunResult {
  clock += 1;
  return repo.snap(args, { env: { ...WHO, SOURCE_DATE_EPOCH: String(clock), ...env } });
}

function ok(repo: Repo, args: string[], env: Record<string, string> = {}): string {
  const result = snap(repo, args, env);
  if (result.code !== 0) throw new Error(`snap ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  return result.stdout;
}

function json<T = any>(repo: Repo, args: string[]): T {
  return JSON.parse(ok(repo, [...args, '--json'])) as T;
}

/** Commits in-process (setup is many commits; a CLI start costs far more) with the fixed identity. */
async function commit(repo: Repo, message: string): Promise<string> {
  clock += 1;
  Object.assign(process.env, WHO, { SOURCE_DATE_EPOCH: String(clock) });
  return repo.commit(message);
}

/** Sets every directory's mtime back to T, so that only the declared changes show. */
function settleDirs(root: string): void {
  const walk = (dir: Buffer): void => {
    for (const name of fs.readdirSync(dir, { encoding: 'buffer' })) {
      if (name.toString() === '.snap') continue;
      const path = Buffer.concat([dir, Buffer.from('/'), name]);
      if (fs.lstatSync(path).isDirectory()) walk(path);
    }
    setTimes(dir, T, T);
  };
  walk(Buffer.from(root));
}

/** Sums the on-disk sizes git reports for the objects C has and its parents do not. */
function gitAddedSize(repo: Repo, oid: string): { bytes: number; objects: number } {
  const oids = repo.git(['rev-list', '--objects', oid, '--not', `${oid}^@`]).split('\n').filter(Boolean).map((line) => line.slice(0, 40));
  const sizes = run('git', ['--git-dir', repo.gitdir, 'cat-file', '--batch-check=%(objectsize:disk)'], { input: oids.join('\n') + '\n' }).stdout;
  return { bytes: sizes.split('\n').filter(Boolean).reduce((sum, line) => sum + Number(line), 0), objects: oids.length };
}

const NON_UTF8 = Buffer.from([0x6e, 0xff, 0x6d, 0x65]);

// ---- one history shared by the read-only tests ----

let repo: Repo;
let c1: string;
let c2: string;
let c3: string;

beforeAll(async () => {
  repo = await newRepo([
    ['', { type: 'dir', mtime: T }],
    ['etc/passwd', file('root:x:0:0\n', { mtime: T })],
    ['etc/mode', file('mode\n', { mode: 0o644, mtime: T })],
    ['etc/kind', file('was a file\n', { mtime: T })],
    ['etc/gone', file('gone\n', { mtime: T })],
    ['bin/blob', file(Buffer.from([0, 1, 2, 3, 0xff, 0, 7]), { mtime: T })],
  ]);
  settleDirs(repo.rootfs);
  c1 = await commit(repo, 'base system');

  const p = (path: string) => join(repo.rootfs, path);
  fs.writeFileSync(p('bin/blob'), Buffer.from([0, 9, 9, 9, 0xfe, 0]));
  setTimes(at(repo.rootfs, 'bin/blob'), T, T);
  fs.chmodSync(p('etc/mode'), 0o600);
  fs.rmSync(p('etc/kind'));
  fs.symlinkSync('passwd', p('etc/kind'));
  fs.rmSync(p('etc/gone'));
  for (const name of [Buffer.from('with space'), Buffer.from('tab\there'), NON_UTF8, Buffer.from('quo"te\\back'), Buffer.from('ünïcode')]) {
    fs.writeFileSync(at(repo.rootfs, name), 'odd\n');
    setTimes(at(repo.rootfs, name), T, T);
  }
  setTimes(at(repo.rootfs, 'etc/kind'), T, T);
  settleDirs(repo.rootfs);
  c2 = await commit(repo, 'change every kind\n\nbinary, mode, type, odd names, a deletion');

  fs.writeFileSync(p('etc/passwd'), 'root:x:0:0\nphp:x:33:33\n');
  setTimes(at(repo.rootfs, 'etc/passwd'), T, T);
  c3 = await commit(repo, 'add php user');

  ok(repo, ['tag', 'v1', c1.slice(0, 7)]);
  ok(repo, ['tag', '-m', 'release two', 'v2', 'HEAD~1']);
  ok(repo, ['branch', 'dev', 'v1']);
});

describe('snap log', () => {
  const withoutSize = (text: string) => text.split('\n').filter((line) => !line.startsWith('Size:   ')).join('\n');

  const sameAsGit: { name: string; snap: string[]; git: string[] }[] = [
    { name: 'default format', snap: ['log'], git: ['log'] },
    { name: '--oneline', snap: ['log', '--oneline'], git: ['log', '--oneline'] },
    { name: '-n 2', snap: ['log', '-n', '2'], git: ['log', '-n', '2'] },
    { name: 'a revision', snap: ['log', '--oneline', 'HEAD~1'], git: ['log', '--oneline', 'HEAD~1'] },
    { name: 'A..B', snap: ['log', '--oneline', 'v1..HEAD'], git: ['log', '--oneline', 'v1..HEAD'] },
    { name: '..B', snap: ['log', '--oneline', 'HEAD~2..'], git: ['log', '--oneline', 'HEAD~2..'] },
    { name: '^A B', snap: ['log', '--oneline', '^HEAD~1', 'main'], git: ['log', '--oneline', '^HEAD~1', 'main'] },
    { name: '--all --decorate', snap: ['log', '--all', '--oneline', '--decorate'], git: ['log', '--all', '--oneline', '--decorate'] },
    { name: '--reverse', snap: ['log', '--oneline', '--reverse'], git: ['log', '--oneline', '--reverse'] },
  ];
  it.each(sameAsGit)('prints what git log prints: $name', async ({ snap: args, git }) => {
    expect(withoutSize(ok(repo, args))).toBe(repo.git(git));
  });

  it('adds a Size line after Date in the default format', async () => {
    const text = ok(repo, ['log', '-n', '1']);
    expect(text.split('\n')[3]).toMatch(/^Size: {3}\+\d+(\.\d)? (B|KiB) \(\d+ new objects?\)$/);
    expect(ok(repo, ['log', '-n', '1', '--no-size'])).toBe(repo.git(['log', '-n', '1']));
  });

  it('lists every kind of change with --name-status, odd names quoted as git quotes them', async () => {
    const text = ok(repo, ['log', '--oneline', '--name-status', '-n', '1', 'HEAD~1']);
    expect(text.split('\n')).toEqual([
      `${c2.slice(0, 7)} change every kind`,
      'M\tbin/blob',
      'D\tetc/gone',
      'T\tetc/kind',
      'm\tetc/mode',
      'A\t"n\\377me"',
      'A\t"quo\\"te\\\\back"',
      'A\t"tab\\there"',
      'A\twith space',
      'A\t"\\303\\274n\\303\\257code"',
      '',
    ]);
  });

  it('shows byte sizes with --stat, and the commit header first', async () => {
    const lines = ok(repo, ['log', '--stat', '-n', '1', 'HEAD~1']).split('\n');
    expect(lines[0]).toBe(`commit ${c2}`);
    expect(lines).toContain('    change every kind');
    expect(lines.find((line) => line.startsWith(' bin/blob'))).toMatch(/\| 7 -> 6 bytes/);
    expect(lines.some((line) => /^ 9 paths changed/.test(line))).toBe(true);
  });

  it('limits history to paths after --, and takes a path in the rootfs without --', async () => {
    const expected = [`${c3.slice(0, 7)} add php user`, `${c1.slice(0, 7)} base system`, ''].join('\n');
    expect(ok(repo, ['log', '--oneline', '--', 'etc/passwd'])).toBe(expected);
    expect(ok(repo, ['log', '--oneline', '--', '/etc/passwd'])).toBe(expected);
    expect(ok(repo, ['log', '--oneline', 'etc/passwd'])).toBe(expected);
    expect(ok(repo, ['log', '--oneline', '--', 'bin'])).toBe([`${c2.slice(0, 7)} change every kind`, `${c1.slice(0, 7)} base system`, ''].join('\n'));
    const wrong = snap(repo, ['log', 'no-such-thing']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/revision 'no-such-thing' not found: .*run 'snap log'.*put it after '--', like 'snap log -- no-such-thing'/);
  });

  it('prints JSON with signatures, refs, sizes and (with --name-status) changes keeping exact path bytes', async () => {
    const entries = json(repo, ['log', '--name-status']);
    expect(entries.map((e: any) => e.oid)).toEqual([c3, c2, c1]);
    const [e3, e2, e1] = entries;
    expect(e3.refs).toEqual(['HEAD', 'refs/heads/main']);
    expect(e2.refs).toEqual(['refs/tags/v2']);
    expect(e1.refs).toEqual(['refs/heads/dev', 'refs/tags/v1']);
    expect(e2.subject).toBe('change every kind');
    expect(e2.message).toBe('change every kind\n\nbinary, mode, type, odd names, a deletion\n');
    expect(e2.parents).toEqual([c1]);
    expect(e2.author).toMatchObject({ name: 'Test User', email: 'test@example.org', timezone: '+0000', timezoneOffset: 0 });
    expect(e2.author.date).toBe(new Date(e2.author.timestamp * 1000).toISOString().replace('.000Z', '+00:00'));
    const odd = e2.changes.find((c: any) => c.pathBase64 !== undefined);
    expect(Buffer.from(odd.pathBase64, 'base64')).toEqual(NON_UTF8);
    expect(e2.changes.find((c: any) => c.path === 'etc/kind')).toMatchObject({ status: 'T', old: { type: 'file' }, new: { type: 'symlink' } });
    expect(e2.changes.find((c: any) => c.path === 'etc/mode')).toMatchObject({ status: 'm', old: { mode: '0644' }, new: { mode: '0600' } });
    expect(e1.changes[0]).toMatchObject({ status: 'A', path: '' });
    expect(json(repo, ['log', '--oneline'])[0].size).toEqual(e3.size);
    expect(json(repo, ['log', '--no-size'])[0].size).toBeUndefined();
  });

  it('reports the size each snapshot adds to the store exactly as git counts it, loose and packed', async () => {
    const bySnap = () => Object.fromEntries(json(repo, ['log', '--all']).map((e: any) => [e.oid, e.size]));
    const loose = bySnap();
    for (const oid of [c1, c2, c3]) expect(loose[oid]).toEqual(gitAddedSize(repo, oid));

    const copy = await newRepo();
    fs.rmSync(copy.gitdir, { recursive: true });
    fs.cpSync(repo.gitdir, copy.gitdir, { recursive: true });
    copy.git(['repack', '-a', '-d', '-q']);
    copy.git(['prune-packed']);
    expect(fs.readdirSync(join(copy.gitdir, 'objects')).filter((name) => /^[0-9a-f]{2}$/.test(name))).toEqual([]);
    const packed = Object.fromEntries(json(copy, ['log', '--all']).map((e: any) => [e.oid, e.size]));
    for (const oid of [c1, c2, c3]) {
      expect(packed[oid]).toEqual(gitAddedSize(copy, oid));
      expect(packed[oid].bytes).not.toBe(loose[oid].bytes);
    }
  });

  it('refuses a bad count with exit 2 and a symmetric range with a hint', async () => {
    expect(snap(repo, ['log', '-n', 'x']).code).toBe(2);
    const sym = snap(repo, ['log', 'v1...main']);
    expect(sym.code).toBe(2);
    expect(sym.stderr).toMatch(/symmetric ranges.*'A\.\.B'/);
  });
});

describe('revisions', () => {
  const sameAsGit = [
    'HEAD', '@', 'HEAD~1', 'HEAD^', 'HEAD^1', '@~2', 'HEAD~1^', 'HEAD^0', 'main', 'v1', 'v2', 'v2^{}', 'v2^{commit}',
    'refs/tags/v2', 'tags/v2', 'refs/heads/dev', 'heads/dev', 'HEAD@{1}', 'main@{2}', '@{1}', 'v2~1',
  ];
  it.each(sameAsGit)('resolves %s as git rev-parse does', async (revision) => {
    expect(json(repo, ['log', '-n', '1', '--no-size', revision])[0].oid).toBe(repo.revParse(revision));
  });

  it('resolves full and abbreviated ids', async () => {
    for (const length of [40, 12, 7, 4]) expect(json(repo, ['log', '-n', '1', c2.slice(0, length)])[0].oid).toBe(c2);
  });

  const errors: { revision: string; code: number; message: RegExp }[] = [
    { revision: 'HEAD^2', code: 1, message: /revision 'HEAD\^2' not found: snapshot [0-9a-f]{7} has 1 parent, so \^2 does not exist/ },
    { revision: 'HEAD~9', code: 1, message: /revision 'HEAD~9' not found: history stops after 2 step\(s\) back/ },
    { revision: 'main@{99}', code: 1, message: /the reflog of refs\/heads\/main has \d+ entr/ },
    { revision: 'nosuch', code: 1, message: /revision 'nosuch' not found: no branch, tag or id has that name; run 'snap log'/ },
    { revision: 'a:b', code: 2, message: /'a:b' is neither a revision nor a path/ },
    { revision: 'main^{tree}', code: 2, message: /invalid revision 'main\^\{tree\}'/ },
  ];
  it.each(errors)('refuses $revision with exit $code and a one-line message', async ({ revision, code, message }) => {
    const result = snap(repo, ['log', '-n', '1', revision]);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('refuses an ambiguous short id, listing the candidates', async () => {
    const amb = await newRepo({ a: 'a' });
    const base = await commit(amb, 'base');
    const tree = amb.git(['rev-parse', 'HEAD^{tree}']).trim();
    // Two commit objects whose ids share 4 hex digits (and differ in the 5th), found by hashing.
    const seen = new Map<string, { oid: string; content: string }>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const content = `tree ${tree}\nparent ${base}\nauthor A <a@example.org> 1700000000 +0000\ncommitter A <a@example.org> 1700000000 +0000\n\nprobe ${i}\n`;
      const oid = createHash('sha1').update(`commit ${Buffer.byteLength(content)}\0${content}`).digest('hex');
      const other = seen.get(oid.slice(0, 4));
      if (other && other.oid[4] !== oid[4]) pair = [other.content, content];
      else if (!other) seen.set(oid.slice(0, 4), { oid, content });
    }
    const oids = pair.map((content) => run('git', ['--git-dir', amb.gitdir, 'hash-object', '-t', 'commit', '-w', '--stdin'], { input: content }).stdout.trim()).sort();
    const prefix = oids[0].slice(0, 4);

    const result = snap(amb, ['log', '-n', '1', prefix]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`short id '${prefix}' is ambiguous; candidates: ${oids[0].slice(0, 12)} "probe`);
    expect(result.stderr).toContain(oids[1].slice(0, 12));
    expect(result.stderr).toMatch(/give more digits/);
    expect(json(amb, ['log', '-n', '1', oids[1].slice(0, 5)])[0].oid).toBe(oids[1]);
  });
});

describe('snap tag', () => {
  const sameAsGit: { name: string; snap: string[]; git: string[] }[] = [
    { name: 'list', snap: ['tag'], git: ['tag'] },
    { name: '-l', snap: ['tag', '-l'], git: ['tag', '-l'] },
    { name: '-n', snap: ['tag', '-n'], git: ['tag', '-n'] },
    { name: '-l PATTERN', snap: ['tag', '-l', 'v[2-9]*'], git: ['tag', '-l', 'v[2-9]*'] },
  ];
  it.each(sameAsGit)('prints what git tag prints: $name', async ({ snap: args, git }) => {
    expect(ok(repo, args)).toBe(repo.git(git));
  });

  it('makes lightweight and annotated tags that git reads', async () => {
    expect(repo.git(['cat-file', '-t', 'v1']).trim()).toBe('commit');
    expect(repo.git(['cat-file', '-t', 'v2']).trim()).toBe('tag');
    expect(repo.git(['for-each-ref', '--format=%(taggername) %(taggeremail) %(contents:subject)', 'refs/tags/v2']).trim()).toBe('Test User <test@example.org> release two');
    expect(repo.revParse('v2')).toBe(c2);
  });

  it('lists tags as JSON', async () => {
    const { tags } = json(repo, ['tag']);
    expect(tags).toEqual([
      { name: 'v1', ref: 'refs/tags/v1', oid: c1, commit: c1, annotated: false, message: 'base system', tagger: null },
      expect.objectContaining({ name: 'v2', ref: 'refs/tags/v2', commit: c2, annotated: true, message: 'release two', tagger: expect.objectContaining({ name: 'Test User' }) }),
    ]);
    expect(tags[1].oid).toBe(repo.git(['rev-parse', 'refs/tags/v2']).trim());
  });

  it('creates, refuses a duplicate, moves with -f and deletes, as git prints', async () => {
    const r = await newRepo({ a: 'a' });
    const one = await commit(r, 'one');
    fs.writeFileSync(join(r.rootfs, 'b'), 'b');
    const two = await commit(r, 'two');
    expect(json(r, ['tag', 'x', 'HEAD~1'])).toMatchObject({ name: 'x', oid: one, commit: one, annotated: false, replaced: null });
    const dup = snap(r, ['tag', 'x']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/tag 'x' already exists \(at [0-9a-f]{7}\); use -f to move it/);
    expect(json(r, ['tag', '-f', 'x'])).toMatchObject({ commit: two, replaced: one });
    expect(ok(r, ['tag', '-d', 'x'])).toBe(`Deleted tag 'x' (was ${two.slice(0, 7)})\n`);
    expect(r.git(['tag'])).toBe('');
    expect(snap(r, ['tag', '-d', 'x']).code).toBe(1);
    const bad = snap(r, ['tag', 'bad..name']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'bad\.\.name' is not a valid tag name: it contains '\.\.'/);
    expect(snap(r, ['tag', '-a', 'y']).code).toBe(2);
    expect(r.git(['fsck', '--strict'])).toBe('');
  });
});

describe('snap branch', () => {
  const sameAsGit: { name: string; snap: string[]; git: string[] }[] = [
    { name: 'list', snap: ['branch'], git: ['branch'] },
    { name: '-v', snap: ['branch', '-v'], git: ['branch', '-v'] },
    { name: '--show-current', snap: ['branch', '--show-current'], git: ['branch', '--show-current'] },
  ];
  it.each(sameAsGit)('prints what git branch prints: $name', async ({ snap: args, git }) => {
    expect(ok(repo, args)).toBe(repo.git(git));
  });

  it('lists branches as JSON', async () => {
    expect(json(repo, ['branch'])).toEqual({
      current: 'main',
      head: c3,
      detached: false,
      branches: [
        { name: 'dev', ref: 'refs/heads/dev', oid: c1, current: false, subject: 'base system' },
        { name: 'main', ref: 'refs/heads/main', oid: c3, current: true, subject: 'add php user' },
      ],
    });
  });

  it('creates, renames with the reflog, and deletes as git does', async () => {
    const r = await newRepo({ a: 'a' });
    const one = await commit(r, 'one');
    fs.writeFileSync(join(r.rootfs, 'b'), 'b');
    const two = await commit(r, 'two');

    expect(json(r, ['branch', 'old', 'HEAD~1'])).toEqual({ name: 'old', ref: 'refs/heads/old', oid: one, subject: 'one', replaced: null });
    expect(snap(r, ['branch', 'old']).code).toBe(1);
    expect(snap(r, ['branch', 'HEAD']).code).toBe(2);
    expect(snap(r, ['branch', 'old/sub']).stderr).toMatch(/cannot be made while 'refs\/heads\/old' exists/);

    // -m of another branch keeps its reflog under the new name.
    expect(json(r, ['branch', '-m', 'old', 'older'])).toEqual({ renamed: { from: 'old', to: 'older', oid: one, current: false } });
    expect(r.git(['reflog', 'show', '--format=%gs', 'refs/heads/older']).split('\n').filter(Boolean)).toEqual([
      'Branch: renamed refs/heads/old to refs/heads/older',
      'branch: Created from HEAD~1',
    ]);
    expect(fs.existsSync(join(r.gitdir, 'logs/refs/heads/old'))).toBe(false);

    // -m NEW renames the current branch and moves HEAD with it.
    ok(r, ['branch', '-m', 'trunk']);
    expect(r.git(['symbolic-ref', 'HEAD']).trim()).toBe('refs/heads/trunk');
    expect(r.git(['reflog', 'show', '--format=%gs', 'trunk']).split('\n')[0]).toBe('Branch: renamed refs/heads/main to refs/heads/trunk');
    expect(ok(r, ['reflog', 'trunk']).split('\n')).toContain(`${two.slice(0, 7)} trunk@{1}: commit: two`);

    // -d refuses the current branch and an unmerged one; -D deletes it.
    expect(snap(r, ['branch', '-d', 'trunk']).stderr).toMatch(/cannot delete branch 'trunk': it is checked out/);
    ok(r, ['checkout', '-b', 'side', 'older']);
    fs.writeFileSync(join(r.rootfs, 'c'), 'c');
    const side = await commit(r, 'side work');
    ok(r, ['checkout', 'trunk']);
    const unmerged = snap(r, ['branch', '-d', 'side']);
    expect(unmerged.code).toBe(2);
    expect(unmerged.stderr).toMatch(/branch 'side' is not merged: .*use -D to delete it anyway/);
    expect(ok(r, ['branch', '-d', 'older'])).toBe(`Deleted branch older (was ${one.slice(0, 7)}).\n`);
    expect(ok(r, ['branch', '-D', 'side'])).toBe(`Deleted branch side (was ${side.slice(0, 7)}).\n`);
    expect(r.git(['branch'])).toBe('* trunk\n');
    expect(r.git(['fsck', '--strict'])).toBe('');
  });
});

describe('snap checkout -b', () => {
  it('creates a branch at HEAD keeping uncommitted changes, or at a revision, and logs both moves', async () => {
    const r = await newRepo({ a: 'a' });
    settleDirs(r.rootfs);
    const one = await commit(r, 'one');
    fs.writeFileSync(join(r.rootfs, 'b'), 'b');
    settleDirs(r.rootfs);
    const two = await commit(r, 'two');
    fs.writeFileSync(join(r.rootfs, 'dirty'), 'not committed');

    expect(json(r, ['checkout', '-b', 'here'])).toMatchObject({ oid: two, branch: 'here', created: 'here', changed: 0 });
    expect(fs.readFileSync(join(r.rootfs, 'dirty'), 'utf8')).toBe('not committed');
    expect(r.git(['symbolic-ref', 'HEAD']).trim()).toBe('refs/heads/here');

    const refused = snap(r, ['checkout', '-b', 'back', 'HEAD~1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/uncommitted changes \(.*A dirty/);
    expect(r.git(['branch', '--list', 'back'])).toBe('');

    fs.rmSync(join(r.rootfs, 'dirty'));
    settleDirs(r.rootfs);
    ok(r, ['checkout', '-b', 'back', 'HEAD~1']);
    expect(fs.existsSync(join(r.rootfs, 'b'))).toBe(false);
    expect(r.revParse('back')).toBe(one);
    expect(snap(r, ['checkout', '-b', 'back']).stderr).toMatch(/branch 'back' already exists; check it out with 'snap checkout back', or use -B/);
    ok(r, ['checkout', '-']);
    expect(r.git(['symbolic-ref', 'HEAD']).trim()).toBe('refs/heads/here');
    expect(r.git(['reflog', '--format=%gs']).split('\n').slice(0, 3)).toEqual([
      'checkout: moving from back to here',
      'checkout: moving from here to back',
      'checkout: moving from main to here',
    ]);
  });

  it('warns when it leaves a detached snapshot no branch reaches', async () => {
    const r = await newRepo({ a: 'a' });
    await commit(r, 'one');
    ok(r, ['checkout', 'HEAD~0']);
    fs.writeFileSync(join(r.rootfs, 'b'), 'b');
    const lost = await commit(r, 'detached work');
    const result = snap(r, ['checkout', '-b', 'elsewhere', 'main']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`warning: leaving commit ${lost.slice(0, 7)} behind: no branch or tag reaches it; keep it with 'snap branch NAME ${lost.slice(0, 7)}'`);
  });
});

describe('snap reset', () => {
  it('refuses --hard over uncommitted changes, then moves branch and rootfs with --force', async () => {
    const r = await newRepo({ a: 'a' });
    const one = await commit(r, 'one');
    fs.writeFileSync(join(r.rootfs, 'b'), 'b');
    const two = await commit(r, 'two');
    fs.writeFileSync(join(r.rootfs, 'a'), 'edited');

    const refused = snap(r, ['reset', '--hard', 'HEAD~1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: the rootfs has uncommitted changes \(M a\); commit them, or use --force to discard them\n$/);
    expect(r.revParse('main')).toBe(two);
    expect(fs.readFileSync(join(r.rootfs, 'a'), 'utf8')).toBe('edited');

    const result = json(r, ['reset', '--hard', '--force', 'HEAD~1']);
    expect(result).toMatchObject({ oid: one, from: two, branch: 'main', mode: 'hard' });
    expect(r.revParse('main')).toBe(one);
    expect(fs.readFileSync(join(r.rootfs, 'a'), 'utf8')).toBe('a');
    expect(fs.existsSync(join(r.rootfs, 'b'))).toBe(false);
    expect(r.revParse('ORIG_HEAD')).toBe(two);
    expect(JSON.parse(ok(r, ['status', '--json'])).changes).toEqual([]);
  });

  it('warns that a snapshot is left behind, and the reflog still lists every snapshot HEAD was on', async () => {
    const r = await newRepo({ a: 'a' });
    const one = await commit(r, 'one');
    fs.writeFileSync(join(r.rootfs, 'b'), 'b');
    const two = await commit(r, 'two');
    fs.writeFileSync(join(r.rootfs, 'c'), 'c');
    const three = await commit(r, 'three');

    const result = snap(r, ['reset', '--hard', one.slice(0, 8)]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`warning: leaving commit ${three.slice(0, 7)} behind`);
    fs.writeFileSync(join(r.rootfs, 'd'), 'd');
    const four = await commit(r, 'four');

    const human = ok(r, ['reflog']);
    expect(human).toBe(r.git(['reflog']));
    expect(human.split('\n').filter(Boolean)).toEqual([
      `${four.slice(0, 7)} HEAD@{0}: commit: four`,
      `${one.slice(0, 7)} HEAD@{1}: reset: moving to ${one.slice(0, 8)}`,
      `${three.slice(0, 7)} HEAD@{2}: commit: three`,
      `${two.slice(0, 7)} HEAD@{3}: commit: two`,
      `${one.slice(0, 7)} HEAD@{4}: commit (initial): one`,
    ]);
    const { ref, entries } = json(r, ['reflog']);
    expect(ref).toBe('HEAD');
    expect(new Set(entries.map((e: any) => e.oid))).toEqual(new Set([one, two, three, four]));
    expect(entries[1]).toMatchObject({ selector: 'HEAD@{1}', oid: one, old: three, message: `reset: moving to ${one.slice(0, 8)}`, who: { name: 'Test User' } });
    expect(ok(r, ['reflog', 'show', 'main', '-n', '1'])).toBe(r.git(['reflog', 'show', 'main', '-n', '1']));

    // A reflog selector brings the lost snapshot back.
    ok(r, ['branch', 'rescued', 'HEAD@{2}']);
    expect(r.revParse('rescued')).toBe(three);
    // --soft moves only the branch.
    expect(json(r, ['reset', '--soft', 'rescued'])).toMatchObject({ oid: three, from: four, mode: 'soft', changed: 0 });
    expect(fs.existsSync(join(r.rootfs, 'd'))).toBe(true);
    expect(JSON.parse(ok(r, ['status', '--json'])).changes.map((c: any) => c.path)).toContain('d');
    expect(snap(r, ['reset', '--hard', '--soft']).code).toBe(2);
    expect(r.git(['fsck', '--strict'])).toBe('');
  });
});

describe('snap commit identity', () => {
  it('takes --author and --date in git formats, as git reads them back', async () => {
    const r = await newRepo({ a: 'a' });
    const dates: [string, string][] = [
      ['@1700000000', '1700000000 +0000'],
      ['2024-01-31T12:00:00+01:00', '1706698800 +0100'],
      ['2024-01-31 12:00:00 -0430', '1706718600 -0430'],
      ['Wed, 31 Jan 2024 12:00:00 +0100', '1706698800 +0100'],
      ['1706698800 +0200', '1706698800 +0200'],
    ];
    for (const [date, raw] of dates) {
      ok(r, ['commit', '--allow-empty', '-m', date, '--author', 'Ada Lovelace <ada@example.org>', '--date', date]);
      expect(r.git(['log', '-1', '--format=%an|%ae|%ad|%cn', '--date=raw'])).toBe(`Ada Lovelace|ada@example.org|${raw}|Test User\n`);
    }
    const committed = json(r, ['commit', '--allow-empty', '-m', 'json', '--date', '@1700000001']);
    expect(committed).toMatchObject({
      branch: 'main', subject: 'json', message: 'json\n', amended: null,
      author: { name: 'Test User', email: 'test@example.org', timestamp: 1700000001, timezone: '+0000', date: '2023-11-14T22:13:21+00:00' },
    });
    expect(committed.oid).toBe(r.revParse('HEAD'));
    expect(committed.parent).toBe(r.revParse('HEAD~1'));

    const bad = snap(r, ['commit', '--allow-empty', '-m', 'x', '--date', 'yesterday-ish']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--date 'yesterday-ish' is not a date snap understands; use @SECONDS/);
    expect(snap(r, ['commit', '--allow-empty', '-m', 'x', '--author', 'nobody']).stderr).toMatch(/--author 'nobody' is not 'Name <email>'/);
    expect(snap(r, ['commit', '--allow-empty', '-m', 'x'], { SOURCE_DATE_EPOCH: 'soon' }).code).toBe(2);
  });

  it('uses the store config, then USER <USER@HOSTNAME>', async () => {
    const r = await newRepo({ a: 'a' });
    const unset = { SNAP_AUTHOR_NAME: '', SNAP_AUTHOR_EMAIL: '', GIT_AUTHOR_NAME: '', GIT_AUTHOR_EMAIL: '', GIT_COMMITTER_NAME: '', GIT_COMMITTER_EMAIL: '', USER: 'builder' };
    ok(r, ['commit', '-m', 'default'], unset);
    const host = run('hostname', []).stdout.trim();
    expect(r.git(['log', '-1', '--format=%an <%ae>|%cn <%ce>'])).toBe(`builder <builder@${host}>|builder <builder@${host}>\n`);
    r.git(['config', 'user.name', 'Store User']);
    r.git(['config', 'user.email', 'store@example.org']);
    ok(r, ['commit', '--allow-empty', '-m', 'config'], unset);
    expect(r.git(['log', '-1', '--format=%an <%ae>|%cn <%ce>'])).toBe('Store User <store@example.org>|Store User <store@example.org>\n');
    ok(r, ['commit', '--allow-empty', '-m', 'git env'], { ...unset, GIT_AUTHOR_NAME: 'Git Author', GIT_COMMITTER_EMAIL: 'c@example.org' });
    expect(r.git(['log', '-1', '--format=%an <%ae>|%cn <%ce>'])).toBe('Git Author <store@example.org>|Store User <c@example.org>\n');
  });

  it('gives identical ids for identical trees and messages under SOURCE_DATE_EPOCH', async () => {
    const spec: Spec = [['', { type: 'dir', mtime: T }], ['etc/hosts', file('127.0.0.1 localhost\n', { mtime: T })], ['link', symlink('etc/hosts', { mtime: T })]];
    const ids: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const r = await newRepo(spec, true);
      settleDirs(r.rootfs);
      const env = { SOURCE_DATE_EPOCH: '1700000000' };
      ok(r, ['commit', '-m', 'reproducible'], env);
      ok(r, ['commit', '--allow-empty', '-m', 'second'], env);
      ids.push([r.revParse('HEAD~1'), r.revParse('HEAD'), r.git(['log', '-1', '--format=%at %ct']).trim()]);
    }
    expect(ids[0]).toEqual(ids[1]);
    expect(ids[0][2]).toBe('1700000000 1700000000');
  });

  it('amends HEAD, keeping the message unless -m, and logs it as git does', async () => {
    const r = await newRepo({ a: 'a' });
    const one = await commit(r, 'one');
    fs.writeFileSync(join(r.rootfs, 'b'), 'b');
    const two = await commit(r, 'two');
    fs.writeFileSync(join(r.rootfs, 'c'), 'c');
    const amended = json(r, ['commit', '--amend']);
    expect(amended).toMatchObject({ subject: 'two', parents: [one], amended: two });
    expect(r.git(['reflog', '-1', '--format=%gs'])).toBe('commit (amend): two\n');
    expect(r.git(['ls-tree', '--name-only', 'HEAD:rootfs'])).toBe('a\nb\nc\n');
    expect(snap(r, ['commit']).stderr).toMatch(/required option '-m, --message <text>' not specified: snap opens no editor/);
  });
});

describe('the store after all of it', () => {
  it('passes git fsck --strict', async () => {
    expect(run('git', ['--git-dir', repo.gitdir, 'fsck', '--strict']).code).toBe(0);
    expect(repo.git(['fsck', '--strict', '--no-dangling'])).toBe('');
  });
});
