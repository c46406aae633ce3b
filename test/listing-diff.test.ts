// The native comparison of two stored versions of a directory: tree entries and metadata lines
// that differ, and the lookup of entries and lines by name.

import { describe, expect, it } from 'vitest';
import { findMetaLines, findTreeEntries, unmatchedMetaNames, unmatchedTreeNames } from '../src/native/index.js';
import { META_HEADER } from '../src/store/meta-format.js';
import { MODE_FILE, MODE_TREE, encodeTree, type TreeEntry } from '../src/store/tree-object.js';

const ID_1 = '1'.repeat(40);
const ID_2 = '2'.repeat(40);
const ID_3 = '3'.repeat(40);

function entry(name: string, oid: string, mode = MODE_FILE): TreeEntry {
  return { mode, name: Buffer.from(name, 'latin1'), oid };
}

function tree(...entries: TreeEntry[]): Buffer {
  return encodeTree(entries);
}

function meta(...lines: string[]): Buffer {
  return Buffer.from([META_HEADER, ...lines, ''].join('\n'), 'latin1');
}

describe('unmatchedTreeNames', () => {
  it('lists changed, added and removed entries', () => {
    const a = tree(entry('same', ID_1), entry('changed', ID_1), entry('removed', ID_1), entry('dir', ID_2, MODE_TREE));
    const b = tree(entry('same', ID_1), entry('changed', ID_2), entry('added', ID_1), entry('dir', ID_3, MODE_TREE));

    expect(unmatchedTreeNames(a, b)).toEqual(['added', 'changed', 'dir', 'removed']);
  });

  it('lists nothing for equal trees', () => {
    const a = tree(entry('x', ID_1), entry('y', ID_2, MODE_TREE));

    expect(unmatchedTreeNames(a, Buffer.from(a))).toEqual([]);
  });

  it('lists a mode change', () => {
    expect(unmatchedTreeNames(tree(entry('x', ID_1)), tree(entry('x', ID_1, '100755')))).toEqual(['x']);
  });

  it('lists every entry against an empty tree', () => {
    const a = tree(entry('x', ID_1), entry('y', ID_2));

    expect(unmatchedTreeNames(a, Buffer.alloc(0))).toEqual(['x', 'y']);
    expect(unmatchedTreeNames(Buffer.alloc(0), a)).toEqual(['x', 'y']);
  });

  it('lists a name whose entry became a subtree', () => {
    const names = unmatchedTreeNames(tree(entry('n', ID_1), entry('n.txt', ID_2)), tree(entry('n', ID_1, MODE_TREE), entry('n.txt', ID_2)));

    expect(new Set(names)).toEqual(new Set(['n']));
  });

  it('keeps bytes of names that are not UTF-8', () => {
    const name = '\xff\x01name';

    expect(unmatchedTreeNames(tree(entry(name, ID_1)), tree())).toEqual([name]);
  });

  it('returns undefined for a damaged tree', () => {
    const damaged = tree(entry('x', ID_1)).subarray(0, 12);

    expect(unmatchedTreeNames(damaged, tree())).toBeUndefined();
    expect(unmatchedTreeNames(tree(), damaged)).toBeUndefined();
  });

  it('finds changes in unsorted trees', () => {
    // encodeTree sorts, so the unsorted trees are joined from one-entry trees.
    const a = Buffer.concat([tree(entry('z', ID_1)), tree(entry('m', ID_1)), tree(entry('a', ID_1))]);
    const b = Buffer.concat([tree(entry('z', ID_1)), tree(entry('m', ID_2)), tree(entry('a', ID_1))]);

    expect(unmatchedTreeNames(a, b)).toContain('m');
  });

  it('agrees with JS on random trees', () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 50; round++) {
      const pick = (): Map<string, TreeEntry> => {
        const entries = new Map<string, TreeEntry>();
        for (let i = random(30); i > 0; i--) {
          const name = `n${random(40)}${random(3) === 0 ? '.d' : ''}`;
          entries.set(name, entry(name, [ID_1, ID_2][random(2)], [MODE_FILE, MODE_TREE][random(2)]));
        }
        return entries;
      };
      const a = pick();
      const b = pick();
      const expected = new Set<string>();
      for (const name of new Set([...a.keys(), ...b.keys()])) {
        const x = a.get(name);
        const y = b.get(name);
        if (x?.mode !== y?.mode || x?.oid !== y?.oid) expected.add(name);
      }

      expect(new Set(unmatchedTreeNames(tree(...a.values()), tree(...b.values())))).toEqual(expected);
    }
  });
});

describe('unmatchedMetaNames', () => {
  it('lists changed, added and removed lines', () => {
    const a = meta('a f 0644 0 0 1.000000000 size=1', 'b f 0644 0 0 1.000000000 size=1', 'c d 0755 0 0 1.000000000');
    const b = meta('a f 0644 0 0 1.000000000 size=1', 'b f 0600 0 0 1.000000000 size=1', 'd d 0755 0 0 1.000000000');

    expect(unmatchedMetaNames(a, b)).toEqual(['b', 'c', 'd']);
  });

  it('lists nothing for equal blobs', () => {
    const a = meta('a f 0644 0 0 1.000000000 size=1');

    expect(unmatchedMetaNames(a, Buffer.from(a))).toEqual([]);
  });

  it('returns names as written, percent-encoded', () => {
    expect(unmatchedMetaNames(meta('a%20b f 0644 0 0 1.000000000 size=1'), meta())).toEqual(['a%20b']);
  });

  it('skips the header line of each blob', () => {
    expect(unmatchedMetaNames(meta(), Buffer.from('snap-meta 2\n'))).toEqual([]);
  });
});

describe('findTreeEntries', () => {
  const content = tree(entry('a', ID_1), entry('b', ID_2, MODE_TREE), entry('c', ID_3));

  it('returns the offset of each entry', () => {
    const offsets = findTreeEntries(content, ['c', 'a', 'b', 'missing']);

    expect([...offsets!]).toEqual([content.indexOf('100644 c\0'), 0, content.indexOf('40000 b\0'), -1]);
  });

  it('returns an empty list for no names', () => {
    expect([...findTreeEntries(content, [])!]).toEqual([]);
  });

  it('returns undefined for a damaged tree', () => {
    expect(findTreeEntries(content.subarray(0, content.length - 3), ['a'])).toBeUndefined();
  });
});

describe('findMetaLines', () => {
  const blob = meta('a f 0644 0 0 1.000000000 size=1', 'a%20b d 0755 0 0 1.000000000');

  it('returns the offset of each line', () => {
    const offsets = findMetaLines(blob, ['a%20b', 'a', 'b']);

    expect([...offsets]).toEqual([blob.indexOf('a%20b d'), blob.indexOf('a f'), -1]);
  });

  it('never matches the header line', () => {
    expect([...findMetaLines(blob, ['snap-meta'])]).toEqual([-1]);
  });
});
