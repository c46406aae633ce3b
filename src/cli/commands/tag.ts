// snap tag [NAME [REVISION]] | -d NAME... | -l [PATTERN...]

import type { Command } from 'commander';
import type { TagInfo } from '../../api/tag.js';
import { SnapError } from '../../errors.js';
import { commonOptions } from '../context.js';
import { signatureJson } from '../history-json.js';
import { info, out, outJson } from '../output.js';

/** Options of `snap tag`. */
interface TagCommandOptions {
  delete?: boolean;
  list?: boolean;
  message?: string[];
  annotate?: boolean;
  force?: boolean;
  n?: boolean;
  json?: boolean;
}

/** The JSON form of a tag. */
export function tagJson(tag: TagInfo): Record<string, unknown> {
  return {
    name: tag.name,
    ref: `refs/tags/${tag.name}`,
    oid: tag.oid,
    commit: tag.commit,
    annotated: tag.annotated,
    message: tag.message,
    tagger: tag.tagger ? signatureJson(tag.tagger) : null,
  };
}

/** Registers `snap tag`. */
export function register(program: Command): void {
  program
    .command('tag')
    .summary('name a snapshot, list tags, or delete them')
    .description(
      'With no name, list tags sorted by name (-l PATTERN: only those matching a shell glob). With NAME, tag REVISION (default HEAD): ' +
      'a lightweight tag, or an annotated tag object (tagger, date, message) with -m or -a, as git tag does. -d deletes tags. ' +
      "Tags are refs/tags/NAME in the store, so 'git tag' and 'git push --tags' see them.",
    )
    .usage('[options] [name [revision]] | -d name... | -l [pattern...]')
    .argument('[name...]', 'tag to create (then the revision, default HEAD), delete with -d, or patterns with -l')
    .option('-l, --list', 'list tags (the default with no name); names given are shell glob patterns')
    .option('-n', 'when listing, show each tag\'s message (annotated) or its snapshot\'s subject')
    .option('-d, --delete', 'delete the named tags')
    .option('-a, --annotate', 'make an annotated tag (needs -m: snap opens no editor)')
    .option('-m, --message <text>', 'annotated tag with this message; repeat for more paragraphs', collect)
    .option('-f, --force', 'replace an existing tag of that name')
    .option('--json', 'print the result as JSON (see docs/JSON-history.md)')
    .addHelpText('after', [
      '',
      'Examples:',
      '  snap tag                        # list tags',
      '  snap tag base-system            # tag HEAD',
      '  snap tag -m "before php" pre-php HEAD~1',
      "  snap tag -l 'release-*' -n",
      '  snap tag -d pre-php',
    ].join('\n'))
    .action(async (names: string[], options: TagCommandOptions, command: Command) => {
      const { createTag, deleteTags, listTags } = await import('../../api/tag.js');
      const common = commonOptions(command);
      if (options.delete) {
        if (names.length === 0) throw new SnapError('USAGE', "snap tag -d needs the names of the tags to delete, like 'snap tag -d v1'");
        const deleted = await deleteTags({ ...common, names });
        if (options.json) outJson({ deleted: deleted.map(tagJson) });
        else for (const tag of deleted) out(`Deleted tag '${tag.name}' (was ${tag.oid.slice(0, 7)})`);
        return;
      }
      if (options.list || names.length === 0) {
        const tags = await listTags({ ...common, patterns: names });
        if (options.json) {
          outJson({ tags: tags.map(tagJson) });
          return;
        }
        // git tag -n pads names to 15 columns.
        for (const tag of tags) out(options.n ? `${tag.name.padEnd(15)} ${tag.message.split('\n')[0]}` : tag.name);
        return;
      }
      if (names.length > 2) throw new SnapError('USAGE', `snap tag takes a name and at most one revision, got ${names.length} arguments; to delete several, use -d`);
      if (options.annotate && !options.message) throw new SnapError('USAGE', "snap tag -a needs -m MESSAGE: snap opens no editor");
      const message = options.message?.join('\n\n');
      const tag = await createTag({ ...common, name: names[0], revision: names[1], message, force: options.force });
      if (options.json) {
        outJson({ ...tagJson(tag), replaced: tag.replaced ?? null });
        return;
      }
      if (tag.replaced && tag.replaced !== tag.commit) info(`Updated tag '${tag.name}' (was ${tag.replaced.slice(0, 7)})`);
      else info(`Tagged ${tag.commit.slice(0, 7)} as '${tag.name}'${tag.annotated ? ' (annotated)' : ''}`);
    });
}

/** Collects repeated option values, as git does for -m. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
