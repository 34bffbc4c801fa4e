// rsync's everyday flags, differential against real rsync (issue 15): for every flag gsyncd
// passes on, alone with -a and in the common combinations, on the hard tree:
//  1. `gsyncd --once FLAGS`, over a loopback sshd through the slave gsyncd, leaves a slave
//     that a previous sync and some local life left (a newer file, a missing one, an extra
//     one, a shorter one) exactly as `rsync FLAGS --delete` leaves a copy of it;
//  2. gsyncd live, after a scripted series of changes, converges on what the same rsync
//     gives the copy (backups, which each send makes, as a superset).
// Compared with `rsync -anicHAX --delete` both ways. The refused flags are in bad-input.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { converge } from '../helpers/filter-oracle.js';
import { afterLiveChanges, backupExcludes, caseName, FLAG_CASES, flagDifferences, liveChanges, missingBackups, perturbSlave, prepareMaster, type FlagCase } from '../helpers/flag-cases.js';
import { exec } from '../helpers/exec.js';
import { gsyncdBin, remoteGsyncdArgs, startGsyncd } from '../helpers/gsyncd.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { makeHardTree } from '../helpers/tree.js';

async function rsyncOracle(k: FlagCase, master: string, oracle: string): Promise<void> {
  const r = await exec('rsync', [...k.args, ...(k.oracle ?? []), '--delete', `${master}/`, `${oracle}/`]);
  assert.equal(r.code, 0, `rsync ${caseName(k)}: ${r.stderr}`);
}

interface Prepared {
  readonly master: string;
  readonly slave: string;
  readonly oracle: string;
  readonly state: string;
}

/** The hard tree, a slave as an earlier sync and local life left it, and a copy of that slave for rsync. */
async function prepare(t: Parameters<typeof scopeFor>[0], k: FlagCase): Promise<Prepared> {
  const layout = await makeLayout(scopeFor(t), 'flags');
  const { master, slave } = layout;
  const oracle = path.join(layout.base, 'oracle');
  makeHardTree(master);
  prepareMaster(master, k);
  assert.equal((await exec('rsync', ['-aHAX', `${master}/`, `${slave}/`])).code, 0);
  perturbSlave(slave);
  k.prepareSlave?.(slave);
  for (const d of k.slaveDirs ?? []) mkdirSync(path.join(slave, d));
  assert.equal((await exec('cp', ['-a', `${slave}/.`, `${oracle}/`])).code, 0);
  return { master, slave, oracle, state: path.join(layout.base, 'state') };
}

/** `gsyncd --once` against rsync with the same flags; `remote`: the slave named as it is reached. */
async function onceMatches(k: FlagCase, p: Prepared, remote?: { readonly spec: string; readonly args: readonly string[] }): Promise<void> {
  await rsyncOracle(k, p.master, p.oracle);
  const args = ['--once', '--state-dir', p.state, ...(remote?.args ?? []), ...k.args, p.master, remote?.spec ?? p.slave];
  const once = await exec(process.execPath, [gsyncdBin, ...args], { env: { ...process.env, GSYNCD_STATE_DIR: p.state } });
  assert.equal(once.code, 0, `gsyncd --once: exit ${String(once.code)}\n${once.stderr}`);
  assert.equal(await flagDifferences(p.oracle, p.slave, k), '', 'gsyncd --once leaves what rsync leaves');
}

// --fake-super acts on the local side of a transfer: both sides when rsync copies locally,
// the master's alone over SSH (as with rsync: -M--fake-super reaches the other side). Its
// --once runs locally; every other case's over SSH.
const localOnly = (k: FlagCase): boolean => k.args.includes('--fake-super');

describe('rsync flags: gsyncd --once (over SSH) and live end where rsync with the same flags ends', { concurrency: 6 }, () => {
  let sshd: Sshd | undefined;
  const remote = (slave: string): { spec: string; args: string[] } => {
    if (!sshd) throw new Error('no sshd');
    return { spec: sshd.slaveSpec(slave), args: ['-e', sshd.rsh, ...remoteGsyncdArgs()] };
  };
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
  });
  for (const k of FLAG_CASES) {
    it(caseName(k), { timeout: 120_000 }, async (t) => {
      const p = await prepare(t, k);
      const { master, slave, oracle, state } = p;
      // 1. --once against rsync: through the slave gsyncd, whose check must let the flag's
      // server form through.
      await onceMatches(k, p, localOnly(k) ? undefined : remote(slave));

      // 2. Live (a local slave): the scripted changes, then the same rsync on the copy.
      const g = await startGsyncd([...k.args, '--batch-delay', '0.2', '--log-level', 'DEBUG', master, slave], { stateDir: path.join(state, 'live') });
      try {
        // The slave is in sync already: the crawl finds nothing, and what it may still run
        // (a recheck) only overlaps the changes, which the comparison waits out.
        await g.waitForLog('Changelog Crawl started', 30_000);
        liveChanges(master);
        afterLiveChanges(master, k);
        await rsyncOracle(k, master, oracle);
        await converge(() => flagDifferences(oracle, slave, k, backupExcludes(k)), `${caseName(k)}: live changes`, 30_000);
        assert.deepEqual(missingBackups(oracle, slave, k), [], 'every file rsync backed up is backed up on the slave');
        await g.stop();
      } catch (e) {
        throw new Error(`${e instanceof Error ? e.message : String(e)}\n${g.tail(40)}`);
      } finally {
        await g.dispose();
      }
    });
  }
});
