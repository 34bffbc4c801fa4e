// `gsyncd monitor -c FILE`: two sessions from one config file; a worker killed with -9 is
// restarted; SIGHUP applies a changed session, starts an added one and stops a removed one,
// while an unchanged session keeps running (same pid) and keeps what it had queued; a
// session that stays Faulty past faulty-restart is restarted; SIGTERM stops them all.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { waitForMirror } from '../helpers/compare.js';
import { startGsyncd, stopAndAssertClean } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { makeSmallTree } from '../helpers/tree.js';
import { pollUntil } from '../helpers/wait.js';

interface Status {
  status: string;
  pid?: number;
}

describe('gsyncd monitor', () => {
  it('runs two sessions, restarts a killed worker, reloads on SIGHUP and restarts a Faulty one', { timeout: 180_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'monitor');
    const dir = (name: string): string => path.join(layout.outside, name);
    for (const m of ['m1', 'm2', 'm3']) makeSmallTree(dir(m));
    const state = dir('state');
    const conf = dir('gsyncd.conf');
    const section = (name: string, m: string, s: string, extra = ''): string => `[session ${name}]\nmaster: ${dir(m)}\nslave: ${dir(s)}\n${extra}`;
    writeFileSync(conf, `# two sessions\nbatch-delay: 0.5\n${section('one', 'm1', 's1')}${section('two', 'm2', 's2')}`);
    const status = (name: string): Status | undefined => {
      try {
        return JSON.parse(readFileSync(path.join(state, name, 'status.json'), 'utf8')) as Status;
      } catch {
        return undefined;
      }
    };
    const activePid = (name: string, not?: number): Promise<number> =>
      pollUntil(
        () => {
          const s = status(name);
          return s?.status === 'Active' && s.pid !== undefined && s.pid !== not ? s.pid : undefined;
        },
        () => `session ${name} Active${not === undefined ? '' : ` with a pid other than ${not}`}: ${JSON.stringify(status(name))}`,
        { timeoutMs: 30_000 },
      );

    const mon = await startGsyncd(['monitor', '-c', conf, '--state-dir', state], { noStateDir: true, stateDir: state });
    t.after(() => mon.dispose());
    await mon.waitForLog(/monitor sessions .*started=one,two/, 15_000);
    await waitForMirror(dir('m1'), dir('s1'), 30_000);
    await waitForMirror(dir('m2'), dir('s2'), 30_000);
    assert.ok(existsSync(path.join(state, 'one', 'gsyncd.log')), "a worker logs to its session's directory");

    // A worker killed with -9 is restarted, and mirrors again.
    const onePid = await activePid('one');
    process.kill(onePid, 'SIGKILL');
    await mon.waitForLog(/worker died; restarting .*session=one .*signal=SIGKILL/, 10_000);
    const oneAgain = await activePid('one', onePid);
    writeFileSync(path.join(dir('m1'), 'after-kill.txt'), 'after\n');
    await waitForMirror(dir('m1'), dir('s1'), 30_000);

    // SIGHUP: two changes (an exclude), three is added (Faulty after 2 s is restarted), one is untouched.
    const twoPid = await activePid('two');
    writeFileSync(path.join(dir('m1'), 'across-reload.txt'), 'kept\n');
    writeFileSync(conf, `${readFileSync(conf, 'utf8')}exclude: *.skip\n${section('three', 'm3', 's3', 'faulty-restart: 2\n')}`);
    const from = mon.stderrLines.length;
    process.kill(mon.pid, 'SIGHUP');
    await mon.waitForLog(/monitor sessions .*started=three .*restarted=two .*kept=one/, 30_000, from);
    assert.equal(await activePid('one'), oneAgain, 'an unchanged session keeps running');
    await activePid('two', twoPid);
    await waitForMirror(dir('m1'), dir('s1'), 30_000);
    await waitForMirror(dir('m3'), dir('s3'), 30_000);
    writeFileSync(path.join(dir('m2'), 'new.skip'), 'excluded\n');
    writeFileSync(path.join(dir('m2'), 'new.txt'), 'sent\n');
    await pollUntil(() => (existsSync(path.join(dir('s2'), 'new.txt')) ? true : undefined), () => 'new.txt on s2', { timeoutMs: 30_000 });
    assert.ok(!existsSync(path.join(dir('s2'), 'new.skip')), 'the reloaded exclude applies');

    // The master of three goes away: Faulty, restarted after faulty-restart; back, it mirrors.
    const threePid = await activePid('three');
    renameSync(dir('m3'), dir('m3-away'));
    await pollUntil(() => (status('three')?.status === 'Faulty' ? true : undefined), () => 'three Faulty', { timeoutMs: 30_000 });
    await mon.waitForLog(/worker Faulty too long; restarting .*session=three/, 30_000);
    renameSync(dir('m3-away'), dir('m3'));
    mkdirSync(path.join(dir('m3'), 'back'));
    writeFileSync(path.join(dir('m3'), 'back', 'again.txt'), 'again\n');
    await activePid('three', threePid);
    await waitForMirror(dir('m3'), dir('s3'), 60_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\nsession three's log:\n${readFileSync(path.join(state, 'three', 'gsyncd.log'), 'utf8').split('\n').slice(-25).join('\n')}\nmonitor:\n${mon.tail(20)}`);
    });

    // one is removed from the file: SIGHUP stops it cleanly.
    writeFileSync(conf, readFileSync(conf, 'utf8').replace(section('one', 'm1', 's1'), ''));
    const from2 = mon.stderrLines.length;
    process.kill(mon.pid, 'SIGHUP');
    await mon.waitForLog(/monitor sessions .*stopped=one/, 60_000, from2);
    assert.equal(status('one')?.status, 'Stopped');

    await stopAndAssertClean(mon);
    for (const name of ['two', 'three']) assert.equal(status(name)?.status, 'Stopped', `${name} stopped with the monitor`);
  });

  it('refuses a config without runnable sessions, and keeps running on a broken reload', { timeout: 60_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'monitor-bad');
    const conf = path.join(layout.outside, 'gsyncd.conf');
    const state = path.join(layout.outside, 'state');
    writeFileSync(conf, '[session half]\nmaster: /srv\n');
    const none = await startGsyncd(['monitor', '-c', conf, '--state-dir', state], { noStateDir: true, stateDir: state });
    t.after(() => none.dispose());
    const exit = await none.waitForExit(15_000);
    assert.equal(exit.code, 2);
    assert.match(none.stderrLines.join('\n'), /^gsyncd: monitor: .*gsyncd\.conf has no \[session NAME\] with master: and slave: to run$/m);

    makeSmallTree(layout.master);
    writeFileSync(conf, `[session ok]\nmaster: ${layout.master}\nslave: ${layout.slave}\n`);
    const mon = await startGsyncd(['monitor', '-c', conf, '--state-dir', state], { noStateDir: true, stateDir: state });
    t.after(() => mon.dispose());
    await mon.waitForLog('monitor sessions', 15_000);
    await waitForMirror(layout.master, layout.slave, 30_000);
    writeFileSync(conf, `${readFileSync(conf, 'utf8')}sync-jobs: many\n`);
    process.kill(mon.pid, 'SIGHUP');
    await mon.waitForLog(/reload refused; the sessions keep running as they were .*gsyncd\.conf:4: sync-jobs: expected an integer/, 15_000);
    writeFileSync(path.join(layout.master, 'still.txt'), 'still mirrored\n');
    await waitForMirror(layout.master, layout.slave, 30_000);
    await stopAndAssertClean(mon);
  });
});
