// snap init [DIR]

import type { Command } from 'commander';
import type { GlobalOptions } from '../context.js';
import { out, outJson } from '../output.js';
import { resolve } from 'node:path';

/** Registers `snap init`. */
export function register(program: Command): void {
  program
    .command('init')
    .summary('create a store for a rootfs')
    .description('Create a store for the rootfs DIR (default: the current directory). The store is a bare Git repository at DIR/.snap, or at --store PATH (or $SNAP_STORE), for example outside a rootfs that will be exported. It is never part of a snapshot.')
    .argument('[dir]', 'rootfs directory', '.')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  snap init                      # store at ./.snap\n  snap init /srv/rootfs\n  snap --store /var/lib/snap/web init /srv/rootfs')
    .action(async (dir: string, options: { json?: boolean }, command: Command) => {
      const { init } = await import('../../api/init.js');
      const global = command.optsWithGlobals() as GlobalOptions;
      const base = global.C ?? process.cwd();
      const store = global.store ?? process.env.SNAP_STORE;
      // A relative --store is relative to -C, as every other command resolves it.
      const result = await init({ dir: resolve(base, dir), store: store === undefined ? undefined : resolve(base, store) });
      if (options.json) outJson(result);
      else if (!global.quiet) out(`Initialized empty snap store in ${result.gitdir} for rootfs ${result.rootfs}`);
    });
}
