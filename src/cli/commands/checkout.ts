// snap checkout [-b NAME] REV

import type { Command } from 'commander';
import { SnapError } from '../../errors.js';
import { commonOptions } from '../context.js';
import { clearProgress, info, outJson } from '../output.js';

/** Registers `snap checkout`. */
export function register(program: Command): void {
  program
    .command('checkout')
    .summary('make the rootfs exactly a snapshot')
    .description('Make the rootfs exactly REVISION: remove what it lacks, write only what differs, and restore owners, modes, xattrs and times. A branch name moves HEAD to the branch; any other revision detaches HEAD, as git does; \'-\' goes back to where HEAD was before. -b NAME creates a branch at REVISION (default HEAD) and moves HEAD to it; at HEAD itself the rootfs, uncommitted changes included, is left as it is. Refuses when the rootfs has uncommitted changes, unless --force.')
    .argument('[revision]', "snapshot or branch to check out; '-' for the previous one (default with -b: HEAD)")
    .option('-b <branch>', 'create this branch at REVISION and check it out')
    .option('-B <branch>', 'as -b, moving the branch to REVISION if it exists')
    .option('-f, --force', 'discard uncommitted changes in the rootfs')
    .option('--json', 'print the result as JSON (see docs/JSON-history.md)')
    .addHelpText('after', '\nExamples:\n  snap checkout HEAD~1      # roll back one snapshot (detaches HEAD)\n  snap checkout main        # return to the branch tip\n  snap checkout -           # back to where HEAD was before\n  snap checkout -b try-php  # start a branch here\n  snap checkout -b fix HEAD~2\n  snap checkout -f main     # also throw away uncommitted changes')
    .action(async (revision: string | undefined, options: { b?: string; B?: string; force?: boolean; json?: boolean }, command: Command) => {
      const { checkout } = await import('../../api/checkout.js');
      const createBranch = options.b ?? options.B;
      if (options.b !== undefined && options.B !== undefined) throw new SnapError('USAGE', 'give -b or -B, not both');
      if (revision === undefined && createBranch === undefined) throw new SnapError('USAGE', "missing required argument 'revision': name a snapshot or branch, like 'snap checkout main' or 'snap checkout HEAD~1'");
      const result = await checkout({ ...commonOptions(command), revision: revision ?? 'HEAD', force: options.force, createBranch, resetBranch: options.B !== undefined });
      clearProgress();
      if (options.json) {
        outJson({ ...result, created: createBranch ?? null });
        return;
      }
      const where = result.branch !== undefined ? `branch '${result.branch}'` : `detached HEAD at ${result.oid.slice(0, 7)}`;
      info(createBranch !== undefined ? `Switched to a new branch '${createBranch}' at ${result.oid.slice(0, 7)}; ${result.changed} path(s) updated` : `${result.changed} path(s) updated; now on ${where}`);
    });
}
