// Output conventions of every command: colour only when wanted, exit codes, one-line errors with a
// suggestion, help with examples, the generated reference, JSON docs, shell completion, and what a
// terminal gets (progress on stderr, long output through a pager).

import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allCommands, renderCliDocs } from '../src/cli/docs.js';
import { buildProgram } from '../src/cli/main.js';
import { CHANGED, ENV, makeFixture, type Fixture } from './cli-fixture.js';
import { has, SNAP_BIN } from './helpers/snap.js';

const ROOT = resolve(import.meta.dirname, '..');

let f: Fixture;
let A: string;
let B: string;
/** The revisions compared by most tests here: the first snapshot and the second. */
let AB: string;

beforeAll(() => {
  f = makeFixture();
  A = f.ok(['commit', '-m', 'base']).trim();
  f.setState(CHANGED);
  B = f.ok(['commit', '-m', 'second']).trim();
  AB = `${A} ${B}`;
});

afterAll(() => f?.remove());

/** Runs a shell command line under a pseudo-terminal (script(1)), so stdout and stderr are a TTY. */
function onTerminal(command: string, env: Record<string, string> = {}): { code: number; output: string } {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, ...ENV, TERM: 'xterm', ...env };
  delete fullEnv.NO_COLOR;
  if (env.NO_COLOR !== undefined) fullEnv.NO_COLOR = env.NO_COLOR;
  const done = spawnSync('script', ['-qec', command, '/dev/null'], { env: fullEnv, cwd: f.root, input: '' });
  return { code: done.status ?? -1, output: done.stdout.toString('utf8').replace(/\r\n/g, '\n') };
}

function snapLine(args: string): string {
  return `${process.execPath} ${SNAP_BIN} --store ${f.store} ${args}`;
}

const ESC = '\x1b[';

describe('colour', () => {
  it.each([
    ['off when stdout is not a terminal', [], {}, false],
    ['forced with --color=always', ['--color=always'], {}, true],
    ['forced with --color alone, as git reads it', ['--color'], {}, true],
    ['--color=always wins over NO_COLOR', ['--color=always'], { NO_COLOR: '1' }, true],
    ['off with --no-color', ['--no-color'], {}, false],
    ['off with --color=never', ['--color=never'], {}, false],
    ['off with --color=auto off a terminal', ['--color=auto'], {}, false],
  ] as [string, string[], Record<string, string>, boolean][])('is %s', (_name, flags, env, coloured) => {
    const result = f.snap([...flags, 'diff', A, B, '--', 'etc/gone'], env);
    expect(result.code).toBe(0);
    expect(result.stdout.includes(ESC)).toBe(coloured);
    expect(result.stdout.replace(/\x1b\[[0-9;]*m/g, '')).toBe('D\tetc/gone\n');
  });

  it('uses git\'s meanings: added green, deleted red, metadata yellow', () => {
    const out = f.snap(['--color=always', 'diff', A, B, '--', '-dash', 'etc/gone', 'etc/motd']).stdout;
    expect(out).toBe(`${ESC}32mA${ESC}39m\t-dash\n${ESC}31mD${ESC}39m\tetc/gone\n${ESC}33mm${ESC}39m\tetc/motd\n`);
    const patch = f.snap(['--color=always', 'diff', '-p', A, B, '--', 'etc/motd', 'etc/gone']).stdout;
    expect(patch).toContain(`${ESC}33mold mode 0644${ESC}39m`);
    expect(patch).toContain(`${ESC}31m-bye${ESC}39m`);
  });

  it.runIf(has('script'))('is on for a terminal unless NO_COLOR is set or --no-color is given', () => {
    expect(onTerminal(snapLine(`--no-pager diff ${AB} -- etc/gone`)).output).toContain(`${ESC}31mD`);
    expect(onTerminal(snapLine(`--no-pager diff ${AB} -- etc/gone`), { NO_COLOR: '1' }).output).toBe('D\tetc/gone\n');
    expect(onTerminal(snapLine(`--no-pager --no-color diff ${AB} -- etc/gone`)).output).toBe('D\tetc/gone\n');
    expect(onTerminal(snapLine(`--no-pager diff ${AB} -- etc/gone`), { NO_COLOR: '' }).output).toContain(`${ESC}31mD`);
  });
});

describe('exit codes and errors', () => {
  it.each([
    ['an unknown command, with the nearest one', ['stauts'], 2, /^error: unknown command 'stauts'; did you mean 'status'\?$/],
    ['an unknown option', ['diff', '--frobnicate'], 2, /^error: unknown option '--frobnicate'; see 'snap diff --help'$/],
    ['a missing argument', ['export', '-o', 'layer.tar'], 2, /^error: missing required argument 'revision'; see 'snap export --help'$/],
    ['a missing required option', ['export', 'HEAD'], 2, /^error: required option '-o, --output <file>' not specified; see 'snap export --help'$/],
    ['a missing message', ['commit'], 2, /^error: .*-m/],
    ['a bad --color value', ['--color=sometimes', 'status'], 2, /argument 'sometimes' is invalid.*auto, always, never/],
    ['a bad shell for completion', ['completion', 'fish'], 2, /value 'fish' is invalid.*bash, zsh/],
    ['too many arguments', ['show', 'HEAD', 'HEAD~1'], 2, /too many revisions/],
    ['a revision that does not exist', ['show', 'nosuch'], 1, /^error: revision 'nosuch' not found: .*; run 'snap log'/],
    ['a store that does not exist', ['--store', '/nonexistent/store', 'status'], 1, /^error: .*nonexistent/],
  ] as [string, string[], number, RegExp][])('%s', (_name, args, code, message) => {
    const result = f.snap(args);
    expect(result.code).toBe(code);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('prints usage on stderr and exits 2 with no command', () => {
    const result = f.snap([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Usage: snap /);
  });

  it.each([
    [['--help']],
    [['--version']],
    [['help', 'diff']],
    [['diff', '--help']],
  ])('exits 0 for %j', (args) => {
    const result = f.snap(args);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toBe('');
  });

  it.each([
    [['export', 'HEAD', '-o', 'x.tar', '--gzip', '--zstd']],
    [['diff', 'HEAD', '--export', 'x.tar', '--gzip', '--zstd']],
  ])('rejects two compressions in %j', (args) => {
    const result = f.snap(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --gzip and --zstd cannot be used together; pick one\n');
  });

  it.each([[['--gzip']], [['--compression-level', '5']]])('rejects %j without --export', (flags) => {
    const result = f.snap(['diff', 'HEAD', ...flags]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --gzip, --zstd and --compression-level apply to a layer; add --export FILE\n');
  });

  it('names the missing directory of an output and what to check', () => {
    const result = f.snap(['export', 'HEAD', '-o', '/nonexistent-snap-dir/x.tar']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: writing layer '\/nonexistent-snap-dir\/x\.tar' failed: ENOENT \(no such file or directory; check that the path and its parent directories exist\)\n$/);
    expect(fs.existsSync('/nonexistent-snap-dir')).toBe(false);
  });

  it('shows a stack trace only with --debug', () => {
    expect(f.snap(['show', 'nosuch']).stderr).not.toMatch(/\n\s+at /);
    const debug = f.snap(['--debug', 'show', 'nosuch']);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});

describe('stdout and stderr', () => {
  it('keeps results on stdout and messages on stderr; -q silences messages', () => {
    const g = makeFixture();
    try {
      const commit = g.snap(['commit', '-m', 'one']);
      expect(commit.stdout).toMatch(/^[0-9a-f]{7}\n$/);
      expect(commit.stderr).not.toBe('');
      g.setState(CHANGED);
      const quiet = g.snap(['-q', 'commit', '-m', 'two']);
      expect(quiet.stdout).toMatch(/^[0-9a-f]{7}\n$/);
      expect(quiet.stderr).toBe('');
    } finally {
      g.remove();
    }
  });

  it('stops quietly when the reader of stdout goes away', () => {
    const done = spawnSync('bash', ['-c', `set -o pipefail; ${snapLine(`diff -p ${AB}`)} | head -n 1`], { env: { ...process.env, ...ENV, NO_COLOR: '1' } });
    expect(done.stdout.toString()).toBe('diff --snap a/-dash b/-dash\n');
    expect(done.stderr.toString()).toBe('');
    expect(done.status).toBe(0);
  });

  it('fails when the reader of a layer on stdout goes away', () => {
    const g = makeFixture();
    try {
      g.setState([['', { type: 'dir' }], ['big', crypto.randomBytes(3_000_000)]]);
      g.ok(['commit', '-m', 'one']);
      const line = `${process.execPath} ${SNAP_BIN} --store ${g.store} export HEAD -o -`;
      const done = spawnSync('bash', ['-c', `set -o pipefail; ${line} | head -c 100 >/dev/null`], { env: { ...process.env, ...ENV, NO_COLOR: '1' } });
      expect(done.stderr.toString()).toBe('error: the reader of stdout closed the pipe before the output was complete\n');
      expect(done.status).toBe(1);
    } finally {
      g.remove();
    }
  });

  it.runIf(has('script'))('shows progress on a terminal, and not with -q or off a terminal', () => {
    const g = makeFixture();
    try {
      const line = `${process.execPath} ${SNAP_BIN} --store ${g.store}`;
      const shown = onTerminal(`${line} commit -m one`, { SNAP_PROGRESS_DELAY: '0' });
      expect(shown.code).toBe(0);
      expect(shown.output).toMatch(/Reading files: 100% \(\d+\/\d+\), \d+ B, done\./);
      g.setState(CHANGED);
      expect(onTerminal(`${line} -q commit -m two`, { SNAP_PROGRESS_DELAY: '0' }).output).toMatch(/^[0-9a-f]{7}\n$/);
      expect(onTerminal(`${line} status -s`).output).toBe('');
      g.setState([['', { type: 'dir' }], ['big', 'x'.repeat(100_000)]]);
      expect(g.snap(['commit', '-m', 'three']).stderr).not.toMatch(/Reading files/);
      expect(onTerminal(`${line} checkout -f HEAD~1`, { SNAP_PROGRESS_DELAY: '0' }).output).toMatch(/Updating rootfs: \d+% \(\d+\/\d+\), done\./);
      const exported = onTerminal(`${line} export HEAD -o ${join(g.root, 'layer.tar')}`, { SNAP_PROGRESS_DELAY: '0' }).output;
      expect(exported).toMatch(/Writing layer: \d+ entries, [\d.]+ [KM]?i?B, done\./);
    } finally {
      g.remove();
    }
  });
});

describe.runIf(has('script'))('pager', () => {
  const PAGER = { SNAP_PAGER: 'sed "s/^/paged: /"' };

  it('pages diff, show and log on a terminal through $SNAP_PAGER', () => {
    expect(onTerminal(snapLine(`diff ${AB} -- etc/gone`), PAGER).output).toBe('paged: \x1b[31mD\x1b[39m\tetc/gone\n');
    expect(onTerminal(snapLine('--no-color show -s'), PAGER).output.split('\n')[0]).toMatch(/^paged: commit [0-9a-f]{40}$/);
    expect(onTerminal(snapLine('--no-color log --oneline'), PAGER).output).toMatch(/^paged: [0-9a-f]{7} /);
  });

  it('uses $PAGER when SNAP_PAGER is unset, and LESS=FRX unless LESS is set', () => {
    expect(onTerminal(snapLine(`--no-color diff ${AB} -- etc/gone`), { PAGER: 'sed "s/^/$LESS: /"' }).output).toBe('FRX: D\tetc/gone\n');
    expect(onTerminal(snapLine(`--no-color diff ${AB} -- etc/gone`), { PAGER: 'sed "s/^/$LESS: /"', LESS: 'R' }).output).toBe('R: D\tetc/gone\n');
  });

  it('is skipped with --no-pager, an empty pager or cat, and off a terminal', () => {
    expect(onTerminal(snapLine(`--no-pager --no-color diff ${AB} -- etc/gone`), PAGER).output).toBe('D\tetc/gone\n');
    expect(onTerminal(snapLine(`--no-color diff ${AB} -- etc/gone`), { SNAP_PAGER: '' }).output).toBe('D\tetc/gone\n');
    expect(onTerminal(snapLine(`--no-color diff ${AB} -- etc/gone`), { SNAP_PAGER: 'cat' }).output).toBe('D\tetc/gone\n');
    expect(f.snap(['diff', A, B, '--', 'etc/gone'], PAGER).stdout).toBe('D\tetc/gone\n');
    expect(onTerminal(snapLine('--no-color status -s -b'), PAGER).output).toBe('## main\n');
  });

  it('ends quietly when the pager quits early', () => {
    const result = onTerminal(snapLine(`--no-color diff -p ${AB}`), { SNAP_PAGER: 'head -n 1' });
    expect(result.output).toBe('diff --snap a/-dash b/-dash\n');
    expect(result.code).toBe(0);
  });
});

describe('help and reference', () => {
  const program = buildProgram();
  const commands = allCommands(program);

  it('registers the commands this reference knows', () => {
    expect(commands.map((c) => c.path)).toEqual(expect.arrayContaining(['snap status', 'snap diff', 'snap show', 'snap completion']));
  });

  it.each(commands.map((c) => [c.path, c.command] as const))('%s --help has a summary, options and examples', (path, command) => {
    expect(command.summary() || command.description()).not.toBe('');
    const result = f.snap([...path.split(' ').slice(1), '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: snap /);
    expect(result.stdout).toMatch(/\nOptions:\n/);
    expect(result.stdout).toMatch(/\nExamples:\n {2}snap /);
  });

  it('docs/CLI.md is what `npm run docs:cli` generates from the command definitions', () => {
    const current = fs.readFileSync(join(ROOT, 'docs/CLI.md'), 'utf8');
    expect(current, "docs/CLI.md is stale: run 'npm run docs:cli'").toBe(renderCliDocs(buildProgram()));
  });

  it('docs/JSON.md describes the --json output of every command that has one', () => {
    const json = fs.readFileSync(join(ROOT, 'docs/JSON.md'), 'utf8');
    const withJson = commands.filter((c) => c.command.options.some((option) => option.long === '--json'));
    expect(withJson.length).toBeGreaterThan(5);
    for (const { path } of withJson) expect(json, `docs/JSON.md has no section for ${path}`).toContain(`## ${path}`);
  });
});

describe('shell completion', () => {
  function bash(script: string): string {
    const bin = fs.mkdtempSync(join(f.root, 'bin-'));
    fs.writeFileSync(join(bin, 'snap'), `#!/bin/sh\nexec ${process.execPath} ${SNAP_BIN} "$@"\n`, { mode: 0o755 });
    const done = spawnSync('bash', ['-c', `source <(snap completion bash) && ${script}`], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, SNAP_STORE: f.store }, cwd: f.rootfs,
    });
    expect(done.stderr.toString()).toBe('');
    return done.stdout.toString();
  }
  const complete = (words: string) => bash(`COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _snap; printf '%s\\n' "\${COMPREPLY[@]}"`).trim().split('\n');

  it('loads in bash and registers for snap', () => {
    expect(bash('complete -p snap').trim()).toBe('complete -F _snap snap');
  });

  it.each([
    ['commands', 'snap st', ['status']],
    ['a command after global options', 'snap -C /tmp --no-pager sh', ['show']],
    ['options of a command', 'snap diff --name', ['--name-status', '--name-only']],
    ['global options', 'snap --no-', ['--no-color', '--no-pager']],
    ['colour values', 'snap --color al', ['always']],
    ['revisions: HEAD and branches', 'snap diff ma', ['main']],
    ['shells', 'snap completion z', ['zsh']],
  ] as [string, string, string[]][])('completes %s', (_name, words, expected) => {
    expect(complete(words)).toEqual(expected);
  });

  it.runIf(has('zsh'))('loads in zsh', () => {
    const done = spawnSync('zsh', ['-c', `autoload -U compinit && compinit -u && source <(${process.execPath} ${SNAP_BIN} completion zsh) && print -r -- $_comps[snap]`]);
    expect(done.stderr.toString()).toBe('');
    expect(done.stdout.toString().trim()).toBe('_snap');
  });
});
