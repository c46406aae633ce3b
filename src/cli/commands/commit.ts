// snap commit -m MESSAGE [--author "Name <email>"] [--date DATE] [--amend]

import * as fs from 'node:fs';
import type { Command } from 'commander';
import { SnapError, ioError } from '../../errors.js';
import { commonOptions } from '../context.js';
import { historyCommitJson } from '../history-json.js';
import { clearProgress, formatBytes, info, out, outJson } from '../output.js';
import { collect } from './tag.js';

/** Options of `snap commit`. */
interface CommitCommandOptions {
  message?: string[];
  file?: string;
  allowEmpty?: boolean;
  author?: string;
  date?: string;
  amend?: boolean;
  all?: boolean;
  json?: boolean;
}

/** Registers `snap commit`. */
export function register(program: Command): void {
  program
    .command('commit')
    .summary('record the rootfs as a new snapshot')
    .description(
      'Record the exact state of the rootfs (content, owners, modes, xattrs, times, hardlinks, devices) as a new commit on the current branch, and print its short id. ' +
      'Files whose stat is unchanged since the last commit are not read again. There is no index: every commit records the whole rootfs, so -a is accepted and changes nothing.\n\n' +
      'Author and committer: --author (author only), else $SNAP_AUTHOR_NAME and $SNAP_AUTHOR_EMAIL (both), else $GIT_AUTHOR_* / $GIT_COMMITTER_* as in git, ' +
      "else user.name and user.email in the store's config ('git --git-dir=STORE config user.name NAME'), else \"$USER <$USER@HOSTNAME>\". " +
      'Dates: --date (author only), else $GIT_AUTHOR_DATE / $GIT_COMMITTER_DATE, else $SOURCE_DATE_EPOCH (both, UTC), else now (UTC). ' +
      'With SOURCE_DATE_EPOCH and a fixed author, the same rootfs, parent and message give the same commit id.',
    )
    .option('-m, --message <text>', 'commit message; repeat for more paragraphs (required unless --amend or -F)', collect)
    .option('-F, --file <file>', "take the message from FILE ('-' for stdin)")
    .option('--author <author>', 'author as "Name <email>" (the committer stays you)')
    .option('--date <date>', "author date: @SECONDS, ISO 8601 (2024-01-31T12:00:00+01:00) or RFC 2822 ('Wed, 31 Jan 2024 12:00:00 +0100'); no offset means local time")
    .option('--amend', "replace HEAD's snapshot with the rootfs now (message kept unless -m); the old one stays in the reflog")
    .option('--allow-empty', 'record a snapshot even if nothing changed since HEAD')
    .option('-a, --all', 'accepted for git habit; snap always records the whole rootfs')
    .option('--json', 'print the result as JSON (see docs/JSON-history.md)')
    .addHelpText('after', [
      '',
      'Examples:',
      '  snap commit -m "install php"',
      '  snap commit -m "install php" -m "php-cli 8.2 from bookworm"',
      '  snap commit --author "CI <ci@example.org>" --date @1700000000 -m "nightly"',
      '  snap commit -m "base"    # with SOURCE_DATE_EPOCH=1700000000 set: a reproducible id',
      '  snap commit --amend -m "install php and composer"',
      '  snap commit --allow-empty -m "rebuild marker"',
    ].join('\n'))
    .action(async (options: CommitCommandOptions, command: Command) => {
      const { commit } = await import('../../api/commit.js');
      let message = options.message?.join('\n\n');
      if (options.file !== undefined) {
        if (message !== undefined) throw new SnapError('USAGE', 'give the message with -m or -F, not both');
        try {
          message = fs.readFileSync(options.file === '-' ? 0 : options.file, 'utf8');
        } catch (error) {
          throw ioError('reading message file', options.file, error);
        }
      }
      if (message === undefined && !options.amend) {
        throw new SnapError('USAGE', `required option '-m, --message <text>' not specified: snap opens no editor; pass -m "MESSAGE" or -F FILE`);
      }
      const result = await commit({ ...commonOptions(command), message, allowEmpty: options.allowEmpty, author: options.author, date: options.date, amend: options.amend });
      clearProgress();
      if (options.json) {
        outJson({
          ...historyCommitJson({ oid: result.oid, tree: result.tree, parents: result.parents, author: result.author, committer: result.committer, message: result.message }),
          branch: result.branch ?? null,
          parent: result.parent ?? null,
          amended: result.amended ?? null,
          entries: result.entries,
          filesRead: result.filesRead,
          bytesRead: result.bytesRead,
        });
        return;
      }
      info(`[${result.branch ?? 'detached HEAD'} ${result.oid.slice(0, 7)}] ${result.message.split('\n')[0]}`);
      info(`${result.entries} entries, ${result.filesRead} files read (${formatBytes(result.bytesRead)})`);
      out(result.oid.slice(0, 7));
    });
}
