// Commit objects: written by hand in Git's format, parsed back for history and revisions.

import { SnapError } from '../errors.js';
import { formatSignature, type Signature } from './refs.js';

/** A parsed commit. */
export interface Commit {
  oid: string;
  tree: string;
  parents: string[];
  author: Signature;
  committer: Signature;
  message: string;
}

/** Serializes a commit object's content. */
export function encodeCommit(commit: Omit<Commit, 'oid'>): Buffer {
  const lines = [`tree ${commit.tree}`];
  for (const parent of commit.parents) lines.push(`parent ${parent}`);
  lines.push(`author ${formatSignature(commit.author)}`, `committer ${formatSignature(commit.committer)}`, '');
  const message = commit.message.endsWith('\n') ? commit.message : `${commit.message}\n`;
  return Buffer.from(lines.join('\n') + '\n' + message, 'utf8');
}

/** Parses commit object content. Throws CORRUPT on malformed input. */
export function parseCommit(oid: string, content: Buffer): Commit {
  const text = content.toString('utf8');
  const split = text.indexOf('\n\n');
  const headers = (split < 0 ? text : text.slice(0, split)).split('\n');
  const message = split < 0 ? '' : text.slice(split + 2);
  let tree = '';
  const parents: string[] = [];
  let author: Signature | undefined;
  let committer: Signature | undefined;
  for (const line of headers) {
    const space = line.indexOf(' ');
    const key = line.slice(0, space);
    const value = line.slice(space + 1);
    if (key === 'tree') tree = value;
    else if (key === 'parent') parents.push(value);
    else if (key === 'author') author = parseSignature(value);
    else if (key === 'committer') committer = parseSignature(value);
  }
  if (!tree || !author || !committer) throw new SnapError('CORRUPT', `commit ${oid} is damaged; run 'git fsck' on the store`);
  return { oid, tree, parents, author, committer, message };
}

function parseSignature(text: string): Signature {
  const match = /^(.*) <([^>]*)> (-?\d+) ([+-])(\d\d)(\d\d)$/.exec(text);
  if (!match) return { name: text, email: '', timestamp: 0, timezoneOffset: 0 };
  const offset = Number(match[5]) * 60 + Number(match[6]);
  return { name: match[1], email: match[2], timestamp: Number(match[3]), timezoneOffset: match[4] === '-' ? -offset : offset };
}
