// snap tag: name snapshots, as git's lightweight and annotated tags.

import { SnapError } from '../errors.js';
import { checkRefName, formatSignature, type Signature } from '../store/refs.js';
import { peelToCommit, readCommit, resolveRevision } from '../store/revision.js';
import { identity, openStore, type Store } from '../store/store.js';
import type { CommonOptions } from './common.js';

/** One tag. */
export interface TagInfo {
  /** The short name (v1, not refs/tags/v1). */
  name: string;
  /** What the ref holds: the commit id for a lightweight tag, the tag object's id for an annotated one. */
  oid: string;
  /** The commit the tag names (annotated tags peeled). */
  commit: string;
  annotated: boolean;
  /** The annotated tag's message, or the commit's subject line for a lightweight tag. */
  message: string;
  /** Who made an annotated tag, and when. */
  tagger?: Signature;
}

/** Options of createTag. */
export interface CreateTagOptions extends CommonOptions {
  name: string;
  /** The snapshot to tag (default HEAD). */
  revision?: string;
  /** A message makes an annotated tag (a tag object with tagger and date), as git tag -m. */
  message?: string;
  /** Replace an existing tag of that name. */
  force?: boolean;
}

/** Result of createTag. */
export interface CreateTagResult extends TagInfo {
  /** The commit the tag pointed at before --force moved it. */
  replaced?: string;
}

/**
 * Creates refs/tags/NAME at a snapshot: lightweight, or annotated when `message` is given. Throws
 * USAGE for a name git would refuse, ALREADY_EXISTS when the tag exists and `force` is unset.
 */
export async function createTag(options: CreateTagOptions): Promise<CreateTagResult> {
  checkRefName(options.name, 'tag');
  const store = await openStore(options);
  const ref = `refs/tags/${options.name}`;
  const commit = await resolveRevision(store, options.revision ?? 'HEAD');
  const existing = await store.refs.read(ref);
  if (existing && !options.force) {
    throw new SnapError('ALREADY_EXISTS', `tag '${options.name}' already exists (at ${(await peelToCommit(store, existing)).slice(0, 7)}); use -f to move it, or pick another name`);
  }
  const conflict = await store.refs.conflicting(ref);
  if (conflict) throw new SnapError('ALREADY_EXISTS', `tag '${options.name}' cannot be made while '${conflict}' exists; pick another name`);
  const who = identity(store);
  let oid = commit;
  let tagger: Signature | undefined;
  if (options.message !== undefined) {
    tagger = who;
    const message = options.message.endsWith('\n') ? options.message : `${options.message}\n`;
    const text = `object ${commit}\ntype commit\ntag ${options.name}\ntagger ${formatSignature(who)}\n\n${message}`;
    oid = await store.objects.write('tag', Buffer.from(text, 'utf8'));
  }
  const subject = (await readCommit(store, commit)).message.split('\n')[0];
  await store.refs.update(ref, oid, existing, who, existing ? `tag: moving to ${options.revision ?? 'HEAD'}` : `tag: tagging ${commit.slice(0, 7)} (${subject})`);
  return {
    name: options.name, oid, commit, annotated: tagger !== undefined,
    message: options.message ?? subject, ...(tagger ? { tagger } : {}),
    ...(existing ? { replaced: await peelToCommit(store, existing) } : {}),
  };
}

/** Deletes tags. Throws NOT_FOUND naming the first missing one (nothing is deleted then). */
export async function deleteTags(options: CommonOptions & { names: string[] }): Promise<TagInfo[]> {
  const store = await openStore(options);
  const found: TagInfo[] = [];
  for (const name of options.names) {
    const oid = await store.refs.read(`refs/tags/${name}`);
    if (!oid) throw new SnapError('NOT_FOUND', `tag '${name}' not found; run 'snap tag' to list tags`);
    found.push(await describeTag(store, name, oid));
  }
  for (const tag of found) await store.refs.delete(`refs/tags/${tag.name}`, tag.oid);
  return found;
}

/** Lists tags sorted by name, optionally only those matching shell glob patterns (as git tag -l). */
export async function listTags(options: CommonOptions & { patterns?: string[] } = {}): Promise<TagInfo[]> {
  const store = await openStore(options);
  const matchers = (options.patterns ?? []).map(globToRegExp);
  const tags: TagInfo[] = [];
  for (const ref of await store.refs.list('refs/tags/')) {
    const name = ref.name.slice('refs/tags/'.length);
    if (matchers.length > 0 && !matchers.some((re) => re.test(name))) continue;
    tags.push(await describeTag(store, name, ref.oid));
  }
  return tags;
}

async function describeTag(store: Store, name: string, oid: string): Promise<TagInfo> {
  const object = await store.objects.read(oid);
  if (object.type === 'tag') {
    const text = object.content.toString('utf8');
    const split = text.indexOf('\n\n');
    const headers = split < 0 ? text : text.slice(0, split);
    const tagger = /^tagger (.*) <([^>]*)> (\d+) ([+-])(\d\d)(\d\d)$/m.exec(headers);
    const offset = tagger ? Number(tagger[5]) * 60 + Number(tagger[6]) : 0;
    return {
      name, oid, commit: await peelToCommit(store, oid), annotated: true,
      message: split < 0 ? '' : text.slice(split + 2).replace(/\n$/, ''),
      ...(tagger ? { tagger: { name: tagger[1], email: tagger[2], timestamp: Number(tagger[3]), timezoneOffset: tagger[4] === '-' ? -offset : offset } } : {}),
    };
  }
  const commit = await readCommit(store, oid);
  return { name, oid, commit: commit.oid, annotated: false, message: commit.message.split('\n')[0] };
}

/** Turns a shell glob (*, ?, [...]) into an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) source += '\\[';
      else {
        source += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else source += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
