// snap reset [--hard | --soft | --mixed] [REVISION]

import type { Command } from 'commander';
import { SnapError } from '../../errors.js';
import { commonOptions } from '../context.js';
import { clearProgress, info, outJson } from '../output.js';

/** Options of `snap reset`. */
interface ResetCommandOptions {
  hard?: boolean;
  soft?: boolean;
  mixed?: boolean;
  force?: boolean;
  json?: boolean;
}

/** Registers `snap reset`. */
export function register(program: Command): void {
  program
    .command('reset')
    .summary('move the current branch to another snapshot')
    .description(
      'Move the current branch (or a detached HEAD) to REVISION (default HEAD) and record the move in the reflog; the old position is saved as ORIG_HEAD. ' +
      'With --hard the rootfs becomes exactly that snapshot too. Without it (--soft, --mixed: the same in snap, which has no index) the rootfs is left as it is, ' +
      "so 'snap reset --soft HEAD~1' followed by 'snap commit' replaces the last snapshot.\n\n" +
      'Unlike git, --hard refuses when the rootfs has uncommitted changes, unless --force: a rootfs holds more than a work tree. ' +
      "A snapshot left behind stays listed by 'snap reflog' (and is named in a warning when no branch or tag reaches it).",
    )
    .argument('[revision]', 'where to move (default HEAD)')
    .option('--hard', 'also make the rootfs exactly the snapshot')
    .option('--soft', 'move only the branch; the rootfs is left as it is (the default)')
    .option('--mixed', 'the same as --soft (snap has no index)')
    .option('-f, --force', 'with --hard: discard uncommitted changes in the rootfs')
    .option('--json', 'print the result as JSON (see docs/JSON-history.md)')
    .addHelpText('after', [
      '',
      'Examples:',
      '  snap reset --hard HEAD~1         # drop the last snapshot, roll the rootfs back',
      '  snap reset --hard ORIG_HEAD      # undo that reset',
      '  snap reset --hard -f             # throw away uncommitted changes',
      '  snap reset --soft HEAD~1         # keep the rootfs, recommit with snap commit',
    ].join('\n'))
    .action(async (revision: string | undefined, options: ResetCommandOptions, command: Command) => {
      const { reset } = await import('../../api/reset.js');
      const modes = [options.hard, options.soft, options.mixed].filter(Boolean).length;
      if (modes > 1) throw new SnapError('USAGE', 'give one of --hard, --soft and --mixed');
      if (options.force && !options.hard) throw new SnapError('USAGE', '--force only applies to --hard: without it the rootfs is not touched');
      const result = await reset({ ...commonOptions(command), revision, mode: options.hard ? 'hard' : 'soft', force: options.force });
      clearProgress();
      if (options.json) {
        outJson({ oid: result.oid, from: result.from, branch: result.branch ?? null, mode: result.mode, changed: result.changed });
        return;
      }
      const where = result.branch !== undefined ? `branch '${result.branch}'` : 'HEAD';
      info(result.mode === 'hard'
        ? `HEAD is now at ${result.oid.slice(0, 7)}; ${result.changed} path(s) of the rootfs updated (${where} moved from ${result.from.slice(0, 7)})`
        : `${where} moved from ${result.from.slice(0, 7)} to ${result.oid.slice(0, 7)}; the rootfs is unchanged ('snap status' shows the difference)`);
    });
}
