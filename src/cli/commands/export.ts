// snap export REV -o FILE

import type { Command } from 'commander';
import { commonOptions } from '../context.js';
import { clearProgress } from '../output.js';
import { addCompressionOptions, chosenCompression, layerOutput, printLayerResult, type CompressionFlags } from './layer-output.js';

/** Registers `snap export`. */
export function register(program: Command): void {
  const command = program
    .command('export')
    .summary('write a whole snapshot as one OCI layer')
    .description('Write every entry of a snapshot as one OCI image layer tarball (the base layer of an image), and print its diff ID, and for a compressed layer its digest and size.')
    .argument('<revision>', 'snapshot to export')
    .requiredOption('-o, --output <file>', "layer file ('-' for stdout)");
  addCompressionOptions(command)
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  snap export main~3 -o base.tar\n  snap export HEAD -o rootfs.tar.zst\n  snap export HEAD -o rootfs.tar.gz --compression-level 6')
    .action(async (revision: string, options: CompressionFlags & { output: string; json?: boolean }, command: Command) => {
      const compression = chosenCompression(options);
      const { exportSnapshot } = await import('../../api/export.js');
      const result = await exportSnapshot({ ...commonOptions(command), revision, ...compression, output: layerOutput(options.output) });
      clearProgress();
      printLayerResult(result, options.output, options.json);
    });
}
