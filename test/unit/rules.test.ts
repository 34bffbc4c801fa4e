/** src/filter/rules.ts: filter arguments travel as one ordered list. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FILTER_KINDS, decodeFilterArg, encodeFilterArg, filterRsyncArgs, isFilterKind, type FilterArg } from '../../src/filter/rules.js';

describe('isFilterKind', () => {
  it('knows the five kinds, and nothing else', () => {
    for (const k of ['exclude', 'include', 'exclude-from', 'include-from', 'filter']) assert.ok(isFilterKind(k), k);
    for (const k of ['filter-rules', 'exclude_from', 'Exclude', '', 'delete']) assert.ok(!isFilterKind(k), k);
    assert.equal(FILTER_KINDS.length, 5);
  });
});

describe('encodeFilterArg and decodeFilterArg', () => {
  // [arg, encoded]
  const CASES: readonly (readonly [FilterArg, string])[] = [
    [{ kind: 'exclude', value: '*.tmp' }, 'exclude=*.tmp'],
    [{ kind: 'include', value: 'a=b=c' }, 'include=a=b=c'],
    [{ kind: 'exclude-from', value: '/etc/x' }, 'exclude-from=/etc/x'],
    [{ kind: 'filter', value: '- *.o' }, 'filter=- *.o'],
    [{ kind: 'include-from', value: '' }, 'include-from='],
  ];
  for (const [arg, encoded] of CASES) {
    it(encoded, () => {
      assert.equal(encodeFilterArg(arg), encoded);
      assert.deepEqual(decodeFilterArg(encoded), arg);
    });
  }

  for (const item of ['exclude', 'nonsense=x', '=x', 'filter-rules=x']) {
    it(`refuses ${JSON.stringify(item)}`, () => {
      assert.throws(() => decodeFilterArg(item), { message: `bad filter item ${item}` });
    });
  }
});

describe('filterRsyncArgs', () => {
  it('gives each rule to rsync unchanged, in order', () => {
    assert.deepEqual(
      filterRsyncArgs([
        { kind: 'exclude', value: '*.tmp' },
        { kind: 'include', value: 'keep.tmp' },
        { kind: 'filter', value: '- *.o' },
        { kind: 'exclude-from', value: '/etc/x' },
        { kind: 'include-from', value: '/etc/y' },
      ]),
      ['--exclude=*.tmp', '--include=keep.tmp', '--filter=- *.o', '--exclude-from=/etc/x', '--include-from=/etc/y'],
    );
    assert.deepEqual(filterRsyncArgs([]), []);
  });
});
