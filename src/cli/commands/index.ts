// The list of snap's commands, in the order `snap --help` shows them.

import type { Command } from 'commander';
import * as checkout from './checkout.js';
import * as commit from './commit.js';
import * as diff from './diff.js';
import * as exportCommand from './export.js';
import * as init from './init.js';
import * as log from './log.js';
import * as status from './status.js';

/** A command module: registers one subcommand on the program. */
export interface CommandModule {
  register(program: Command): void;
}

/** Every command module. */
export const commands: CommandModule[] = [
  init,
  commit,
  status,
  log,
  diff,
  exportCommand,
  checkout,
];
