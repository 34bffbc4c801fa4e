/** src/monitor/plan.ts: which sessions `gsyncd monitor` runs, and what a reload changes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/file.js';
import { reconcile, workerSpecs, type WorkerSpec } from '../../src/monitor/plan.js';

const specsOf = (text: string, own: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}): WorkerSpec[] => {
  const config = parseConfig(text, '/etc/gsyncd/gsyncd.conf');
  assert.deepEqual(config.problems, []);
  const ownMap = new Map(Object.entries(own).map(([name, t]) => [name, { text: t, settings: parseConfig(t, 'own').defaults }]));
  return workerSpecs({ config, env, stateDirFlag: undefined, defaultStateDir: '/var/lib/gsyncd', own: ownMap });
};

const TWO = '[session web]\nmaster: /srv/www\nslave: b@h:/srv/www\n[session db]\nmaster: /srv/db\nslave: /backup/db\nfaulty-restart: 30\n[session partial]\nsync-jobs: 2\n';

describe('monitor: worker specs', () => {
  it('runs the sessions that have master: and slave:, each with its config, name, state and log', () => {
    const specs = specsOf(TWO);
    assert.deepEqual(specs.map((s) => s.name), ['web', 'db']);
    const [web, db] = specs;
    assert.ok(web && db);
    assert.deepEqual(web.args, [
      '--config-file', '/etc/gsyncd/gsyncd.conf', '--session', 'web', '--state-dir', '/var/lib/gsyncd', '--log-file', '/var/lib/gsyncd/web/gsyncd.log',
    ]);
    assert.equal(web.faultyRestartS, 300);
    assert.equal(db.faultyRestartS, 30);
    assert.equal(db.sessionDir, '/var/lib/gsyncd/db');
  });

  it("leaves the log where the session's config puts it, and the state where it says", () => {
    const specs = specsOf('state-dir: /srv/state\n[session web]\nmaster: /a\nslave: /b\nlog-file: /var/log/web.log\n');
    assert.deepEqual(specs[0]?.args, ['--config-file', '/etc/gsyncd/gsyncd.conf', '--session', 'web', '--state-dir', '/srv/state']);
  });

  it('changes the fingerprint of a session when its section, the defaults or its own config change, not when another does', () => {
    const base = specsOf(TWO);
    const other = specsOf(TWO.replace('faulty-restart: 30', 'faulty-restart: 31'));
    assert.equal(other[0]?.fingerprint, base[0]?.fingerprint, 'web is unchanged by a change to db');
    assert.notEqual(other[1]?.fingerprint, base[1]?.fingerprint);
    assert.notEqual(specsOf(`sync-jobs: 4\n${TWO}`)[0]?.fingerprint, base[0]?.fingerprint, 'defaults reach every session');
    assert.notEqual(specsOf(TWO, { web: 'sync-jobs: 9\n' })[0]?.fingerprint, base[0]?.fingerprint);
    assert.notEqual(specsOf(TWO.replace('slave: /backup/db', 'slave: /backup/db2'))[1]?.fingerprint, base[1]?.fingerprint);
  });
});

describe('monitor: reconcile', () => {
  it('starts added, stops removed, restarts changed and keeps the rest', () => {
    const [web, db] = specsOf(TWO);
    assert.ok(web && db);
    const running = new Map([
      ['web', web],
      ['db', db],
      ['old', { ...web, name: 'old' }],
    ]);
    const changedDb = { ...db, fingerprint: 'other' };
    const added = { ...web, name: 'new' };
    const plan = reconcile(running, [web, changedDb, added]);
    assert.deepEqual(plan.start.map((s) => s.name), ['new']);
    assert.deepEqual(plan.stop, ['old']);
    assert.deepEqual(plan.restart.map((s) => s.name), ['db']);
    assert.deepEqual(plan.keep, ['web']);
  });
});
