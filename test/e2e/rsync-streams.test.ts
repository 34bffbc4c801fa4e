// rsync through the running slave gsyncd (issue 14): batches start no remote shell, and
// through the stream the slave still runs nothing but a checked `rsync --server` into its
// root. The remote shell's starts are counted by a forced command that records each SSH
// session and then runs what was asked, as the account's login shell would.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { waitForMirror } from '../helpers/compare.js';
import { gsyncdBin, remoteGsyncdArgs, startGsyncd, stopAndAssertClean } from '../helpers/gsyncd.js';
import { makeLayout, Scope, type Layout } from '../helpers/scope.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

const starts = (log: string): string[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l !== '') : []);

describe('rsync streams through the slave channel', () => {
  const scope = new Scope();
  let sshd: Sshd;
  let layout: Layout;
  let log: string;

  before(async () => {
    sshd = await startSshd();
    scope.defer(() => sshd.stop());
    layout = await makeLayout(scope, 'rsync-streams');
    log = path.join(layout.outside, 'shell-starts');
    const shell = path.join(layout.outside, 'login-shell');
    writeFileSync(shell, `#!/bin/sh\nprintf '%s\\n' "$SSH_ORIGINAL_COMMAND" >> '${log}'\nexec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n`);
    chmodSync(shell, 0o755);
    await sshd.setAuthorizedKeyOptions(`command="${shell}"`);
  });
  after(() => scope.close());

  for (const transport of ['channel', 'ssh'] as const) {
    it(`--rsync-transport ${transport}: ${transport === 'channel' ? 'no remote shell starts per batch' : 'a remote shell per batch (what the channel saves)'}`, { timeout: 90_000 }, async () => {
      const master = path.join(layout.master, transport);
      const slave = path.join(layout.slave, transport);
      mkdirSync(master);
      writeFileSync(path.join(master, 'first'), 'first\n');
      rmSync(log, { force: true });
      const g = await startGsyncd(['-e', sshd.rsh, ...remoteGsyncdArgs(), '--rsync-transport', transport, '--batch-delay', '0.1', master, sshd.slaveSpec(slave)]);
      scope.defer(() => g.dispose());
      await g.waitForLog('Changelog Crawl started', 60_000);
      await waitForMirror(master, slave, 30_000);
      const atStart = starts(log).length;
      for (let i = 0; i < 5; i++) {
        writeFileSync(path.join(master, `batch-${String(i)}`), `batch ${String(i)}\n`.repeat(1000));
        await waitForMirror(master, slave, 30_000);
      }
      const batches = g.stderrLines.filter((l) => l.includes('batch done')).length;
      assert.ok(batches >= 5, g.tail());
      const live = starts(log).slice(atStart);
      if (transport === 'channel') {
        // The session's own: its channel and its Full Crawl; none since.
        assert.deepEqual(live, [], `remote shells started by ${String(batches)} batches`);
        assert.ok(atStart <= 3, starts(log).join('\n'));
      } else {
        assert.ok(live.length >= 5 && live.every((c) => c.startsWith('rsync --server')), live.join('\n'));
      }
      await stopAndAssertClean(g);
    });
  }
});

describe('gsyncd slave: an rsync stream runs only a checked rsync --server inside the root', () => {
  for (const restrict of [false, true]) {
    it(`refuses a sender, unchecked options and a destination outside${restrict ? ' (forced-command mode)' : ''}`, { timeout: 30_000 }, async (t) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'gsyncd-slave-streams-'));
      t.after(() => {
        rmSync(dir, { recursive: true, force: true });
      });
      const root = path.join(dir, 'root');
      const outside = path.join(dir, 'outside');
      mkdirSync(root);
      mkdirSync(outside);
      const args = [gsyncdBin, 'slave', '--log-file', path.join(dir, 'slave.log'), ...(restrict ? ['--restrict', '--root', root] : [])];
      const env = { ...process.env, ...(restrict ? { SSH_ORIGINAL_COMMAND: 'gsyncd slave' } : {}) };
      const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      t.after(() => child.kill('SIGKILL'));
      const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const next = async (): Promise<Record<string, unknown>> => {
        const r = await replies.next();
        assert.equal(r.done, false, 'the slave closed the channel');
        return JSON.parse(r.value) as Record<string, unknown>;
      };
      const send = (m: object): void => {
        child.stdin.write(`${JSON.stringify(m)}\n`);
      };
      send({ type: 'hello', protocol: 1, version: 'test', root });
      assert.equal((await next())['streams'], true);
      const refused = async (stream: number, words: string[], why: RegExp): Promise<void> => {
        send({ type: 'rsync', stream, words });
        const r = await next();
        assert.deepEqual([r['type'], r['stream'], r['code']], ['exit', stream, 3], JSON.stringify(r));
        assert.match(String(r['reason']), why);
      };
      await refused(1, ['rsync', '--server', '--sender', '-logDtpr', '.', `${root}/`], /--sender/);
      await refused(2, ['rsync', '--server', '-logDtpr', '--log-file=/tmp/x', '.', `${root}/`], /--log-file/);
      await refused(3, ['rsync', '--server', '-e', 'sh -c id', '.', `${root}/`], /not allowed|exactly ". DEST"/);
      await refused(4, ['rsync', '--server', '-logDtpr', '.', `${outside}/`], /outside/);
      await refused(5, ['rsync', '--server', '-logDtpr', '.', `${root}/../outside/`], /outside/);
      await refused(6, ['sh', '-c', 'touch /tmp/pwned'], /rsync --server/);
      // A checked one runs: killed before it says anything, it ends with an exit.
      send({ type: 'rsync', stream: 7, words: ['rsync', '--server', '-logDtpre.iLsfxCIvu', '.', `${root}/`] });
      send({ type: 'kill', stream: 7 });
      for (;;) {
        const r = await next();
        if (r['type'] === 'exit' && r['stream'] === 7) break;
      }
      assert.deepEqual(readdirSync(outside), []);
      child.stdin.end();
      assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0);
    });
  }
});
