// `snap status` for people (long and short) and for scripts (--porcelain, -z, --json), on a rootfs
// changed in every way snap distinguishes, with names that need quoting.

import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE, CHANGED, makeFixture, ODD_FF, type Fixture } from './cli-fixture.js';

let f: Fixture;
let A: string;

beforeAll(() => {
  f = makeFixture();
  A = f.ok(['commit', '-m', 'base']).trim();
  f.setState(CHANGED);
});

afterAll(() => f?.remove());

const LONG = `On branch main
Changes to be committed:
\tnew file:   -dash
\ttypechange: bin/sh (file -> symlink)
\tmodified:   bin/tool
\tmodified:   dev/tty9
\tmetadata:   etc/attr (xattrs)
\tdeleted:    etc/gone
\tmodified:   etc/hosts
\tmetadata:   etc/motd (mode, owner)
\tmetadata:   etc/touched (time)
\tmetadata:   hl1 (hardlink)
\tmetadata:   hl2 (hardlink)
\ttypechange: lib (directory -> file)
\tdeleted:    lib/a
\tmodified:   link
\tnew file:   "n\\377"
\tnew file:   "odd\\nname"

`;

const SHORT = `A  -dash
T  bin/sh
M  bin/tool
M  dev/tty9
m  etc/attr
D  etc/gone
M  etc/hosts
m  etc/motd
m  etc/touched
m  hl1
m  hl2
T  lib
D  lib/a
M  link
A  "n\\377"
A  "odd\\nname"
`;

const Z = SHORT.replace('"n\\377"', ODD_FF.toString('latin1')).replace('"odd\\nname"', 'odd\nname').replace(/\n(?=[ADMTm] |$)/g, '\0');

describe('snap status output', () => {
  it.each([
    ['long form, grouped as git groups staged changes', ['status'], LONG],
    ['--short', ['status', '--short'], SHORT],
    ['-s', ['status', '-s'], SHORT],
    ['--porcelain', ['status', '--porcelain'], SHORT],
    ['--porcelain=v1', ['status', '--porcelain=v1'], SHORT],
    ['--porcelain -b: a branch line first', ['status', '--porcelain', '-b'], `## main\n${SHORT}`],
    ['-z: NUL after each entry, names raw', ['status', '-z'], Z],
    ['paths after --', ['status', '--short', '--', 'etc/', 'lib'], 'm  etc/attr\nD  etc/gone\nM  etc/hosts\nm  etc/motd\nm  etc/touched\nT  lib\nD  lib/a\n'],
    ['paths without --, as git status takes them', ['status', '-s', 'bin'], 'T  bin/sh\nM  bin/tool\n'],
    ['a path that starts with a dash, after --', ['status', '-s', '--', '-dash'], 'A  -dash\n'],
    ['a path that matches nothing', ['status', '--', 'nowhere'], 'On branch main\nnothing to commit, rootfs clean\n'],
  ] as [string, string[], string][])('%s', (_name, args, expected) => {
    const result = f.snap(args);
    expect(result.code).toBe(0);
    expect(result.stdoutBytes.toString('latin1')).toBe(expected);
  });

  it('puts its hint on stderr, and -q silences it', () => {
    expect(f.snap(['status']).stderr).toMatch(/snap commit -m MESSAGE/);
    expect(f.snap(['-q', 'status']).stderr).toBe('');
    expect(f.snap(['status', '--porcelain']).stderr).toBe('');
  });

  it('colours short output only when asked, never porcelain', () => {
    const short = f.snap(['--color=always', 'status', '-s', '--', 'etc/gone', '-dash', 'etc/motd']).stdout;
    expect(short).toBe('\x1b[32mA\x1b[39m  -dash\n\x1b[31mD\x1b[39m  etc/gone\n\x1b[33mm\x1b[39m  etc/motd\n');
    expect(f.snap(['--color=always', 'status', '--porcelain', '--', 'etc/gone']).stdout).toBe('D  etc/gone\n');
  });

  it('gives --json with exact bytes for names that are not UTF-8', () => {
    const json = JSON.parse(f.snap(['status', '--json']).stdout) as {
      branch: string; head: string; changes: { status: string; path: string; pathBase64?: string; fields: string[] }[]; summary: Record<string, number>;
    };
    expect(json.branch).toBe('main');
    expect(json.head.startsWith(A)).toBe(true);
    expect(json.changes.map((c) => `${c.status} ${c.path}`)).toEqual(SHORT.replace('"n\\377"', 'n\ufffd').replace('"odd\\nname"', 'odd\nname').trimEnd().split(/\n(?=[ADMTm] )/).map((line) => line.replace('  ', ' ')));
    const odd = json.changes.find((c) => c.pathBase64 !== undefined)!;
    expect(Buffer.from(odd.pathBase64!, 'base64')).toEqual(ODD_FF);
    expect(json.changes.find((c) => c.path === 'etc/motd')!.fields).toEqual(['mode', 'owner']);
    expect(json.summary).toMatchObject({ paths: 16, added: 3, deleted: 2, modified: 4, typeChanged: 2, metadataOnly: 5 });
  });
});

describe('snap status in other states', () => {
  let g: Fixture;
  beforeAll(() => {
    g = makeFixture();
  });
  afterAll(() => g?.remove());

  it('before the first commit lists everything as new', () => {
    const result = g.snap(['status']);
    expect(result.stdout.startsWith('On branch main\n\nNo commits yet\n\nChanges to be committed:\n\tnew file:   .\n\tnew file:   bin/\n')).toBe(true);
    expect(result.stdout).toContain('\tnew file:   bin/tool\n');
    expect(g.snap(['status', '--porcelain', '-b']).stdout.split('\n').slice(0, 2)).toEqual(['## No commits yet on main', 'A  .']);
  });

  it('says the rootfs is clean after a commit', () => {
    g.ok(['commit', '-m', 'base']);
    expect(g.snap(['status']).stdout).toBe('On branch main\nnothing to commit, rootfs clean\n');
    expect(g.snap(['status', '--porcelain']).stdout).toBe('');
    expect(JSON.parse(g.snap(['status', '--json']).stdout).changes).toEqual([]);
  });

  it('names a detached HEAD', () => {
    g.setState(CHANGED);
    const second = g.ok(['commit', '-m', 'second']).trim();
    g.ok(['checkout', second]);
    expect(g.snap(['status']).stdout).toBe(`HEAD detached at ${second}\nnothing to commit, rootfs clean\n`);
    expect(g.snap(['status', '-s', '-b']).stdout).toBe('## HEAD (no branch)\n');
    g.setState(BASE);
    fs.writeFileSync(`${g.rootfs}/etc/hosts`, 'changed\n');
    expect(g.snap(['status', '-s', '--', 'etc/hosts']).stdout).toBe('M  etc/hosts\n');
  });
});
