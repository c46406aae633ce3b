// snap export REV -o FILE

import { SnapError } from '../../errors.js';
import type { Command } from 'commander';
import type { Compression } from '../../oci/layer.js';
import { commonOptions } from '../context.js';
import { clearProgress } from '../output.js';
import { layerOutput, printLayerResult } from './layer-output.js';

/** Registers `snap export`. */
export function register(program: Command): void {
  program
    .command('export')
    .summary('write a whole snapshot as one OCI layer')
    .description('Write every entry of a snapshot as one OCI image layer tarball (the base layer of an image), and print its diff ID, and for a compressed layer its digest and size.')
    .argument('<revision>', 'snapshot to export')
    .requiredOption('-o, --output <file>', "layer file ('-' for stdout)")
    .option('--gzip', 'compress the layer with gzip (also chosen by a .gz or .tgz file name)')
    .option('--zstd', 'compress the layer with zstd (also chosen by a .zst file name)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  snap export main~3 -o base.tar\n  snap export HEAD -o rootfs.tar.zst')
    .action(async (revision: string, options: { output: string; gzip?: boolean; zstd?: boolean; json?: boolean }, command: Command) => {
      if (options.gzip && options.zstd) throw new SnapError('USAGE', '--gzip and --zstd cannot be used together; pick one');
      const { exportSnapshot } = await import('../../api/export.js');
      const compression: Compression | undefined = options.zstd ? 'zstd' : options.gzip ? 'gzip' : undefined;
      const result = await exportSnapshot({ ...commonOptions(command), revision, compression, output: layerOutput(options.output) });
      clearProgress();
      printLayerResult(result, options.output, options.json);
    });
}
