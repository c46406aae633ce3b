// snap diff [A [B]] [-- PATH...]: the changes as a list, a stat, patches, JSON, or an OCI layer.

import { InvalidArgumentError, Option, type Command } from 'commander';
import { SnapError } from '../../errors.js';
import { checkRevisionCount, commonOptions, splitOperands, type GlobalOptions } from '../context.js';
import { clearProgress, disablePaging } from '../output.js';
import { printChanges, type ChangeFormat } from '../print-changes.js';
import { addCompressionOptions, chosenCompression, layerOutput, printLayerResult, type CompressionFlags } from './layer-output.js';

/** Options of `snap diff`. */
interface DiffCommandOptions extends CompressionFlags {
  nameStatus?: boolean;
  nameOnly?: boolean;
  stat?: boolean;
  patch?: boolean;
  unified?: number;
  z?: boolean;
  exitCode?: boolean;
  json?: boolean;
  export?: string;
}

/** Registers `snap diff`. */
export function register(program: Command): void {
  const command = program
    .command('diff')
    .summary('show changes between snapshots, or write them as an OCI layer')
    .description(
      'With no revision, compare HEAD with the rootfs; with one, compare that revision with the rootfs; with two (or A..B), compare the snapshots. ' +
      'Paths after -- limit the comparison to those paths and what is below them; they are relative to the top of the rootfs (a leading / is ignored), not to the current directory.\n\n' +
      'Unlike git, the default output is --name-status, because a snapshot is a whole filesystem: -p shows patches. ' +
      'Letters: A added, D deleted, M content modified, T type changed, m metadata only (mode, owner, time, xattrs, hardlinks). ' +
      'Patches are unified diffs for text; binary files (a NUL byte in the first 8000 bytes, or over 64 MiB) show "Binary files ... differ" with both sizes, and what a patch cannot carry (type, mode, owner, time, symlink target, device numbers, hardlinks, xattrs) shows as "old X" / "new X" lines. ' +
      'Text patches apply with `patch -p1`; metadata is restored by `snap checkout`, not by a patch.\n\n' +
      'With -q (--quiet) nothing is printed and the exit code tells whether anything changed, as with --exit-code: 1 if so, 0 if not. ' +
      'With --export, write the change as an OCI image layer tarball (whiteouts for deletions, hardlinks inside the layer) and print its diff ID, and for a compressed layer its digest and size (nothing with -q; the exit code is then 0 when the layer was written).',
    )
    .usage('[options] [from [to]] [-- path...]')
    .argument('[from]', 'older revision (default HEAD)')
    .argument('[to]', 'newer revision (default: the rootfs)')
    .argument('[path...]', 'after --: only these paths and what is below them')
    .option('--name-status', 'one line per changed path: letter, tab, path (the default)')
    .option('--name-only', 'one line per changed path: the path only')
    .option('--stat', 'per path the size change in bytes, then a summary line')
    .option('-p, --patch', 'unified patches for text, sizes for binary files, old/new lines for metadata')
    .addOption(new Option('-U, --unified <lines>', 'lines of context around each change in a patch (implies -p)').argParser(nonNegative))
    .option('-z', 'with --name-status or --name-only: end each field with NUL and never quote paths')
    .option('--exit-code', 'exit with 1 when there are changes, 0 when there are none')
    .option('--json', 'print the result as JSON (with -p, each change carries its patch); see docs/JSON.md')
    .option('--export <file>', "write the change as an OCI layer tar to FILE ('-' for stdout)");
  addCompressionOptions(command)
    .addHelpText('after', [
      '',
      'Examples:',
      '  snap diff                          # HEAD against the rootfs, one line per changed path',
      '  snap diff -p -- etc/               # patches of what changed below etc/ since HEAD',
      '  snap diff --stat HEAD~1 HEAD       # size change per path between two snapshots',
      '  snap diff HEAD~2..HEAD             # the same as snap diff HEAD~2 HEAD',
      '  snap diff -z --name-only | xargs -0 ls -ld',
      '  snap diff --quiet || echo "rootfs has uncommitted changes"',
      '  snap diff --json HEAD~1 | jq -r ".changes[].path"',
      '  snap diff main~1 main --export layer.tar.gz',
      '  snap diff HEAD~1 --export - | gzip > layer.tgz',
    ].join('\n'))
    .action(async (_from: unknown, _to: unknown, _paths: unknown, options: DiffCommandOptions, command: Command) => {
      const { exportDiff } = await import('../../api/export.js');
      const { compare } = await import('../../api/patch.js');
      const { revisions: given, paths } = splitOperands(command);
      const revisions = splitRange(given);
      checkRevisionCount(command, revisions, 2);
      const [from, to] = revisions;
      const common = commonOptions(command);
      if (options.export) {
        disablePaging();
        if (paths.length > 0) throw new SnapError('USAGE', `--export writes the whole change; drop the paths after '--' ('${paths[0]}')`);
        const result = await exportDiff({ ...common, from, to, ...chosenCompression(options), output: layerOutput(options.export) });
        clearProgress();
        if (!(command.optsWithGlobals() as GlobalOptions).quiet) printLayerResult(result, options.export, options.json);
        return;
      }
      if (options.gzip || options.zstd || options.compressionLevel !== undefined) {
        throw new SnapError('USAGE', '--gzip, --zstd and --compression-level apply to a layer; add --export FILE');
      }
      const quiet = Boolean((command.optsWithGlobals() as GlobalOptions).quiet);
      const comparison = await compare({ ...common, from, to, paths });
      clearProgress();
      if (options.exitCode || quiet) process.exitCode = comparison.changes.length > 0 ? 1 : 0;
      if (quiet) return;
      await printChanges(comparison, {
        format: chooseFormat(options),
        stat: Boolean(options.stat),
        nul: Boolean(options.z),
        json: Boolean(options.json),
        context: options.unified,
      });
    });
}

/** Reads git's `A..B` (and `A..`, `..B`, HEAD for the empty side) as the two revisions A and B. */
function splitRange(revisions: string[]): string[] {
  if (revisions.length !== 1 || !revisions[0].includes('..')) return revisions;
  if (revisions[0].includes('...')) {
    throw new SnapError('USAGE', `'${revisions[0]}' compares with a merge base, which snap does not do; give the two revisions, like 'snap diff A B'`);
  }
  const [from, to] = revisions[0].split('..');
  return [from || 'HEAD', to || 'HEAD'];
}

function chooseFormat(options: DiffCommandOptions): ChangeFormat {
  if (options.patch || options.unified !== undefined) return 'patch';
  if (options.nameOnly) return 'name-only';
  if (options.stat && !options.nameStatus) return 'none';
  return 'name-status';
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError('give a number of lines, for example -U 5');
  }
  return n;
}
