// snap log [REVISION | A..B ...] [-- PATH...]

import * as fs from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { LogEntry } from '../../api/log.js';
import { SnapError, isSnapError } from '../../errors.js';
import { isRangeArgument, resolveRevision } from '../../store/revision.js';
import { openStore } from '../../store/store.js';
import { commonOptions, splitOperands } from '../context.js';
import { decoration, historyCommitJson } from '../history-json.js';
import { clearProgress, colors, drain, enablePaging, formatBytes, out, outJson } from '../output.js';
import { printChanges } from '../print-changes.js';
import { changeJson, formatDate, summarize } from '../render.js';

/** Options of `snap log`. */
interface LogCommandOptions {
  oneline?: boolean;
  maxCount?: number;
  all?: boolean;
  firstParent?: boolean;
  reverse?: boolean;
  stat?: boolean;
  nameStatus?: boolean;
  nameOnly?: boolean;
  patch?: boolean;
  size?: boolean;
  decorate?: boolean;
  json?: boolean;
}

/** Registers `snap log`. */
export function register(program: Command): void {
  program
    .command('log')
    .summary('show the history of snapshots')
    .description(
      'List snapshots newest first, as git log does: from HEAD, from the revisions given, or from every branch and tag with --all. ' +
      "'A..B' lists what B has and A lacks, '^A' leaves out what A reaches. Paths after -- (rootfs-relative) keep only snapshots that changed them.\n\n" +
      'Unlike git, each entry shows a Size line: what the snapshot added to the store, in compressed bytes on disk and new objects ' +
      '(content copied unchanged from a path that did not change is counted again; see docs/JSON-history.md). Refs are shown next to ids on a terminal, as git does (--decorate to always show them).',
    )
    .usage('[options] [revision | A..B ...] [-- path...]')
    .argument('[revision...]', 'where history starts (default HEAD); A..B and ^A work as in git')
    .option('--oneline', 'one line per snapshot: short id, refs and subject')
    .option('-n, --max-count <n>', 'show at most N snapshots (default: all)', count)
    .option('--all', 'start from every branch and tag, and HEAD')
    .option('--first-parent', 'follow only the first parent of merges (made with git; snap makes none)')
    .option('--reverse', 'oldest first (after -n picks the newest N, as in git)')
    .option('--stat', 'per snapshot, the size change of each changed path and a summary line')
    .option('--name-status', 'per snapshot, one line per changed path: A/D/M/T/m, tab, path')
    .option('--name-only', 'per snapshot, the changed paths only')
    .option('-p, --patch', 'per snapshot, patches for text files and sizes for binary ones (see snap diff --help)')
    .option('--no-size', 'leave out the Size line (and size in JSON); it reads the trees each snapshot changed')
    .option('--decorate', 'show branch and tag names next to ids even when stdout is not a terminal')
    .option('--no-decorate', 'never show branch and tag names next to ids')
    .option('--json', 'print a JSON array of snapshots (see docs/JSON-history.md); --stat and --name-status add "changes"')
    .addHelpText('after', [
      '',
      'Examples:',
      '  snap log --oneline',
      '  snap log -n 3 main',
      '  snap log --stat HEAD~5..HEAD',
      '  snap log --all --oneline           # every branch and tag',
      '  snap log --name-status -- etc/     # snapshots that changed something below etc/',
      '  snap log --json -n 1 | jq .[0].size.bytes',
    ].join('\n'))
    .action(async (_revisions: unknown, options: LogCommandOptions, command: Command) => {
      const { log } = await import('../../api/log.js');
      const { show } = await import('../../api/show.js');
      const common = commonOptions(command);
      const split = splitOperands(command);
      const { revisions, paths } = await classify(common, split.revisions, split.paths);
      const changes = Boolean(options.stat || options.nameStatus || options.nameOnly);
      let entries = await log({
        ...common, revisions, paths, all: options.all, maxCount: options.maxCount, firstParent: options.firstParent,
        changes, sizes: options.size !== false && (!options.oneline || options.json === true),
      });
      if (options.reverse) entries = entries.reverse();
      clearProgress();
      if (options.json) {
        outJson(entries.map((entry) => entryJson(entry, changes)));
        return;
      }
      enablePaging();
      const head = await openStore(common).then((store) => store.refs.head());
      const decorate = options.decorate ?? (process.stdout.isTTY === true);
      const c = colors();
      for (const [index, entry] of entries.entries()) {
        const refs = decorate && entry.refs.length > 0 ? ` ${c.yellow('(')}${decoration(entry.refs, head.branch)}${c.yellow(')')}` : '';
        const subject = entry.message.split('\n')[0];
        if (options.oneline) {
          out(`${c.yellow(entry.oid.slice(0, 7))}${refs} ${subject}`);
        } else {
          if (index > 0) out('');
          out(`${c.yellow(`commit ${entry.oid}`)}${refs}`);
          if (entry.parents.length > 1) out(`Merge: ${entry.parents.map((p) => p.slice(0, 7)).join(' ')}`);
          out(`Author: ${entry.author.name} <${entry.author.email}>`);
          out(`Date:   ${formatDate(entry.author.timestamp, entry.author.timezoneOffset)}`);
          if (entry.added) out(`Size:   +${formatBytes(entry.added.bytes)} (${entry.added.objects} new object${entry.added.objects === 1 ? '' : 's'})`);
          out('');
          for (const line of entry.message.replace(/\n$/, '').split('\n')) out(`    ${line}`);
        }
        if (options.patch) {
          const shown = await show({ ...common, revision: entry.oid, paths });
          if (shown.changes.length > 0) out('');
          await printChanges(shown, { format: 'patch', stat: Boolean(options.stat), nul: false, json: false });
        } else if (entry.changes && entry.changes.length > 0) {
          if (!options.oneline) out('');
          await printChanges({ from: entry.parents[0], to: entry.oid, changes: entry.changes, patches: noPatches },
            { format: options.nameStatus ? 'name-status' : options.nameOnly ? 'name-only' : 'none', stat: Boolean(options.stat), nul: false, json: false });
        }
        await drain();
      }
    });
}

// eslint-disable-next-line require-yield
async function* noPatches(): AsyncGenerator<never> {
  return;
}

function count(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('give a whole number, for example -n 5');
  return Number(value);
}

/** The JSON form of one log entry: the commit, its refs, and with --stat/--name-status its changes. */
function entryJson(entry: LogEntry, withChanges: boolean): Record<string, unknown> {
  return {
    ...historyCommitJson(entry),
    refs: entry.refs,
    ...(entry.added ? { size: entry.added } : {}),
    ...(withChanges && entry.changes ? { changes: entry.changes.map(changeJson), summary: summarize(entry.changes) } : {}),
  };
}

/**
 * Splits operands before '--' into revisions and paths as git does: an argument that is not a
 * revision but names something in the rootfs starts the paths; anything else that does not
 * resolve is an error that says to use '--'.
 */
async function classify(common: ReturnType<typeof commonOptions>, operands: string[], paths: string[]): Promise<{ revisions: string[]; paths: string[] }> {
  if (operands.length === 0) return { revisions: [], paths };
  const store = await openStore(common);
  const revisions: string[] = [];
  for (let i = 0; i < operands.length; i++) {
    const arg = operands[i];
    if (isRangeArgument(arg)) {
      revisions.push(arg);
      continue;
    }
    try {
      await resolveRevision(store, arg);
      revisions.push(arg);
    } catch (error) {
      if (!isSnapError(error) || (error.code !== 'NOT_FOUND' && error.code !== 'USAGE') || /[~^]|@\{/.test(arg)) throw error;
      const inRootfs = fs.lstatSync(join(store.rootfs, arg.replace(/^\/+/, '')), { throwIfNoEntry: false }) !== undefined;
      if (paths.length > 0 || !inRootfs) {
        if (error.code === 'NOT_FOUND') {
          throw new SnapError('NOT_FOUND', `${error.message}; for a path not in the rootfs now, put it after '--', like 'snap log -- ${arg}'`, { cause: error, data: error.data });
        }
        throw new SnapError('USAGE', `'${arg}' is neither a revision nor a path in the rootfs; put paths after '--', like 'snap log -- ${arg}'`, { cause: error });
      }
      return { revisions, paths: operands.slice(i) };
    }
  }
  return { revisions, paths };
}
