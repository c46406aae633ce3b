// snap reflog [show] [REF]

import { InvalidArgumentError, type Command } from 'commander';
import { SnapError } from '../../errors.js';
import { commonOptions } from '../context.js';
import { signatureJson } from '../history-json.js';
import { colors, enablePaging, out, outJson } from '../output.js';

/** Registers `snap reflog`. */
export function register(program: Command): void {
  program
    .command('reflog')
    .summary('list every snapshot HEAD (or a branch) has been on')
    .description(
      'List the positions of HEAD, or of a branch or tag, newest first, as git reflog does: every commit, checkout, reset and branch rename is there, ' +
      "so a snapshot left behind can be found again. Each line's selector (HEAD@{2}) works as a revision everywhere. " +
      "The logs are Git's own (logs/ in the store), so 'git reflog' reads them too.",
    )
    .usage('[options] [show] [ref]')
    .argument('[args...]', "'show' (optional, as in git) and a branch or tag (default HEAD)")
    .option('-n, --max-count <n>', 'show at most N entries (default: all)', (value: string) => {
      if (!/^\d+$/.test(value)) throw new InvalidArgumentError('give a whole number, for example -n 5');
      return Number(value);
    })
    .option('--json', 'print the entries as JSON (see docs/JSON-history.md)')
    .addHelpText('after', [
      '',
      'Examples:',
      '  snap reflog                      # where HEAD has been',
      '  snap reflog main',
      '  snap checkout HEAD@{3}           # go back to where HEAD was three moves ago',
      '  snap branch rescued HEAD@{1}     # keep a snapshot left behind by a reset',
    ].join('\n'))
    .action(async (args: string[], options: { maxCount?: number; json?: boolean }, command: Command) => {
      const { reflog } = await import('../../api/reflog.js');
      const rest = args[0] === 'show' ? args.slice(1) : args;
      if (rest.length > 1) throw new SnapError('USAGE', `snap reflog takes one ref, got '${rest.join(' ')}'; run 'snap reflog main', for example`);
      const result = await reflog({ ...commonOptions(command), ref: rest[0], maxCount: options.maxCount });
      if (options.json) {
        outJson({
          ref: result.ref,
          entries: result.entries.map((e) => ({ selector: e.selector, oid: e.oid, old: e.old, who: signatureJson(e.who), message: e.message })),
        });
        return;
      }
      enablePaging();
      const c = colors();
      for (const entry of result.entries) out(`${c.yellow(entry.oid.slice(0, 7))} ${entry.selector}: ${entry.message}`);
    });
}
