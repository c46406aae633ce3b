// snap log

import type { Command } from 'commander';
import { log } from '../../api/log.js';
import { commonOptions } from '../context.js';
import { colors, out, outJson } from '../output.js';
import { commitJson, formatDate } from '../render.js';

/** Registers `snap log`. */
export function register(program: Command): void {
  program
    .command('log')
    .summary('show the history of snapshots')
    .description('List snapshots from REVISION (default HEAD) back through first parents, newest first.')
    .argument('[revision]', 'where history starts', undefined)
    .option('--oneline', 'one line per snapshot: short id and subject')
    .option('-n, --max-count <n>', 'show at most N snapshots', (value) => Number.parseInt(value, 10))
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  snap log --oneline\n  snap log -n 3 main')
    .action(async (revision: string | undefined, options: { oneline?: boolean; maxCount?: number; json?: boolean }, command: Command) => {
      const commits = await log({ ...commonOptions(command), revision, maxCount: options.maxCount });
      if (options.json) {
        outJson(commits.map(commitJson));
        return;
      }
      const c = colors();
      commits.forEach((commit, index) => {
        const subject = commit.message.split('\n')[0];
        if (options.oneline) {
          out(`${c.yellow(commit.oid.slice(0, 7))} ${subject}`);
          return;
        }
        if (index > 0) out('');
        out(c.yellow(`commit ${commit.oid}`));
        out(`Author: ${commit.author.name} <${commit.author.email}>`);
        out(`Date:   ${formatDate(commit.author.timestamp, commit.author.timezoneOffset)}`);
        out('');
        for (const line of commit.message.replace(/\n$/, '').split('\n')) out(`    ${line}`);
      });
    });
}
