/** src/config/tunables.ts: the one table, and the names it answers to. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TUNABLES, allNames, envName, findTunable, normaliseName } from '../../src/config/tunables.js';

describe('normaliseName', () => {
  const CASES: readonly (readonly [string, string])[] = [
    ['sync-jobs', 'sync-jobs'],
    ['sync_jobs', 'sync-jobs'],
    ['SYNC_JOBS', 'sync-jobs'],
    ['  Sync-Jobs  ', 'sync-jobs'],
    ['rsh', 'rsh'],
  ];
  for (const [raw, expected] of CASES) {
    it(`${JSON.stringify(raw)} → ${expected}`, () => {
      assert.equal(normaliseName(raw), expected);
    });
  }
});

describe('findTunable', () => {
  it('finds a tunable by its name in any spelling', () => {
    assert.equal(findTunable('sync_jobs')?.name, 'sync-jobs');
    assert.equal(findTunable('LOG-LEVEL')?.name, 'log-level');
  });

  it('finds a tunable by an alias: rsh is ssh-command', () => {
    assert.equal(findTunable('rsh')?.name, 'ssh-command');
  });

  it('answers undefined for an unknown name', () => {
    assert.equal(findTunable('sync-jbos'), undefined);
    assert.equal(findTunable(''), undefined);
  });
});

describe('envName', () => {
  const CASES: readonly (readonly [string, string])[] = [
    ['sync-jobs', 'GSYNCD_SYNC_JOBS'],
    ['ssh-command', 'GSYNCD_SSH_COMMAND'],
    ['once', 'GSYNCD_ONCE'],
    ['exclude-from', 'GSYNCD_EXCLUDE_FROM'],
  ];
  for (const [name, expected] of CASES) {
    it(`${name} → ${expected}`, () => {
      const t = findTunable(name);
      assert.ok(t);
      assert.equal(envName(t), expected);
    });
  }
});

describe('TUNABLES', () => {
  it('has unique names, aliases and short flags', () => {
    const names = TUNABLES.flatMap((t) => [t.name, ...(t.aliases ?? [])]);
    assert.equal(new Set(names).size, names.length);
    const shorts = TUNABLES.flatMap((t) => (t.short === undefined ? [] : [t.short]));
    assert.equal(new Set(shorts).size, shorts.length);
  });

  it('spells every name in lower case with dashes, as normaliseName gives it', () => {
    for (const t of TUNABLES) assert.equal(normaliseName(t.name), t.name);
  });

  it('gives every choice tunable a default among its choices, and every range a default inside it', () => {
    for (const t of TUNABLES) {
      if (t.type === 'choice') assert.ok(t.choices?.includes(t.default as string), t.name);
      if (typeof t.default === 'number') {
        if (t.min !== undefined) assert.ok(t.default >= t.min, t.name);
        if (t.max !== undefined) assert.ok(t.default <= t.max, t.name);
      }
    }
  });

  it('keeps -c for --config-file and -e for --ssh-command, as CLI.md says', () => {
    assert.equal(findTunable('config-file')?.short, 'c');
    assert.equal(findTunable('ssh-command')?.short, 'e');
    assert.equal(findTunable('filter')?.short, 'f');
    assert.equal(findTunable('checksum')?.short, undefined);
  });

  it('lists every name and alias in allNames', () => {
    const all = allNames();
    for (const t of TUNABLES) {
      assert.ok(all.includes(t.name), t.name);
      for (const a of t.aliases ?? []) assert.ok(all.includes(a), a);
    }
    assert.equal(all.length, TUNABLES.length + TUNABLES.reduce((n, t) => n + (t.aliases?.length ?? 0), 0));
  });
});
