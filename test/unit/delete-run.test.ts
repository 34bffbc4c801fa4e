/**
 * src/sync/delete-run.ts (the rules) and the delete runs of src/sync/batch.ts against the
 * real rsync of this machine: gone paths, nested, with every hard name, are deleted on the
 * slave and nothing else is touched, as missing entries and by their parents (what a slave
 * whose rsync refuses missing entries gets: Debian 12's 3.2.7 since its May 2026 security
 * update, upstream 3.4.3).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { literalPattern, planDeleteRuns } from '../../src/sync/delete-run.js';
import { DeleteMode, runBatch } from '../../src/sync/batch.js';
import type { Entry } from '../../src/sync/change-set.js';
import { runRsync, type RsyncResult } from '../../src/sync/rsync-runner.js';
import { ODD_NAMES } from '../helpers/tree.js';
import { rsyncPlan } from '../helpers/rsync-plan.js';
import { scopeFor } from '../helpers/scope.js';

describe('literalPattern', () => {
  it('leaves a path without wildcards as it is, backslashes and all', () => {
    assert.equal(literalPattern('/d/back\\slash'), '/d/back\\slash');
    assert.equal(literalPattern('/d/#x ;y'), '/d/#x ;y');
  });
  it('escapes wildcards, and then backslashes too', () => {
    assert.equal(literalPattern('/d/a*b'), '/d/a\\*b');
    assert.equal(literalPattern('/[x]/q?\\'), '/\\[x]/q\\?\\\\');
  });
});

describe('planDeleteRuns', () => {
  it('names the targets and their parents, then excludes the rest of each parent', () => {
    assert.deepEqual(planDeleteRuns(['a', 'd/x', 'd/y', 'e*/z']), [
      { targets: ['a', 'd/x', 'd/y', 'e*/z'], parents: ['', 'd', 'e*'], rules: ['+ /a', '+ /d/x', '+ /d/y', '+ /e\\*/z', '+ /d/', '+ /e\\*/', '- /*', '- /d/*', '- /e\\*/*'] },
    ]);
  });
  it('includes each parent and its ancestors as directories, once', () => {
    assert.deepEqual(planDeleteRuns(['a/b/c/x', 'a/b/y', 'a/z'])[0]?.rules, ['+ /a/b/c/x', '+ /a/b/y', '+ /a/z', '+ /a/b/c/', '+ /a/b/', '+ /a/', '- /a/b/c/*', '- /a/b/*', '- /a/*']);
  });
  it('splits where the rules would outgrow an argument list', () => {
    const many = Array.from({ length: 3000 }, (_, i) => `dir-${String(i % 50)}/${'n'.repeat(40)}-${String(i)}`);
    const runs = planDeleteRuns(many);
    assert.ok(runs.length > 1);
    assert.deepEqual(runs.flatMap((r) => r.targets).sort(), [...many].sort());
    for (const r of runs) assert.ok(r.rules.reduce((n, x) => n + x.length, 0) < 128 * 1024);
  });
});

const entry = (p: string): Entry => ({ path: p, recursive: false, since: 0, origin: 0, attempts: 0, notBefore: 0 });

const list = (root: string): string[] => {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const d of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const p = rel === '' ? d.name : `${rel}/${d.name}`;
      out.push(d.isDirectory() ? `${p}/` : p);
      if (d.isDirectory()) walk(p);
    }
  };
  walk('');
  return out.sort();
};

describe('DeleteMode', () => {
  const result = (code: number, stderr: string): RsyncResult => ({
    exit: { code, outcome: code === 0 ? 'ok' : 'fatal', meaning: '' },
    stats: { filesTransferred: 0, bytes: 0, literal: 0 },
    stderr,
    output: '',
    sent: undefined,
    seconds: 0,
  } as unknown as RsyncResult);
  it('turns to deletes by parent on the refusal of missing entries, once, and says so', () => {
    const said: string[] = [];
    const mode = new DeleteMode((m) => said.push(m));
    assert.equal(mode.refused(result(23, 'rsync: link_stat "x" failed')), false);
    assert.equal(mode.refused(result(2, 'rsync: some other protocol trouble')), false);
    assert.equal(mode.byParent, false);
    assert.equal(mode.refused(result(2, 'invalid file mode 00 for d/gone [Receiver]\nrsync error: protocol incompatibility (code 2)')), true);
    assert.equal(mode.byParent, true);
    assert.deepEqual(said, ['invalid file mode 00 for d/gone [Receiver]']);
    assert.equal(mode.refused(result(2, 'invalid file mode 00 for d/gone [Receiver]')), false);
  });
});

describe('runBatch deletes (real rsync)', () => {
  for (const byParent of [false, true]) {
  it(`deletes gone files and directories with hard names, nested and at the root, and keeps the rest (${byParent ? 'by their parents' : 'as missing entries, by parent if refused'})`, async (t) => {
    const scope = scopeFor(t);
    const dir = await scope.tempDir('delete-run');
    const master = path.join(dir, 'master');
    const slave = path.join(dir, 'slave');
    for (const root of [master, slave]) {
      mkdirSync(path.join(root, 'd', 'sub'), { recursive: true });
      writeFileSync(path.join(root, 'keep'), 'k');
      writeFileSync(path.join(root, 'd', 'keep'), 'k');
      writeFileSync(path.join(root, 'd', 'sub', 'keep'), 'k');
    }
    // Only the slave has these: the master deleted them.
    const gone: string[] = [];
    for (const name of ODD_NAMES) {
      writeFileSync(path.join(slave, 'd', name), 'x');
      gone.push(`d/${name}`);
    }
    mkdirSync(path.join(slave, 'd', 'sub', 'gone dir', 'deep'), { recursive: true });
    writeFileSync(path.join(slave, 'd', 'sub', 'gone dir', 'deep', 'f'), 'x');
    gone.push('d/sub/gone dir');
    writeFileSync(path.join(slave, 'top*gone'), 'x');
    gone.push('top*gone');
    // A path queued alone whose directory went too: its directory goes.
    mkdirSync(path.join(slave, 'went', 'x'), { recursive: true });
    writeFileSync(path.join(slave, 'went', 'x', 'y'), 'x');
    gone.push('went/x/y');
    // A slave file the master never had, beside the deletes: not asked for, so kept.
    writeFileSync(path.join(slave, 'd', 'unrelated'), 'u');

    const plan = rsyncPlan({ source: `${master}/`, dest: `${slave}/` });
    // A file that changed beside them goes in its own run.
    writeFileSync(path.join(master, 'd', 'keep'), 'changed');
    const deletes = new DeleteMode();
    deletes.byParent = byParent;
    const result = await runBatch([...gone, 'd/keep'].map(entry), { plan, rsyncCommand: 'rsync', runRsync, masterRoot: master, killAfterMs: 10_000, deletes });
    assert.equal(result.outcome, 'ok', result.runs.map((r) => r.result.stderr).join('\n'));
    assert.deepEqual(list(slave), [...list(master), 'd/unrelated'].sort());
    assert.equal(readFileSync(path.join(slave, 'd', 'keep'), 'utf8'), 'changed');
    rmSync(dir, { recursive: true, force: true });
  });
  }
});

describe('runBatch deletes under --iconv (real rsync)', () => {
  for (const byParent of [false, true]) {
    it(`deletes the slave's converted name, not the master's (${byParent ? 'by their parents: the directory resent whole' : 'as missing entries'})`, async (t) => {
      const scope = scopeFor(t);
      const dir = await scope.tempDir('delete-iconv');
      const master = path.join(dir, 'master');
      const slave = path.join(dir, 'slave');
      mkdirSync(path.join(master, 'd'), { recursive: true });
      mkdirSync(path.join(slave, 'd'), { recursive: true });
      writeFileSync(path.join(master, 'd', 'keep'), 'k');
      writeFileSync(path.join(slave, 'd', 'keep'), 'k');
      // What utf8 → latin1 made of the master's "café" and "naïve dir/x" on the slave.
      writeFileSync(Buffer.from(`${slave}/d/caf\xe9`, 'latin1'), 'x');
      mkdirSync(Buffer.from(`${slave}/d/na\xefve dir`, 'latin1'));
      writeFileSync(Buffer.from(`${slave}/d/na\xefve dir/x`, 'latin1'), 'x');
      const plan = rsyncPlan({ source: `${master}/`, dest: `${slave}/`, passOn: { always: ['--iconv=utf8,latin1'], deleting: [], recursing: [] } });
      const deletes = new DeleteMode();
      deletes.byParent = byParent;
      const result = await runBatch(['d/café', 'd/naïve dir'].map(entry), { plan, rsyncCommand: 'rsync', runRsync, masterRoot: master, killAfterMs: 10_000, deletes });
      assert.equal(result.outcome, 'ok', result.runs.map((r) => r.result.stderr).join('\n'));
      assert.deepEqual(readdirSync(path.join(slave, 'd')), ['keep']);
      rmSync(dir, { recursive: true, force: true });
    });
  }
});
