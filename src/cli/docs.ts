// Generates docs/CLI.md, the full command-line reference, from the command definitions: every
// registered command's --help text, exactly as `snap COMMAND --help` prints it. Run it with
// `npm run docs:cli`; a test regenerates it in memory and fails when the file is stale.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildProgram } from './main.js';

/** Width the help text is wrapped to in the reference. */
const WIDTH = 100;

/** Captures a command's complete help (with the text added after it, such as examples). */
export function helpText(command: Command, showGlobalOptions = false): string {
  let text = '';
  command.configureOutput({
    writeOut: (str) => {
      text += str;
    },
    getOutHelpWidth: () => WIDTH,
    getOutHasColors: () => false,
  });
  command.configureHelp({ ...command.configureHelp(), showGlobalOptions });
  command.outputHelp();
  return text.replace(/[ \t]+$/gm, '').trimEnd() + '\n';
}

/** Lists a program's commands, subcommands after their parent, hidden ones left out. */
export function allCommands(program: Command): { path: string; command: Command }[] {
  const found: { path: string; command: Command }[] = [];
  const visit = (command: Command, prefix: string): void => {
    for (const sub of command.commands) {
      if ((sub as Command & { _hidden?: boolean })._hidden) continue;
      const path = `${prefix} ${sub.name()}`;
      found.push({ path, command: sub });
      visit(sub, path);
    }
  };
  visit(program, program.name());
  return found;
}

function anchor(path: string): string {
  return path.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');
}

/** Renders the whole reference as Markdown. */
export function renderCliDocs(program: Command = buildProgram()): string {
  const commands = allCommands(program);
  const lines = [
    '# snap command-line reference',
    '',
    '<!-- Generated from the command definitions by `npm run docs:cli` (src/cli/docs.ts). Do not edit:',
    '     test/cli-output.test.ts fails when this file differs from what the definitions produce. -->',
    '',
    'Every section is what `snap COMMAND --help` prints. The global options (`-C`, `--store`, `-q`,',
    '`--color`, `--no-color`, `--no-pager`, `--debug`) work with every command and are listed once, under',
    '[snap](#snap). JSON output of `--json` is described in [JSON.md](JSON.md).',
    '',
    'Exit codes: 0 success, 1 failure (and, for `snap diff --exit-code` or `--quiet`, "there are',
    'changes"), 2 usage error (unknown command or option, missing or malformed argument).',
    '',
    '| command | what it does |',
    '|---|---|',
    ...commands.map(({ path, command }) => `| [\`${path}\`](#${anchor(path)}) | ${command.summary() || command.description().split('\n')[0]} |`),
    '',
    '## snap',
    '',
    '```',
    helpText(program, true).trimEnd(),
    '```',
  ];
  for (const { path, command } of commands) {
    lines.push('', `## ${path}`, '', '```', helpText(command).trimEnd(), '```');
  }
  return lines.join('\n') + '\n';
}

/** Where the reference lives in the repository. */
export const CLI_DOCS_PATH = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../docs/CLI.md');

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  mkdirSync(dirname(CLI_DOCS_PATH), { recursive: true });
  writeFileSync(CLI_DOCS_PATH, renderCliDocs());
  process.stdout.write(`wrote ${CLI_DOCS_PATH}\n`);
}
