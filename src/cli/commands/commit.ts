// snap commit -m MESSAGE

import type { Command } from 'commander';
import { commit } from '../../api/commit.js';
import { commonOptions } from '../context.js';
import { clearProgress, formatBytes, info, out, outJson } from '../output.js';

/** Registers `snap commit`. */
export function register(program: Command): void {
  program
    .command('commit')
    .summary('record the rootfs as a new snapshot')
    .description('Record the exact state of the rootfs (content, owners, modes, xattrs, times, hardlinks, devices) as a new commit on the current branch, and print its short id. Files whose stat is unchanged since the last commit are not read again.')
    .requiredOption('-m, --message <text>', 'commit message')
    .option('--allow-empty', 'record a snapshot even if nothing changed since HEAD')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  snap commit -m "install php"\n  snap commit --allow-empty -m "rebuild marker"')
    .action(async (options: { message: string; allowEmpty?: boolean; json?: boolean }, command: Command) => {
      const result = await commit({ ...commonOptions(command), message: options.message, allowEmpty: options.allowEmpty });
      clearProgress();
      if (options.json) {
        outJson(result);
        return;
      }
      info(`[${result.branch ?? 'detached HEAD'} ${result.oid.slice(0, 7)}] ${options.message.split('\n')[0]}`);
      info(`${result.entries} entries, ${result.filesRead} files read (${formatBytes(result.bytesRead)})`);
      out(result.oid.slice(0, 7));
    });
}
