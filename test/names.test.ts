// Tests of the tree name rules: which file names are stored escaped.

import { describe, expect, it } from 'vitest';
import { fromTreeKey, fromTreeName, needsEscape, toTreeName } from '../src/store/names.js';

const ZWNJ = '\u200c';
const BOM = '\ufeff';

describe('needsEscape', () => {
  it.each([
    ['.git', true],
    ['.GIT', true],
    ['.Gitmodules', true],
    ['.gitattributes', true],
    ['git~1', true],
    ['GI7EBA~1', true],
    ['a\\.git', true],
    ['a\\git~1', true],
    [`${ZWNJ}.git`, true],
    [`.g${ZWNJ}it`, true],
    [`.${BOM}GIT`, true],
    ['.snap-meta', true],
    ['.snap-', true],
    ['plain.txt', false],
    ['blob0.bin', false],
    ['.gi', false],
    ['.gxt', false],
    ['x.git', false],
    ['a\\b.git', false],
    ['file~', false],
    ['g~1', false],
    ['.snap', false],
    [`${ZWNJ}plain`, false],
    ['', false],
  ])('name %j is escaped: %s', (name, expected) => {
    expect(needsEscape(Buffer.from(name))).toBe(expected);
  });

  it('round-trips an escaped name', () => {
    const name = Buffer.from('.GIT');
    expect(toTreeName(name).toString()).toBe('.snap-name-2e474954');
    expect(fromTreeName(toTreeName(name))).toEqual(name);
  });

  it.each([['.GIT'], ['plain'], ['\xff\x01 name']])('round-trips %j as a latin1 key', (text) => {
    const name = Buffer.from(text, 'latin1');
    expect(fromTreeKey(toTreeName(name).toString('latin1'))).toBe(name.toString('latin1'));
  });
});
