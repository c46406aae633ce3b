// snap checkout REV

import type { Command } from 'commander';
import { checkout } from '../../api/checkout.js';
import { commonOptions } from '../context.js';
import { clearProgress, info, outJson } from '../output.js';

/** Registers `snap checkout`. */
export function register(program: Command): void {
  program
    .command('checkout')
    .summary('make the rootfs exactly a snapshot')
    .description('Make the rootfs exactly REVISION: remove what it lacks, write only what differs, and restore owners, modes, xattrs and times. A branch name moves HEAD to the branch; any other revision detaches HEAD, as git does. Refuses when the rootfs has uncommitted changes, unless --force.')
    .argument('<revision>', 'snapshot or branch to check out')
    .option('-f, --force', 'discard uncommitted changes in the rootfs')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  snap checkout HEAD~1      # roll back one snapshot (detaches HEAD)\n  snap checkout main        # return to the branch tip\n  snap checkout -f main     # also throw away uncommitted changes')
    .action(async (revision: string, options: { force?: boolean; json?: boolean }, command: Command) => {
      const result = await checkout({ ...commonOptions(command), revision, force: options.force });
      clearProgress();
      if (options.json) {
        outJson(result);
        return;
      }
      const where = result.branch !== undefined ? `branch '${result.branch}'` : `detached HEAD at ${result.oid.slice(0, 7)}`;
      info(`${result.changed} path(s) updated; now on ${where}`);
    });
}
