// snap status [-- PATH...]: what changed in the rootfs since HEAD, for people and for scripts.

import { Option, type Command } from 'commander';
import { Chalk } from 'chalk';
import { commonOptions, splitOperands } from '../context.js';
import { clearProgress, colors, info, out, outJson, write } from '../output.js';
import { rawPath } from '../print-changes.js';
import { changeJson, formatShortLine, formatStatusLine, summarize } from '../render.js';

/** Options of `snap status`. */
interface StatusCommandOptions {
  short?: boolean;
  porcelain?: string | boolean;
  branch?: boolean;
  z?: boolean;
  json?: boolean;
}

/** Registers `snap status`. */
export function register(program: Command): void {
  program
    .command('status')
    .summary('show what changed in the rootfs since HEAD')
    .description(
      'List what `snap commit` would record: paths added, deleted, modified, changed in type, and changed in metadata only ' +
      '(mode, owner, time, xattrs, hardlinks), against HEAD. Reads only files whose stat changed since the last commit. ' +
      'Paths after -- limit the listing, relative to the top of the rootfs.\n\n' +
      'There is no index: every change is "to be committed", so --short and --porcelain put the letter in git\'s first (staged) column: ' +
      'A added, D deleted, M modified, T type changed, and m for metadata only. Paths with bytes that are not printable ASCII are quoted and ' +
      'escaped as git does ("a\\nb", "\\377"), except with -z, which prints them raw and ends each entry with NUL.',
    )
    .usage('[options] [-- path...]')
    .argument('[path...]', 'after --: only these paths and what is below them')
    .option('-s, --short', 'one line per change: "X  PATH", coloured on a terminal')
    .addOption(new Option('--porcelain [version]', "like --short, for scripts: stable, never coloured ('v1', the only version)").choices(['v1', '1']))
    .option('-b, --branch', 'with --short or --porcelain: a first line "## BRANCH" (or "## HEAD (no branch)")')
    .option('-z', 'end each entry with NUL instead of a newline and never quote paths (implies --porcelain)')
    .option('--json', 'print the branch, HEAD and the changes as JSON; see docs/JSON.md')
    .addHelpText('after', [
      '',
      'Examples:',
      '  snap status',
      '  snap status -s -- etc/',
      '  snap status --porcelain | grep "^D "',
      '  snap status -z | xargs -0 -n1 printf "%q\\n"',
      '  snap status --json | jq -r ".changes[].path"',
    ].join('\n'))
    .action(async (_paths: unknown, options: StatusCommandOptions, command: Command) => {
      const { status } = await import('../../api/status.js');
      const { revisions, paths } = splitOperands(command);
      const result = await status({ ...commonOptions(command), paths: [...revisions, ...paths] });
      clearProgress();
      if (options.json) {
        outJson({ branch: result.branch ?? null, head: result.head ?? null, changes: result.changes.map(changeJson), summary: summarize(result.changes) });
        return;
      }
      const porcelain = options.porcelain !== undefined || Boolean(options.z);
      if (options.short || porcelain) {
        const c = porcelain ? new Chalk({ level: 0 }) : colors();
        const end = options.z ? '\0' : '\n';
        if (options.branch) {
          write(`## ${result.branch !== undefined ? (result.head ? result.branch : `No commits yet on ${result.branch}`) : 'HEAD (no branch)'}${end}`);
        }
        for (const change of result.changes) {
          if (options.z) write(Buffer.concat([Buffer.from(`${change.status}  `), rawPath(change.path), Buffer.from('\0')]));
          else out(formatShortLine(change, c));
        }
        return;
      }
      const c = colors();
      out(result.branch !== undefined ? `On branch ${result.branch}` : c.red(`HEAD detached at ${result.head?.slice(0, 7)}`));
      if (!result.head) out('\nNo commits yet\n');
      if (result.changes.length === 0) {
        out('nothing to commit, rootfs clean');
        return;
      }
      out('Changes to be committed:');
      info('  (use "snap commit -m MESSAGE" to record them, "snap diff -p" to see them, "snap checkout -f HEAD" to discard them)');
      for (const change of result.changes) out(formatStatusLine(change));
      out('');
    });
}
