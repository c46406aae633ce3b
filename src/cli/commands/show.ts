// snap show [REV] [-- PATH...]: a snapshot's commit header, message, and its changes.

import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ShowPathResult } from '../../api/show.js';
import { SnapError } from '../../errors.js';
import { checkRevisionCount, commonOptions, splitOperands } from '../context.js';
import { clearProgress, out, outJson, write } from '../output.js';
import { printChanges, type ChangeFormat } from '../print-changes.js';
import { historyCommitJson } from '../history-json.js';
import { entryJson, formatCommitHeader, TYPE_WORDS } from '../render.js';
import { jsonPath, quotePath } from '../quote.js';

/** Options of `snap show`. */
interface ShowCommandOptions {
  nameStatus?: boolean;
  nameOnly?: boolean;
  stat?: boolean;
  patch?: boolean;
  unified?: number;
  z?: boolean;
  json?: boolean;
}

/** Registers `snap show`. */
export function register(program: Command): void {
  program
    .command('show')
    .summary('show a snapshot: its commit, message and changes')
    .description(
      'Print the commit of REVISION (default HEAD) as git show does: id, author, date and message, then its changes against its first parent ' +
      '(every path is added for the first snapshot). Paths after -- limit the changes, relative to the top of the rootfs.\n\n' +
      'Unlike git, the changes are listed as --name-status by default, because a snapshot is a whole filesystem; -p shows patches, --stat sizes. ' +
      'See `snap diff --help` for the letters and the patch format.\n\n' +
      'REVISION:PATH shows one path of a snapshot, as git show does: a file\'s content as it is, a directory\'s entries (directories with a trailing /), a symlink\'s target, and for a device or FIFO its type, numbers, mode and owner.',
    )
    .usage('[options] [revision] [-- path...]')
    .argument('[revision]', 'the snapshot to show (default HEAD), or REVISION:PATH for one path of it')
    .argument('[path...]', 'after --: only changes at these paths and below')
    .option('--name-status', 'one line per changed path: letter, tab, path (the default)')
    .option('--name-only', 'one line per changed path: the path only')
    .option('--stat', 'per path the size change in bytes, then a summary line')
    .option('-p, --patch', 'unified patches for text, sizes for binary files, old/new lines for metadata')
    .addOption(new Option('-U, --unified <lines>', 'lines of context around each change in a patch (implies -p)').argParser(lines))
    .option('-s, --no-patch', 'only the commit header and message, no changes')
    .option('-z', 'with --name-status or --name-only: end each field with NUL and never quote paths')
    .option('--json', 'print the commit and its changes as JSON (with -p, each change carries its patch); see docs/JSON.md')
    .addHelpText('after', [
      '',
      'Examples:',
      '  snap show                      # the last snapshot and the paths it changed',
      '  snap show -p HEAD~1 -- etc/    # patches below etc/ in the snapshot before it',
      '  snap show --stat main',
      '  snap show -s HEAD              # the commit header and message only',
      '  snap show HEAD~1:etc/hosts     # a file as it was one snapshot ago',
      '  snap show --json | jq .commit.message',
    ].join('\n'))
    .action(async (_revision: unknown, _paths: unknown, options: ShowCommandOptions & { patch?: boolean }, command: Command) => {
      const { show, showPath } = await import('../../api/show.js');
      const { revisions, paths } = splitOperands(command);
      checkRevisionCount(command, revisions, 1);
      const colon = revisions[0]?.indexOf(':') ?? -1;
      if (colon >= 0) {
        if (paths.length > 0) throw new SnapError('USAGE', `give either REVISION:PATH or paths after '--', not both`);
        const revision = revisions[0].slice(0, colon) || 'HEAD';
        const found = await showPath({ ...commonOptions(command), revision, path: revisions[0].slice(colon + 1) });
        printPath(revision, found, Boolean(options.json));
        return;
      }
      const result = await show({ ...commonOptions(command), revision: revisions[0], paths });
      clearProgress();
      // commander sets patch=false for -s/--no-patch; -p sets it true; unset means the default listing.
      const noChanges = options.patch === false;
      const format: ChangeFormat = noChanges ? 'none' : options.patch || options.unified !== undefined ? 'patch' : options.nameOnly ? 'name-only' : options.stat && !options.nameStatus ? 'none' : 'name-status';
      if (options.json) {
        await printChanges(noChanges ? { ...result, changes: [] } : result, { format, stat: false, nul: false, json: true, context: options.unified, jsonHead: { commit: historyCommitJson(result.commit) } });
        return;
      }
      for (const line of formatCommitHeader(result.commit)) out(line);
      if (noChanges || (format === 'none' && !options.stat)) return;
      if (result.changes.length > 0) out('');
      await printChanges(result, { format, stat: Boolean(options.stat), nul: Boolean(options.z), json: false, context: options.unified });
    });
}

/** Prints one path of a snapshot: file content raw, a directory listing, or a one-line description. */
function printPath(revision: string, found: ShowPathResult, json: boolean): void {
  const { entry } = found;
  if (json) {
    outJson({
      commit: found.commit,
      ...jsonPath(found.path),
      entry: entryJson(entry),
      ...(found.content ? { contentBase64: found.content.toString('base64') } : {}),
      ...(found.children ? { children: found.children.map((child) => ({ ...jsonPath(childName(found, child.path), 'name'), ...jsonPath(child.path), entry: entryJson(child) })) } : {}),
    });
    return;
  }
  if (found.content) {
    write(found.content);
    return;
  }
  if (found.children) {
    out(`tree ${revision}:${found.path.toString()}`);
    out('');
    for (const child of found.children) {
      const name = childName(found, child.path);
      out(quotePath(child.type === 'dir' ? Buffer.concat([name, Buffer.from('/')]) : name));
    }
    return;
  }
  if (entry.type === 'symlink') {
    write(Buffer.concat([entry.target!, Buffer.from('\n')]));
    return;
  }
  if (entry.type === 'file') return; // an empty file
  const device = entry.type === 'char' || entry.type === 'block' ? ` ${entry.rdevMajor}:${entry.rdevMinor}` : '';
  out(`${TYPE_WORDS[entry.type]}${device}, mode ${entry.mode.toString(8).padStart(4, '0')}, owner ${entry.uid}:${entry.gid}`);
}

function childName(found: ShowPathResult, path: Buffer): Buffer {
  return path.subarray(found.path.length === 0 ? 0 : found.path.length + 1);
}

function lines(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('give a number of lines, for example -U 5');
  return Number(value);
}
