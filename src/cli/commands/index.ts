// The list of snap's commands, in the order `snap --help` shows them. Each command imports its
// library module (src/api) inside its action, so that a run loads only the code of its command.

import type { Command } from 'commander';
import * as branch from './branch.js';
import * as checkout from './checkout.js';
import * as commit from './commit.js';
import * as completion from './completion.js';
import * as diff from './diff.js';
import * as exportCommand from './export.js';
import * as init from './init.js';
import * as log from './log.js';
import * as reflog from './reflog.js';
import * as reset from './reset.js';
import * as show from './show.js';
import * as status from './status.js';
import * as tag from './tag.js';

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
  show,
  diff,
  exportCommand,
  checkout,
  branch,
  tag,
  reset,
  reflog,
  completion,
];
