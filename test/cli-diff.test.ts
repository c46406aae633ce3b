// `snap diff` as a user and a script see it: every output mode on a history with odd names,
// binary files, metadata-only changes and type changes, against snapshots and against the rootfs.

import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANGED, makeFixture, ODD_FF, type Fixture } from './cli-fixture.js';

let f: Fixture;
let ids: Record<string, string>;

beforeAll(() => {
  f = makeFixture();
  const A = f.ok(['commit', '-m', 'base']).trim();
  f.setState(CHANGED);
  const B = f.ok(['commit', '-m', 'second']).trim();
  ids = { A, B };
});

afterAll(() => f?.remove());

/** Puts the commit ids in place of <A> and <B>. */
function argv(args: string[]): string[] {
  return args.map((arg) => arg.replace(/<(A|B)>/g, (_, name: string) => ids[name]));
}

const NAME_STATUS = [
  'A\t-dash',
  'T\tbin/sh',
  'M\tbin/tool',
  'M\tdev/tty9',
  'm\tetc/attr',
  'D\tetc/gone',
  'M\tetc/hosts',
  'm\tetc/motd',
  'm\tetc/touched',
  'm\thl1',
  'm\thl2',
  'T\tlib',
  'D\tlib/a',
  'M\tlink',
  'A\t"n\\377"',
  'A\t"odd\\nname"',
  '',
].join('\n');

const NAME_ONLY = NAME_STATUS.replace(/^[ADMTm]\t/gm, '');

const Z_NAME_STATUS = [
  'A', '-dash', 'T', 'bin/sh', 'M', 'bin/tool', 'M', 'dev/tty9', 'm', 'etc/attr', 'D', 'etc/gone', 'M', 'etc/hosts',
  'm', 'etc/motd', 'm', 'etc/touched', 'm', 'hl1', 'm', 'hl2', 'T', 'lib', 'D', 'lib/a', 'M', 'link',
  'A', ODD_FF.toString('latin1'), 'A', 'odd\nname', '',
].join('\0');

const STAT = [
  ' -dash       | 0 -> 0 bytes',
  ' bin/sh      | file -> symlink, 13 -> 4 bytes',
  ' bin/tool    | 8 -> 9 bytes',
  ' dev/tty9    | device 4:9 -> 4:10',
  ' etc/attr    | metadata (xattrs)',
  ' etc/gone    | 4 -> 0 bytes',
  ' etc/hosts   | 34 -> 60 bytes',
  ' etc/motd    | metadata (mode, owner)',
  ' etc/touched | metadata (time)',
  ' hl1         | metadata (hardlink)',
  ' hl2         | metadata (hardlink)',
  ' lib         | directory -> file, 0 -> 11 bytes',
  ' lib/a       | 2 -> 0 bytes',
  ' link        | 9 -> 8 bytes',
  ' "n\\377"     | 0 -> 6 bytes',
  ' "odd\\nname" | 0 -> 4 bytes',
  ' 16 paths changed, 3 added, 2 deleted, 4 modified, 2 type changed, 5 metadata only, +32 bytes',
  '',
].join('\n');

const PATCH = `diff --snap a/-dash b/-dash
new file mode 0644
new owner 0:0
index 0000000..e69de29
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
diff --snap a/dev/tty9 b/dev/tty9
old device 4:9
new device 4:10
diff --snap a/etc/attr b/etc/attr
new xattr user.note="hi"
new xattr user.raw=0x000102
diff --snap a/etc/gone b/etc/gone
deleted file mode 0644
old owner 0:0
index b023018..0000000
--- a/etc/gone
+++ /dev/null
@@ -1 +0,0 @@
-bye
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
diff --snap a/etc/touched b/etc/touched
old mtime 2023-11-14 22:13:20.000000000 +0000
new mtime 2023-11-14 23:13:20.500000000 +0000
diff --snap a/hl1 b/hl1
old hardlink set hl1
new hardlink set none
diff --snap a/hl2 b/hl2
old hardlink set hl1
new hardlink set none
diff --snap a/lib b/lib
old type directory
new type file
old mode 0755
new mode 0644
index 0000000..3f899ea
--- /dev/null
+++ b/lib
@@ -0,0 +1 @@
+now a file
diff --snap a/lib/a b/lib/a
deleted file mode 0644
old owner 0:0
index 7898192..0000000
--- a/lib/a
+++ /dev/null
@@ -1 +0,0 @@
-a
diff --snap a/link b/link
old target etc/hosts
new target etc/motd
diff --snap "a/n\\377" "b/n\\377"
new file mode 0644
new owner 0:0
index 0000000..3a1c020
--- /dev/null
+++ "b/n\\377"
@@ -0,0 +1 @@
+latin
diff --snap "a/odd\\nname" "b/odd\\nname"
new file mode 0644
new owner 0:0
index 0000000..3e75765
--- /dev/null
+++ "b/odd\\nname"
@@ -0,0 +1 @@
+new
`;

const HOSTS_PATCH = `diff --snap a/etc/hosts b/etc/hosts
index 77c24a1..5f29d0d
--- a/etc/hosts
+++ b/etc/hosts
@@ -1,2 +1,3 @@
 127.0.0.1 localhost
-::1 localhost
+::1 localhost ip6-localhost
+10.0.0.1 db
`;

describe('snap diff output', () => {
  it.each([
    ['name-status between snapshots (the default)', ['diff', '<A>', '<B>'], NAME_STATUS, 0],
    ['--name-status spelled out', ['diff', '--name-status', '<A>', '<B>'], NAME_STATUS, 0],
    ['a range A..B, as git diff reads it', ['diff', '<A>..<B>'], NAME_STATUS, 0],
    ['a range A.. (to HEAD)', ['diff', '<A>..'], NAME_STATUS, 0],
    ['a snapshot against the rootfs', ['diff', '<A>'], NAME_STATUS, 0],
    ['HEAD against an unchanged rootfs', ['diff'], '', 0],
    ['--name-only', ['diff', '--name-only', '<A>', '<B>'], NAME_ONLY, 0],
    ['-z: NUL-separated, raw bytes', ['diff', '-z', '<A>', '<B>'], Z_NAME_STATUS, 0],
    ['-z --name-only', ['diff', '-z', '--name-only', '<A>', '<B>'], `-dash\0bin/sh\0bin/tool\0dev/tty9\0etc/attr\0etc/gone\0etc/hosts\0etc/motd\0etc/touched\0hl1\0hl2\0lib\0lib/a\0link\0${ODD_FF.toString('latin1')}\0odd\nname\0`, 0],
    ['--stat', ['diff', '--stat', '<A>', '<B>'], STAT, 0],
    ['-p between snapshots', ['diff', '-p', '<A>', '<B>'], PATCH, 0],
    ['-p of a snapshot against the rootfs (content read from the files)', ['diff', '-p', '<A>'], PATCH, 0],
    ['reversed: additions become deletions', ['diff', '<B>', '<A>', '--', 'lib', '-dash', 'bin/sh'], 'D\t-dash\nT\tbin/sh\nT\tlib\nA\tlib/a\n', 0],
    ['paths after --', ['diff', '-p', '<A>', '<B>', '--', 'etc/hosts'], HOSTS_PATCH, 0],
    ['a directory limit selects what is below it', ['diff', '<A>', '<B>', '--', 'etc/'], 'm\tetc/attr\nD\tetc/gone\nM\tetc/hosts\nm\tetc/motd\nm\tetc/touched\n', 0],
    ['a leading slash and ./ are ignored', ['diff', '<A>', '<B>', '--', '/lib', './link'], 'T\tlib\nD\tlib/a\nM\tlink\n', 0],
    ['a path that starts with a dash', ['diff', '<A>', '<B>', '--', '-dash'], 'A\t-dash\n', 0],
    ['a path that matches nothing', ['diff', '<A>', '<B>', '--', 'nowhere'], '', 0],
    ['-U 0: no context', ['diff', '-U', '0', '<A>', '<B>', '--', 'etc/hosts'], HOSTS_PATCH.replace('@@ -1,2 +1,3 @@\n 127.0.0.1 localhost\n', '@@ -2 +2,2 @@\n'), 0],
    ['--stat with -p: the stat, a blank line, the patches', ['diff', '--stat', '-p', '<A>', '<B>', '--', 'etc/hosts'], ` etc/hosts | 34 -> 60 bytes\n 1 path changed, 1 modified, +26 bytes\n\n${HOSTS_PATCH}`, 0],
    ['--exit-code with changes', ['diff', '--exit-code', '<A>', '<B>', '--', 'link'], 'M\tlink\n', 1],
    ['--exit-code without changes', ['diff', '--exit-code', '<B>'], '', 0],
    ['--quiet with changes prints nothing', ['diff', '--quiet', '<A>', '<B>'], '', 1],
    ['-q without changes', ['diff', '-q'], '', 0],
  ] as [string, string[], string, number][])('%s', (_name, args, expected, code) => {
    const result = f.snap(argv(args));
    expect(result.stderr).toBe('');
    expect(result.stdoutBytes.toString('latin1')).toBe(expected);
    expect(result.code).toBe(code);
  });

  it('-q with --export writes the layer and prints nothing', () => {
    const layer = join(f.root, 'quiet-layer.tar');
    const result = f.snap(argv(['-q', 'diff', '<A>', '<B>', '--export', layer]));
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(fs.statSync(layer).size).toBeGreaterThan(0);
  });

  it.each([
    ['three revisions', ['diff', '<A>', '<B>', '<A>'], 2, /too many revisions .*put paths after '--'/],
    ['a path leaving the rootfs', ['diff', '--', '../etc'], 2, /leaves the rootfs/],
    ['an unknown revision', ['diff', 'nosuch'], 1, /revision 'nosuch' not found/],
    ['a merge-base range', ['diff', '<A>...<B>'], 2, /merge base/],
    ['a bad -U value', ['diff', '-U', 'x'], 2, /argument 'x' is invalid/],
    ['paths with --export', ['diff', '--export', 'x.tar', '<A>', '--', 'etc'], 2, /--export writes the whole change/],
  ] as [string, string[], number, RegExp][])('refuses %s with one line', (_name, args, code, message) => {
    const result = f.snap(argv(args));
    expect(result.code).toBe(code);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('snap diff --json', () => {
  interface JsonChange {
    status: string;
    path: string;
    pathBase64?: string;
    fields: string[];
    old: Record<string, unknown> | null;
    new: Record<string, unknown> | null;
    patch?: { kind: string; hunks?: { oldStart: number; oldLines: number; newStart: number; newLines: number; lines: string[] }[]; oldSize?: number; newSize?: number } | null;
  }
  const parse = (args: string[]) => {
    const result = f.snap(argv(args));
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as { from: string; to: string | null; changes: JsonChange[]; summary: Record<string, number> };
  };

  it('lists every change with its fields, both entries, and a summary', () => {
    const json = parse(['diff', '--json', '<A>', '<B>']);
    expect(json.from).toMatch(new RegExp(`^${ids.A}[0-9a-f]{33}$`));
    expect(json.to).toMatch(new RegExp(`^${ids.B}[0-9a-f]{33}$`));
    expect(json.changes.map((change) => [change.status, change.path])).toEqual(
      NAME_STATUS.trim().split('\n').map((line) => {
        const [status, path] = line.split('\t');
        return [status, path === '"n\\377"' ? 'n\ufffd' : path === '"odd\\nname"' ? 'odd\nname' : path];
      }),
    );
    expect(json.summary).toEqual({ paths: 16, added: 3, deleted: 2, modified: 4, typeChanged: 2, metadataOnly: 5, oldBytes: 70, newBytes: 102 });
  });

  it.each([
    ['a name that is not UTF-8 keeps its bytes in pathBase64', 'n\ufffd', (c: JsonChange) => {
      expect(Buffer.from(c.pathBase64!, 'base64')).toEqual(ODD_FF);
      expect(c.old).toBeNull();
    }],
    ['a name with a newline is plain JSON text', 'odd\nname', (c: JsonChange) => {
      expect(c.pathBase64).toBeUndefined();
      expect(c.new).toMatchObject({ type: 'file', size: 4, mode: '0644' });
    }],
    ['a mode and owner change', 'etc/motd', (c: JsonChange) => {
      expect(c.status).toBe('m');
      expect(c.fields).toEqual(['mode', 'owner']);
      expect(c.old).toMatchObject({ mode: '0644', uid: 0, gid: 0 });
      expect(c.new).toMatchObject({ mode: '0600', uid: 1000, gid: 100 });
    }],
    ['a time change keeps nanoseconds as a string', 'etc/touched', (c: JsonChange) => {
      expect(c.fields).toEqual(['mtime']);
      expect(c.old!.mtime).toBe('1700000000000000000');
      expect(c.new!.mtime).toBe('1700003600500000000');
    }],
    ['xattrs are base64', 'etc/attr', (c: JsonChange) => {
      expect(c.fields).toEqual(['xattrs']);
      expect(c.new!.xattrs).toEqual({ 'user.note': Buffer.from('hi').toString('base64'), 'user.raw': 'AAEC' });
    }],
    ['a type change', 'bin/sh', (c: JsonChange) => {
      expect(c.status).toBe('T');
      expect(c.old).toMatchObject({ type: 'file', size: 13 });
      expect(c.new).toMatchObject({ type: 'symlink', target: 'dash' });
    }],
    ['device numbers', 'dev/tty9', (c: JsonChange) => {
      expect(c.fields).toEqual(['device']);
      expect(c.old!.rdev).toEqual([4, 9]);
      expect(c.new!.rdev).toEqual([4, 10]);
    }],
    ['a hardlink set broken up', 'hl2', (c: JsonChange) => {
      expect(c.fields).toEqual(['hardlink']);
      expect(c.old!.link).toBe('hl1');
      expect(c.new!.link).toBeUndefined();
    }],
  ] as [string, string, (c: JsonChange) => void][])('%s', (_name, path, check) => {
    const change = parse(['diff', '--json', '<A>', '<B>']).changes.find((c) => c.path === path);
    expect(change).toBeDefined();
    check(change!);
  });

  it('carries patches with -p: text hunks, binary sizes, none for metadata', () => {
    const json = parse(['diff', '--json', '-p', '<A>', '<B>', '--', 'etc/hosts', 'bin/tool', 'etc/motd']);
    const byPath = Object.fromEntries(json.changes.map((c) => [c.path, c.patch]));
    expect(byPath['etc/hosts']).toEqual({
      kind: 'text',
      hunks: [{ oldStart: 1, oldLines: 2, newStart: 1, newLines: 3, lines: [' 127.0.0.1 localhost', '-::1 localhost', '+::1 localhost ip6-localhost', '+10.0.0.1 db'] }],
    });
    expect(byPath['bin/tool']).toEqual({ kind: 'binary', oldSize: 8, newSize: 9 });
    expect(byPath['etc/motd']).toBeNull();
  });

  it('names the rootfs side null', () => {
    const json = parse(['diff', '--json', '<A>', '--', 'link']);
    expect(json.to).toBeNull();
    expect(json.changes.map((c) => c.path)).toEqual(['link']);
  });
});
