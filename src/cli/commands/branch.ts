// snap branch [NAME [REVISION]] | -d NAME... | -m [OLD] NEW

import type { Command } from 'commander';
import { SnapError } from '../../errors.js';
import { commonOptions } from '../context.js';
import { colors, info, out, outJson } from '../output.js';

/** Options of `snap branch`. */
interface BranchCommandOptions {
  delete?: boolean;
  D?: boolean;
  move?: boolean;
  M?: boolean;
  force?: boolean;
  verbose?: boolean;
  list?: boolean;
  showCurrent?: boolean;
  json?: boolean;
}

/** Registers `snap branch`. */
export function register(program: Command): void {
  program
    .command('branch')
    .summary('list, create, delete or rename branches')
    .description(
      'With no name, list branches, the current one marked with *. With NAME, create a branch at REVISION (default HEAD) without checking it out ' +
      "(use 'snap checkout -b NAME' to create and switch). -d deletes branches whose snapshots another branch, tag or HEAD still reaches; -D deletes anyway. " +
      '-m renames a branch (the current one when only the new name is given), with its reflog, as git branch -m does.',
    )
    .usage('[options] [name [revision]] | -d name... | -m [old] new')
    .argument('[name...]', 'branch to create (then the revision), to delete with -d, or old and new names with -m')
    .option('-l, --list', 'list branches (the default with no name)')
    .option('-v, --verbose', "when listing, show each branch's short id and subject")
    .option('--show-current', 'print the current branch name (nothing when HEAD is detached)')
    .option('-d, --delete', 'delete branches that another branch, tag or HEAD reaches')
    .option('-D', 'delete branches even when nothing else reaches their snapshots (they stay in the HEAD reflog)')
    .option('-m, --move', 'rename a branch and its reflog')
    .option('-M', 'rename, replacing a branch of the new name')
    .option('-f, --force', 'with a name: move an existing branch to REVISION; with -d or -m: as -D or -M')
    .option('--json', 'print the result as JSON (see docs/JSON-history.md)')
    .addHelpText('after', [
      '',
      'Examples:',
      '  snap branch                      # list branches',
      '  snap branch -v',
      '  snap branch before-upgrade       # mark HEAD, stay where you are',
      '  snap branch old-base HEAD~3',
      '  snap branch -m main stable       # rename',
      '  snap branch -d old-base',
    ].join('\n'))
    .action(async (names: string[], options: BranchCommandOptions, command: Command) => {
      const { createBranch, deleteBranches, listBranches, renameBranch } = await import('../../api/branch.js');
      const { log } = await import('../../api/log.js');
      const common = commonOptions(command);
      if (options.delete || options.D) {
        if (names.length === 0) throw new SnapError('USAGE', "branch deletion needs branch names, like 'snap branch -d old-base'");
        const deleted = await deleteBranches({ ...common, names, force: Boolean(options.D || options.force) });
        if (options.json) outJson({ deleted: deleted.map((b) => ({ name: b.name, ref: `refs/heads/${b.name}`, oid: b.oid })) });
        else for (const branch of deleted) out(`Deleted branch ${branch.name} (was ${branch.oid.slice(0, 7)}).`);
        return;
      }
      if (options.move || options.M) {
        if (names.length < 1 || names.length > 2) throw new SnapError('USAGE', "branch rename takes [OLD] NEW, like 'snap branch -m main stable'");
        const [from, to] = names.length === 2 ? names : [undefined, names[0]];
        const result = await renameBranch({ ...common, from, to, force: Boolean(options.M || options.force) });
        if (options.json) outJson({ renamed: { from: result.from, to: result.to, oid: result.oid || null, current: result.current } });
        else info(`Renamed branch '${result.from}' to '${result.to}'`);
        return;
      }
      if (options.showCurrent) {
        const list = await listBranches(common);
        if (options.json) outJson({ current: list.current ?? null });
        else if (list.current !== undefined) out(list.current);
        return;
      }
      if (options.list || names.length === 0) {
        const list = await listBranches(common);
        if (options.json) {
          outJson({
            current: list.current ?? null,
            head: list.head ?? null,
            detached: list.current === undefined,
            branches: list.branches.map((b) => ({ name: b.name, ref: `refs/heads/${b.name}`, oid: b.oid, current: b.current, subject: b.subject })),
          });
          return;
        }
        const c = colors();
        const rows: { mark: string; name: string; oid: string; subject: string; current: boolean }[] = [];
        if (list.current === undefined && list.head) {
          const subject = (await log({ ...common, revisions: [list.head], maxCount: 1 }))[0]?.message.split('\n')[0] ?? '';
          rows.push({ mark: '*', name: `(HEAD detached at ${list.head.slice(0, 7)})`, oid: list.head, subject, current: true });
        }
        for (const b of list.branches) rows.push({ mark: b.current ? '*' : ' ', name: b.name, oid: b.oid, subject: b.subject, current: b.current });
        const width = Math.max(0, ...rows.map((row) => row.name.length));
        for (const row of rows) {
          const name = row.current ? c.green(row.name.padEnd(options.verbose ? width : 0)) : row.name.padEnd(options.verbose ? width : 0);
          out(options.verbose ? `${row.mark} ${name} ${c.yellow(row.oid.slice(0, 7))} ${row.subject}`.trimEnd() : `${row.mark} ${name}`);
        }
        if (list.branches.length === 0 && list.current !== undefined && !options.json) info(`branch '${list.current}' has no snapshot yet; run 'snap commit' first`);
        return;
      }
      if (names.length > 2) throw new SnapError('USAGE', `snap branch takes a name and at most one revision, got ${names.length} arguments; to delete several, use -d`);
      const branch = await createBranch({ ...common, name: names[0], revision: names[1], force: options.force });
      if (options.json) {
        outJson({ name: branch.name, ref: `refs/heads/${branch.name}`, oid: branch.oid, subject: branch.subject, replaced: branch.replaced ?? null });
        return;
      }
      info(branch.replaced ? `Reset branch '${branch.name}' to ${branch.oid.slice(0, 7)} (was ${branch.replaced.slice(0, 7)})` : `Created branch '${branch.name}' at ${branch.oid.slice(0, 7)}`);
    });
}
