/**
 * src/cli/verify.ts, called in-process: flags, exit codes, output, and the remote branch
 * with a stand-in lister (a walk of a local directory: the same stream a remote gsyncd
 * sends). The built binary is driven by test/e2e/verify.test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { runVerify, type RemoteLister } from '../../src/cli/verify.js';
import type { SshEndpoint } from '../../src/endpoint/parse.js';
import { ExitCode, GsyncdError } from '../../src/errors.js';
import { walkTree } from '../../src/verify/walk.js';

class Capture extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    done();
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}

const ENV = { LC_ALL: 'C.UTF-8' };
const T = 1_600_000_000;

describe('runVerify', () => {
  let base: string;
  let master: string;
  let slave: string;
  let same: string;
  let mirror: string;
  before(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'gsyncd-verify-cli-'));
    [master, slave, same] = ['master', 'slave', 'same'].map((d) => path.join(base, d)) as [string, string, string];
    for (const root of [master, slave, same]) {
      mkdirSync(path.join(root, 'd'), { recursive: true });
      writeFileSync(path.join(root, 'd/f'), 'same');
      writeFileSync(path.join(root, 'g'), root === slave ? 'hellp' : 'hello');
      utimesSync(path.join(root, 'd/f'), T, T);
      utimesSync(path.join(root, 'g'), T, T);
      utimesSync(path.join(root, 'd'), T, T);
      utimesSync(root, T, T);
    }
    writeFileSync(path.join(master, 'new é'), 'x');
    chmodSync(path.join(slave, 'd/f'), 0o600);
    utimesSync(master, T, T);
    mirror = path.join(base, 'mirror');
    execFileSync('rsync', ['-a', `${master}/`, `${mirror}/`]);
  });
  after(() => {
    rmSync(base, { recursive: true, force: true });
  });

  async function verify(argv: string[], remote?: RemoteLister): Promise<{ code: ExitCode; out: string }> {
    const out = new Capture();
    const code = await runVerify(argv, ENV, remote, out);
    return { code, out: out.text };
  }

  it('exits 0 and prints nothing for identical trees', async () => {
    assert.deepEqual(await verify([master, mirror]), { code: 0, out: '' });
    assert.deepEqual(await verify(['--checksum', master, mirror]), { code: 0, out: '' });
  });

  it('exits 1 and prints each difference, one line each', async () => {
    assert.deepEqual(await verify([master, slave]), { code: 1, out: '.f...p..... d/f\n>f+++++++++ new \xc3\xa9\n' });
  });

  it('compares content with --checksum', async () => {
    assert.deepEqual(await verify(['--checksum', master, slave]), { code: 1, out: '.f...p..... d/f\n>fc........ g\n>f+++++++++ new \xc3\xa9\n' });
  });

  it('prints nothing with -q, and still exits 1', async () => {
    assert.deepEqual(await verify(['-q', '--checksum', master, slave]), { code: 1, out: '' });
    assert.deepEqual(await verify(['--quiet', master, mirror]), { code: 0, out: '' });
  });

  it('takes a missing slave for an empty one, as rsync would create it', async () => {
    assert.deepEqual(await verify([same, path.join(base, 'absent')]), {
      code: 1,
      out: 'cd+++++++++ ./\ncd+++++++++ d/\n>f+++++++++ d/f\n>f+++++++++ g\n',
    });
  });

  // [argv, exit code, message pattern]
  const ERRORS: readonly (readonly [string[], ExitCode, RegExp])[] = [
    [['/only-one'], 2, /missing required argument 'SLAVE'/],
    [['--bogus', '/a', '/b'], 2, /unknown option '--bogus'/],
    [['/no/such/master', '/tmp'], 2, /MASTER \/no\/such\/master: no such directory/],
    [['a', 'b', 'c'], 2, /too many arguments/],
    [['host::vol', '/tmp'], 2, /MASTER host::vol/],
  ];
  for (const [argv, code, message] of ERRORS) {
    it(`${argv.join(' ')} → exit ${code}`, async () => {
      await assert.rejects(verify(argv), (e: unknown) => e instanceof GsyncdError && e.exitCode === code && message.test(e.message));
    });
  }

  it('refuses a slave that is not a directory, or a slave volume', async () => {
    await assert.rejects(verify([master, path.join(master, 'g')]), (e: unknown) => e instanceof GsyncdError && e.exitCode === 2 && /not a directory/.test(e.message));
    await assert.rejects(verify([master, 'host::vol']), (e: unknown) => e instanceof GsyncdError && e.exitCode === 2);
  });

  it('prints the help and exits 0', async () => {
    const out = new Capture();
    await assert.rejects(runVerify(['--help'], ENV, undefined, out), (e: unknown) => e instanceof GsyncdError && e.exitCode === 0);
    assert.match(out.text, /^Usage: gsyncd verify \[OPTIONS\] MASTER SLAVE\n/);
    assert.match(out.text, /--checksum/);
  });

  it('asks the remote lister for an ssh slave, with the options given', async () => {
    const calls: unknown[] = [];
    const remote: RemoteLister = (endpoint: SshEndpoint, o) => {
      calls.push({ endpoint, o });
      return walkTree(slave, { checksum: o.checksum });
    };
    const r = await verify(['--checksum', '-e', 'ssh -p 2222', '--remote-gsyncd', '/opt/gsyncd', master, 'backup@host:/srv/m'], remote);
    assert.deepEqual(r, { code: 1, out: '.f...p..... d/f\n>fc........ g\n>f+++++++++ new \xc3\xa9\n' });
    assert.deepEqual(calls, [
      {
        endpoint: { kind: 'ssh', user: 'backup', host: 'host', port: undefined, path: '/srv/m' },
        o: { checksum: true, rsh: 'ssh -p 2222', remoteGsyncd: '/opt/gsyncd' },
      },
    ]);
  });

  it('takes the remote shell from GSYNCD_SSH_COMMAND by default', async () => {
    let rsh = '';
    const remote: RemoteLister = (_e, o) => {
      rsh = o.rsh;
      return walkTree(same, { checksum: false });
    };
    const out = new Capture();
    assert.equal(await runVerify([same, 'host:/x'], { GSYNCD_SSH_COMMAND: 'ssh -i key' }, remote, out), 0);
    assert.equal(rsh, 'ssh -i key');
  });

  it('exits 3 for an ssh slave when there is no slave channel', async () => {
    await assert.rejects(verify([master, 'host:/srv/m']), (e: unknown) => e instanceof GsyncdError && e.exitCode === 3 && /slave channel/.test(e.message));
  });

  it('a usage error for --remote-gsyncd none with an ssh slave', async () => {
    await assert.rejects(verify(['--remote-gsyncd', 'none', master, 'host:/srv/m'], () => walkTree(slave, { checksum: false })), (e: unknown) => e instanceof GsyncdError && e.exitCode === 2);
  });

  it('stops writing when the reader goes away, and still exits 1', async () => {
    let writes = 0;
    const closed = new Writable({
      write(_chunk, _encoding, done): void {
        writes++;
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    closed.on('error', () => undefined);
    assert.equal(await runVerify([master, path.join(base, 'absent-too')], ENV, undefined, closed), 1);
    assert.equal(writes, 1);
  });

  it('fails on another write error', async () => {
    const full = new Writable({
      write(_chunk, _encoding, done): void {
        done(Object.assign(new Error('write ENOSPC'), { code: 'ENOSPC' }));
      },
    });
    full.on('error', () => undefined);
    await assert.rejects(runVerify([master, path.join(base, 'absent-too')], ENV, undefined, full), (e: unknown) => e instanceof GsyncdError && e.exitCode === 1 && /ENOSPC/.test(e.message));
  });

  it('a remote stream that breaks fails the run with its error', async () => {
    // eslint-disable-next-line require-yield -- a stream that fails at once
    const remote: RemoteLister = async function* () {
      await Promise.resolve();
      throw new GsyncdError('slave host: connection lost', ExitCode.unreachable);
    };
    await assert.rejects(verify([master, 'host:/srv/m'], remote), /connection lost/);
  });
});
