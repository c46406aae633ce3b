// snap diff [A [B]] [--export FILE]

import type { Command } from 'commander';
import { diff } from '../../api/diff.js';
import { exportDiff } from '../../api/export.js';
import type { Compression } from '../../oci/layer.js';
import { commonOptions } from '../context.js';
import { clearProgress, info, out, outJson } from '../output.js';
import { changeJson, formatChange } from '../render.js';
import { layerOutput, printLayerResult } from './layer-output.js';

/** Registers `snap diff`. */
export function register(program: Command): void {
  program
    .command('diff')
    .summary('list changes, or write them as an OCI layer')
    .description('With no revision, compare HEAD with the rootfs; with one, compare that revision with the rootfs; with two, compare the snapshots. With --export, write the change as an OCI image layer tarball (whiteouts for deletions, hardlinks inside the layer) and print its diff ID, and for a compressed layer its digest and size.')
    .argument('[from]', 'older revision (default HEAD)')
    .argument('[to]', 'newer revision (default: the rootfs)')
    .option('--export <file>', "write the change as an OCI layer tar to FILE ('-' for stdout)")
    .option('--gzip', 'compress the layer with gzip (also chosen by a .gz or .tgz file name)')
    .option('--zstd', 'compress the layer with zstd (also chosen by a .zst file name)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  snap diff                          # HEAD against the rootfs\n  snap diff HEAD~1 HEAD\n  snap diff main~1 main --export layer.tar.gz\n  snap diff HEAD~1 --export - | gzip > layer.tgz')
    .action(async (from: string | undefined, to: string | undefined, options: { export?: string; gzip?: boolean; zstd?: boolean; json?: boolean }, command: Command) => {
      const common = commonOptions(command);
      if (options.export) {
        const compression: Compression | undefined = options.zstd ? 'zstd' : options.gzip ? 'gzip' : undefined;
        const result = await exportDiff({ ...common, from, to, compression, output: layerOutput(options.export) });
        clearProgress();
        printLayerResult(result, options.export, options.json);
        return;
      }
      const changes = await diff({ ...common, from, to });
      clearProgress();
      if (options.json) {
        outJson({ changes: changes.map(changeJson) });
        return;
      }
      for (const change of changes) out(formatChange(change));
      if (changes.length === 0) info('no changes');
    });
}
