// The snap program: global options, the commands, and the one place that maps errors to exit codes.

import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';
import { isSnapError } from '../errors.js';
import { commands } from './commands/index.js';
import { clearProgress, colors, configureOutput } from './output.js';

const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** Builds the command-line program. */
export function buildProgram(): Command {
  const program = new Command('snap')
    .description('Git-backed snapshots of root filesystems, with OCI layer export')
    .version(version)
    .option('-C <dir>', 'run as if started in DIR')
    .option('--store <path>', 'use the store at PATH (default: DIR/.snap found walking up; also $SNAP_STORE)')
    .option('-q, --quiet', 'no progress or informational messages on stderr')
    .option('--color <when>', "colour output: 'auto', 'always' or 'never'", 'auto')
    .option('--no-color', 'never colour output')
    .option('--debug', 'show stack traces of errors')
    .showSuggestionAfterError(true)
    .exitOverride()
    .hook('preAction', (command) => {
      const global = command.opts() as { quiet?: boolean; color?: string | boolean };
      const color = global.color === false ? 'never' : global.color === 'always' || global.color === 'never' ? global.color : 'auto';
      configureOutput({ color, quiet: Boolean(global.quiet) });
    });
  for (const command of commands) command.register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/** Runs the program with `argv` and sets process.exitCode: 0 success, 1 failure, 2 usage error. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  const debug = argv.includes('--debug');
  try {
    await program.parseAsync(argv);
  } catch (error) {
    clearProgress();
    process.exitCode = exitCodeFor(error, debug);
  }
}

function exitCodeFor(error: unknown, debug: boolean): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    return 2;
  }
  const c = colors('stderr');
  if (isSnapError(error)) {
    process.stderr.write(`${c.red('error:')} ${error.message}\n`);
    if (debug) process.stderr.write(`${error.stack}\n`);
    return error.code === 'USAGE' ? 2 : 1;
  }
  process.stderr.write(`${c.red('error:')} internal error, this is a bug in snap: ${(error as Error)?.message ?? String(error)}\n`);
  if (debug) process.stderr.write(`${(error as Error)?.stack}\n`);
  else process.stderr.write('run again with --debug for details\n');
  return 1;
}
