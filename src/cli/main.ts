// The snap program: global options, the commands, and the one place that maps errors to exit codes.

import { Command, CommanderError, Option } from 'commander';
import { createRequire } from 'node:module';
import { isSnapError } from '../errors.js';
import { fixMallocThresholds } from '../native/index.js';
import { commands } from './commands/index.js';
import { clearProgress, colors, configureOutput, enablePaging, endPager, forbidPaging, exitQuietlyOnBrokenPipe } from './output.js';

const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** Commands whose output is long and for people: it goes through a pager on a terminal, as in git. */
export const PAGED_COMMANDS = new Set(['log', 'diff', 'show', 'reflog']);

/** Exit codes: 0 success, 1 failure (and "there are changes" for diff --exit-code), 2 usage error. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

/** Builds the command-line program. */
export function buildProgram(): Command {
  const program = new Command('snap')
    .description('Git-backed snapshots of root filesystems, with OCI layer export')
    .version(version, '-V, --version', 'print the version of snap')
    .helpOption('-h, --help', 'show help for a command')
    .option('-C <dir>', 'run as if started in DIR')
    .option('--store <path>', 'use the store at PATH (default: DIR/.snap found walking up; also $SNAP_STORE)')
    .option('-q, --quiet', 'no progress or informational messages on stderr (for diff: no output at all, as git diff --quiet)')
    .addOption(new Option('--color <when>', "colour output: 'auto' (on a terminal, unless $NO_COLOR is set), 'always' (also --color alone) or 'never'").choices(['auto', 'always', 'never']).default('auto'))
    .option('--no-color', 'never colour output (the same as --color=never)')
    .option('--no-pager', 'do not send long output (log, diff, show) through $SNAP_PAGER, $PAGER or less')
    .option('--debug', 'show stack traces of errors')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .addHelpText('after', [
      '',
      'Examples:',
      '  snap init && snap commit -m "base system"',
      '  snap status',
      '  snap diff -p HEAD~1 -- etc/',
      '  snap help diff',
      '',
      'Exit codes: 0 success, 1 failure (diff --exit-code: 1 when there are changes), 2 usage error.',
      'Environment: SNAP_STORE (the store), SNAP_PAGER or PAGER (the pager; LESS defaults to FRX), NO_COLOR (no colour),',
      '  SNAP_PROGRESS_DELAY (seconds before progress shows on a terminal, default 1).',
      'Reference: docs/CLI.md; JSON output: docs/JSON.md.',
    ].join('\n'))
    .exitOverride()
    .hook('preAction', (_program, action) => {
      const global = action.optsWithGlobals() as { quiet?: boolean; color?: string | boolean; pager?: boolean };
      const color = global.color === false ? 'never' : global.color === 'always' || global.color === 'never' ? global.color : 'auto';
      configureOutput({ color, quiet: Boolean(global.quiet) });
      limitMallocRetention();
      if (global.pager === false) forbidPaging();
      else if (PAGED_COMMANDS.has(action.name())) enablePaging();
    });
  for (const command of commands) command.register(program);
  for (const sub of [program, ...program.commands]) {
    sub.exitOverride();
    sub.configureOutput({ outputError: (text, write) => write(formatCommanderError(text, sub)) });
  }
  return program;
}

/**
 * Turns commander's error text into one line that names the value and the next step:
 * "error: unknown command 'stauts'; did you mean 'status'?" or "...; see 'snap diff --help'".
 */
export function formatCommanderError(text: string, command: Command): string {
  let message = text.trim().replace(/^error: /, '');
  const suggestion = /\n?\(Did you mean (.+)\?\)$/.exec(message);
  if (suggestion) {
    message = `${message.slice(0, suggestion.index).trim()}; did you mean '${suggestion[1]}'?`;
  } else {
    const name = command.parent ? `snap ${command.name()}` : 'snap';
    message = `${message.replace(/\.$/, '').replace(/\n+/g, ' ')}; see '${name} --help'`;
  }
  return `${colors('stderr').red('error:')} ${message}\n`;
}

/** Runs the program with `argv` and sets process.exitCode: 0 success, 1 failure, 2 usage error. */
export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnBrokenPipe();
  const program = buildProgram();
  const debug = argv.includes('--debug');
  // Node exits with 0 when nothing is left to run, also when a bug left a promise of the
  // command unsettled. Such a run must not pass for a success.
  let finished = false;
  process.once('beforeExit', () => {
    if (finished) return;
    process.stderr.write('error: internal error, this is a bug in snap: the command stopped before it finished\n');
    process.exitCode = EXIT.FAILURE;
  });
  try {
    if (argv.length <= 2) {
      // `snap` alone: the help on stderr and a usage error, as git does.
      process.stderr.write(program.helpInformation({ error: true }));
      process.exitCode = EXIT.USAGE;
      return;
    }
    await program.parseAsync(normalizeArgs(argv));
  } catch (error) {
    clearProgress(false);
    process.exitCode = exitCodeFor(error, debug);
  } finally {
    await endPager();
    finished = true;
  }
}

/**
 * Keeps freed native memory from staying resident (see fixMallocThresholds). Without the addon
 * nothing is changed, and a command that needs the addon reports it missing itself.
 */
function limitMallocRetention(): void {
  try {
    fixMallocThresholds();
  } catch (error) {
    if (!isSnapError(error, 'NATIVE')) throw error;
  }
}

/** Spells a bare `--color` (before any '--') as `--color=always`, as git reads it. */
export function normalizeArgs(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((arg, i) => (arg === '--color' && (end < 0 || i < end) ? '--color=always' : arg));
}

function exitCodeFor(error: unknown, debug: boolean): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.OK;
    if (error.code === 'commander.help') return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    return EXIT.USAGE;
  }
  const c = colors('stderr');
  if (isSnapError(error)) {
    process.stderr.write(`${c.red('error:')} ${error.message}\n`);
    if (debug) process.stderr.write(`${error.stack}\n`);
    return error.code === 'USAGE' ? EXIT.USAGE : EXIT.FAILURE;
  }
  const hint = debug ? '' : ' (run again with --debug for a stack trace)';
  process.stderr.write(`${c.red('error:')} internal error, this is a bug in snap: ${(error as Error)?.message ?? String(error)}${hint}\n`);
  if (debug) process.stderr.write(`${(error as Error)?.stack}\n`);
  return EXIT.FAILURE;
}
