// `snap show`: the commit header and message, then the changes against the first parent, for
// people and as JSON, on a history with odd names, binary files, metadata and type changes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANGED, makeFixture, normalizeIds, ODD_FF, type Fixture } from './cli-fixture.js';

let f: Fixture;
let ids: Record<string, string>;

beforeAll(() => {
  f = makeFixture();
  const A = f.ok(['commit', '-m', 'base system']).trim();
  f.setState(CHANGED);
  const B = f.ok(['commit', '-m', 'second\n\nWith a body.']).trim();
  ids = { A, B };
});

afterAll(() => f?.remove());

function argv(args: string[]): string[] {
  return args.map((arg) => arg.replace(/<(A|B)>/g, (_, name: string) => ids[name]));
}

/** Replaces full commit ids in output by <A> and <B>: every id a test compares is a full one. */
function normalize(text: string): string {
  return normalizeIds(text.replace(/\b[0-9a-f]{40}\b/g, (id) => {
    const name = Object.entries(ids).find(([, short]) => id.startsWith(short))?.[0];
    return name ? `<${name}>` : id;
  }), {});
}

const HEADER_B = `commit <B>
Author: Test User <test@example.com>
Date:   Tue Nov 14 22:13:20 2023 +0000

    second
${'    '}
    With a body.
`;

const LIST_B = `A\t-dash
T\tbin/sh
M\tbin/tool
M\tdev/tty9
m\tetc/attr
D\tetc/gone
M\tetc/hosts
m\tetc/motd
m\tetc/touched
m\thl1
m\thl2
T\tlib
D\tlib/a
M\tlink
A\t"n\\377"
A\t"odd\\nname"
`;

describe('snap show output', () => {
  it.each([
    ['HEAD by default: header, message, changed paths', ['show'], `${HEADER_B}\n${LIST_B}`],
    ['a revision', ['show', '<B>'], `${HEADER_B}\n${LIST_B}`],
    ['-s: header and message only', ['show', '-s', 'HEAD'], HEADER_B],
    ['--name-only with paths after --', ['show', '--name-only', 'HEAD', '--', 'etc/motd', 'lib'], `${HEADER_B}\netc/motd\nlib\nlib/a\n`],
    ['--stat', ['show', '--stat', '<B>', '--', 'etc/hosts', 'etc/touched'], `${HEADER_B}\n etc/hosts   | 34 -> 60 bytes\n etc/touched | metadata (time)\n 2 paths changed, 1 modified, 1 metadata only, +26 bytes\n`],
    ['-p: patches for text, metadata and binary', ['show', '-p', '<B>', '--', 'etc/hosts', 'etc/motd', 'bin/tool', 'bin/sh'], `${HEADER_B}
diff --snap a/bin/sh b/bin/sh
old type file
new type symlink
old mode 0755
new mode 0777
new target dash
index 98975b2..0000000
--- a/bin/sh
+++ /dev/null
@@ -1 +0,0 @@
-#!/bin/false
diff --snap a/bin/tool b/bin/tool
index a2b1602..8534039
Binary files a/bin/tool and b/bin/tool differ (8 -> 9 bytes)
diff --snap a/etc/hosts b/etc/hosts
index 77c24a1..5f29d0d
--- a/etc/hosts
+++ b/etc/hosts
@@ -1,2 +1,3 @@
 127.0.0.1 localhost
-::1 localhost
+::1 localhost ip6-localhost
+10.0.0.1 db
diff --snap a/etc/motd b/etc/motd
old mode 0644
new mode 0600
old owner 0:0
new owner 1000:100
`],
    ['-z: names raw and NUL-separated', ['show', '-z', '--name-only', '<B>', '--', 'odd\nname', '-dash'], `${HEADER_B}\n-dash\0odd\nname\0`],
    ['the first snapshot: everything added', ['show', '<A>', '--', 'etc'], `commit <A>
Author: Test User <test@example.com>
Date:   Tue Nov 14 22:13:20 2023 +0000

    base system

A\tetc
A\tetc/attr
A\tetc/gone
A\tetc/hosts
A\tetc/motd
A\tetc/touched
`],
    ['a commit with no change below the paths', ['show', '<B>', '--', 'nowhere'], HEADER_B],
  ] as [string, string[], string][])('%s', (_name, args, expected) => {
    const result = f.snap(argv(args));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(normalize(result.stdoutBytes.toString('latin1'))).toBe(expected);
  });

  it('shows the first snapshot with every path a patch can show', () => {
    const result = f.snap(argv(['show', '-p', '<A>', '--', 'link', 'dev/tty9', 'hl2', 'etc/hosts']));
    expect(normalize(result.stdout)).toBe(`commit <A>
Author: Test User <test@example.com>
Date:   Tue Nov 14 22:13:20 2023 +0000

    base system

diff --snap a/dev/tty9 b/dev/tty9
new char device mode 0620
new owner 0:0
new device 4:9
diff --snap a/etc/hosts b/etc/hosts
new file mode 0644
new owner 0:0
index 0000000..77c24a1
--- /dev/null
+++ b/etc/hosts
@@ -0,0 +1,2 @@
+127.0.0.1 localhost
+::1 localhost
diff --snap a/hl2 b/hl2
new file mode 0644
new owner 0:0
new hardlink set hl1
index 0000000..8a205e8
--- /dev/null
+++ b/hl2
@@ -0,0 +1 @@
+shared
diff --snap a/link b/link
new symlink mode 0777
new owner 0:0
new target etc/hosts
`);
  });

  it.each([
    ['a file as it was', ['show', '<A>:etc/hosts'], '127.0.0.1 localhost\n::1 localhost\n'],
    ['a binary file, byte for byte', ['show', 'HEAD:bin/tool'], '\x7fELF\0\x09\x09\x09\x09'],
    ['a directory: its entries, directories with a slash', ['show', '<A>:'], 'tree <A>:\n\nbin/\ndev/\netc/\nhl1\nhl2\nlib/\nlink\n'],
    ['a directory below the top, names quoted', ['show', 'HEAD:.'], 'tree HEAD:\n\n-dash\nbin/\ndev/\netc/\nhl1\nhl2\nlib\nlink\n"n\\377"\n"odd\\nname"\n'],
    ['a symlink: its target', ['show', 'HEAD:link'], 'etc/motd\n'],
    ['a device: type, numbers, mode, owner', ['show', '<A>:dev/tty9'], 'char device 4:9, mode 0620, owner 0:0\n'],
    ['HEAD when the revision is empty', [':etc/motd'].map((arg) => arg), 'welcome\n'],
  ] as [string, string[], string][])('REVISION:PATH shows %s', (_name, args, expected) => {
    const result = f.snap(argv(args[0].startsWith(':') ? ['show', ...args] : args));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdoutBytes.toString('latin1')).toBe(expected.replace('<A>', ids.A));
  });

  it('REVISION:PATH as JSON carries the entry and the exact content', () => {
    const json = JSON.parse(f.snap(['show', '--json', 'HEAD:bin/tool']).stdout);
    expect(json.path).toBe('bin/tool');
    expect(json.entry).toMatchObject({ type: 'file', mode: '0755', size: 9 });
    expect(Buffer.from(json.contentBase64, 'base64')).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 9, 9, 9, 9]));
    const dir = JSON.parse(f.snap(['show', '--json', 'HEAD:etc']).stdout);
    expect(dir.children.map((c: { name: string }) => c.name)).toEqual(['attr', 'hosts', 'motd', 'touched']);
    expect(dir.children[0]).toMatchObject({ path: 'etc/attr', entry: { type: 'file' } });
  });

  it.each([
    ['an unknown revision', ['show', 'nosuch'], 1, /revision 'nosuch' not found/],
    ['a path not in the snapshot', ['show', 'HEAD:etc/nothing'], 1, /path 'etc\/nothing' is not in HEAD; list what is there with 'snap show HEAD:etc'/],
    ['two revisions', ['show', '<A>', '<B>'], 2, /too many revisions at '.*'; put paths after '--'/],
  ] as [string, string[], number, RegExp][])('refuses %s with one line', (_name, args, code, message) => {
    const result = f.snap(argv(args));
    expect(result.code).toBe(code);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('snap show --json', () => {
  it('has the commit, both sides, the changes and a summary', () => {
    const json = JSON.parse(f.snap(['show', '--json']).stdout);
    expect(json.commit).toMatchObject({
      parents: [expect.stringMatching(new RegExp(`^${ids.A}`))],
      author: { name: 'Test User', email: 'test@example.com', timestamp: 1700000000 },
      message: 'second\n\nWith a body.\n',
    });
    expect(json.commit.oid.startsWith(ids.B)).toBe(true);
    expect(json.from).toBe(json.commit.parents[0]);
    expect(json.to).toBe(json.commit.oid);
    expect(json.changes).toHaveLength(16);
    const odd = json.changes.find((c: { pathBase64?: string }) => c.pathBase64);
    expect(Buffer.from(odd.pathBase64, 'base64')).toEqual(ODD_FF);
    expect(json.summary).toMatchObject({ paths: 16, metadataOnly: 5, typeChanged: 2 });
  });

  it('carries patches with -p and no changes with -s', () => {
    const patched = JSON.parse(f.snap(['show', '--json', '-p', '--', 'etc/gone']).stdout);
    expect(patched.changes).toEqual([expect.objectContaining({
      status: 'D',
      path: 'etc/gone',
      new: null,
      patch: { kind: 'text', hunks: [{ oldStart: 1, oldLines: 1, newStart: 0, newLines: 0, lines: ['-bye'] }] },
    })]);
    const bare = JSON.parse(f.snap(['show', '--json', '-s']).stdout);
    expect(bare.changes).toEqual([]);
    expect(bare.commit.message).toBe('second\n\nWith a body.\n');
  });

  it('shows the first snapshot against nothing', () => {
    const json = JSON.parse(f.snap(argv(['show', '--json', '<A>', '--', 'etc/hosts'])).stdout);
    expect(json.from).toBeNull();
    expect(json.commit.parents).toEqual([]);
    expect(json.changes.map((c: { status: string; path: string }) => [c.status, c.path])).toEqual([['A', 'etc/hosts']]);
  });
});
