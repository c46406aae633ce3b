// snap status

import type { Command } from 'commander';
import { status } from '../../api/status.js';
import { commonOptions } from '../context.js';
import { clearProgress, out, outJson } from '../output.js';
import { changeJson, formatChange } from '../render.js';

/** Registers `snap status`. */
export function register(program: Command): void {
  program
    .command('status')
    .summary('show what changed in the rootfs since HEAD')
    .description('List paths added (A), deleted (D), modified (M), changed in type (T) and changed in metadata only (m: mode, owner, time, xattrs, hardlinks) since HEAD. Reads only files whose stat changed since the last commit.')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  snap status\n  snap status --json | jq ".changes[].path"')
    .action(async (options: { json?: boolean }, command: Command) => {
      const result = await status(commonOptions(command));
      clearProgress();
      if (options.json) {
        outJson({ branch: result.branch ?? null, head: result.head ?? null, changes: result.changes.map(changeJson) });
        return;
      }
      const where = result.branch !== undefined ? `On branch ${result.branch}` : `HEAD detached at ${result.head?.slice(0, 7)}`;
      out(where);
      if (!result.head) out('No commits yet');
      if (result.changes.length === 0) {
        out('nothing to commit, rootfs clean');
        return;
      }
      for (const change of result.changes) out(formatChange(change));
    });
}
