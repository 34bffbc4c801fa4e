/** src/config/session-file.ts and effective.ts: what `gsyncd config set|reset|list|get` write and show. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/file.js';
import { effectiveSettings, renderEffective } from '../../src/config/effective.js';
import { encodeValue, resetOption, setOption } from '../../src/config/session-file.js';
import { findTunable, type Tunable } from '../../src/config/tunables.js';

const t = (name: string): Tunable => {
  const found = findTunable(name);
  assert.ok(found, name);
  return found;
};

describe('session config: set and reset', () => {
  it('appends a new option and keeps comments and other lines', () => {
    const text = '# mine\nbatch-delay: 3\n';
    assert.equal(setOption(text, t('sync-jobs'), ['5']), '# mine\nbatch-delay: 3\nsync-jobs: 5\n');
    assert.equal(setOption('', t('sync-jobs'), ['5']), 'sync-jobs: 5\n');
  });

  it('replaces the option where it was, whatever spelling it had there', () => {
    const text = '# top\nSYNC_JOBS = 2\nbatch-delay: 3\n';
    assert.equal(setOption(text, t('sync-jobs'), ['5']), '# top\nsync-jobs: 5\nbatch-delay: 3\n');
    assert.equal(setOption('rsh: ssh -p 2\n', t('ssh-command'), ['ssh -p 3']), 'ssh-command: ssh -p 3\n');
  });

  it('writes one line per item of a list, in place of the old items', () => {
    const list = t('exclude');
    assert.equal(setOption(`x-first: 1\n${list.name}: a\n${list.name}: b\nlast: 2\n`, list, ['c', 'd']), `x-first: 1\n${list.name}: c\n${list.name}: d\nlast: 2\n`);
  });

  it('resets to nothing, and to an empty file when nothing is left', () => {
    assert.equal(resetOption('# c\nsync-jobs: 5\nbatch-delay: 3\n', t('sync-jobs')), '# c\nbatch-delay: 3\n');
    assert.equal(resetOption('sync-jobs: 5\n', t('sync-jobs')), '');
    assert.equal(resetOption('', t('sync-jobs')), '');
  });

  // Whatever a user stores reads back the same: comment marks, backslashes, quotes, spaces.
  const VALUES = ['-x # not a comment', 'a;b', 'back\\slash', 'ends\\', '"quoted"', "'single'", 'plain', 'a = b: c', '#start', 'x\\#y'];
  for (const value of VALUES) {
    it(`reads back ${JSON.stringify(value)} as written`, () => {
      const text = setOption('', t('rsync-options'), [value]);
      const parsed = parseConfig(text, 'f');
      assert.deepEqual(parsed.problems, []);
      assert.equal(parsed.defaults['rsync-options'], value, `written as ${JSON.stringify(text)} (encoded ${encodeValue(value)})`);
    });
  }
});

describe('effective settings', () => {
  it('takes each value from the last layer that has it, and says which', () => {
    const list = effectiveSettings([
      { source: 'f', settings: { 'sync-jobs': 2, 'batch-delay': 4 } },
      { source: 'f [session web]', settings: { 'batch-delay': 3 } },
      { source: 'own', settings: { 'sync-jobs': 7 } },
    ]);
    const by = new Map(list.map((e) => [e.name, e]));
    assert.deepEqual(by.get('sync-jobs'), { name: 'sync-jobs', values: ['7'], source: 'own' });
    assert.deepEqual(by.get('batch-delay'), { name: 'batch-delay', values: ['3'], source: 'f [session web]' });
    assert.deepEqual(by.get('watcher'), { name: 'watcher', values: ['inotify'], source: 'default' });
    assert.equal(by.get('max-delete'), undefined, 'an option without a default or a value is not listed');
    assert.equal(by.get('config-file'), undefined, 'a flag-only option is not listed');
  });

  it('shows filter rules of the layer that has them, by kind', () => {
    const file = parseConfig('exclude: *.o\n[session web]\ninclude: keep.o\nexclude: *.tmp\n', 'f');
    const list = effectiveSettings([
      { source: 'f', settings: file.defaults },
      { source: 'f [session web]', settings: file.sessions.get('web') ?? {} },
    ]);
    const rules = list.filter((e) => e.name === 'exclude' || e.name === 'include');
    assert.deepEqual(rules, [
      { name: 'exclude', values: ['*.tmp'], source: 'f [session web]' },
      { name: 'include', values: ['keep.o'], source: 'f [session web]' },
    ]);
  });

  it('renders valid config lines with the source as a comment', () => {
    const text = renderEffective([
      { name: 'sync-jobs', values: ['7'], source: 'own' },
      { name: 'exclude', values: ['a', 'b'], source: 'f' },
    ]);
    assert.equal(text, 'sync-jobs: 7  # own\nexclude: a    # f\nexclude: b    # f\n');
    const back = parseConfig(text, 'f');
    assert.deepEqual(back.problems, []);
    assert.equal(back.defaults['sync-jobs'], 7);
  });
});
