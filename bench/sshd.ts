// A loopback sshd with throw-away keys (see the testing notes, TESTING.md), and an SSH master
// connection on it for the "warm connection" floor figures.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Daemon, run, runOk, sleep } from './proc.js';
import { processTree } from './proctree.js';

export interface Sshd {
  readonly port: number;
  readonly host: string; // user@host, as rsync and ssh take it
  readonly keyFile: string;
  /** ssh's client options (without the host): port, key, no host-key checks, batch mode. */
  readonly sshOptions: readonly string[];
  /** The same as one `-e` / `--rsh` string. */
  readonly rsh: string;
  readonly options: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      server.close(() => {
        if (addr === null || typeof addr === 'string') reject(new Error('no port'));
        else resolve(addr.port);
      });
    });
  });
}

export async function startSshd(dir: string, log: (msg: string) => void): Promise<Sshd> {
  mkdirSync(dir, { recursive: true });
  mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege-separation directory
  const hostKey = join(dir, 'hostkey');
  const keyFile = join(dir, 'userkey');
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${keyFile}.pub`));
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin yes',
      // Daemons open many connections at once; the defaults (10:30:100, 10) drop some.
      'MaxStartups 100:30:200',
      'MaxSessions 100',
      '',
    ].join('\n'),
  );
  // -D keeps the listener our child, so it is ours to kill by pid.
  const daemon = new Daemon('sshd', '/usr/sbin/sshd', ['-D', '-f', config, '-E', join(dir, 'sshd.log')], join(dir, 'sshd.out'));

  const options: Record<string, string> = {
    StrictHostKeyChecking: 'no',
    UserKnownHostsFile: '/dev/null',
    LogLevel: 'ERROR',
    BatchMode: 'yes',
  };
  const sshOptions = ['-p', String(port), '-i', keyFile, ...Object.entries(options).flatMap(([k, v]) => ['-o', `${k}=${v}`])];
  const host = 'root@127.0.0.1';
  const deadline = performance.now() + 10_000;
  for (;;) {
    const r = await run('ssh', [...sshOptions, host, 'true']);
    if (r.code === 0) break;
    if (!daemon.running || performance.now() > deadline) {
      await daemon.stop();
      throw new Error(`sshd on port ${port} not reachable: ${r.stderr.trim()}\n${daemon.tail()}`);
    }
    await sleep(50);
  }
  log(`sshd listening on 127.0.0.1:${port}`);
  return {
    port,
    host,
    keyFile,
    sshOptions,
    options,
    rsh: ['ssh', ...sshOptions].join(' '),
    async stop() {
      // Per-connection sshd processes outlive the listener; end the ones it forked.
      const children = processTree(daemon.pid).slice(1);
      await daemon.stop(3000);
      for (const c of children) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
  };
}

export interface MasterConnection {
  /** ssh options that reuse the master connection (and never start one). */
  readonly sshOptions: readonly string[];
  readonly rsh: string;
  stop(): Promise<void>;
}

/** One `ssh -M -N` held open; clients given `sshOptions` multiplex over it. */
export async function startMasterConnection(sshd: Sshd, socket: string): Promise<MasterConnection> {
  const master = new Daemon(
    'ssh-master',
    'ssh',
    [...sshd.sshOptions, '-o', 'ControlMaster=yes', '-o', `ControlPath=${socket}`, '-o', 'ControlPersist=no', '-N', sshd.host],
    `${socket}.log`,
  );
  const sshOptions = [...sshd.sshOptions, '-o', 'ControlMaster=no', '-o', `ControlPath=${socket}`];
  const deadline = performance.now() + 10_000;
  for (;;) {
    const r = await run('ssh', [...sshOptions, '-O', 'check', sshd.host]);
    if (r.code === 0) break;
    if (!master.running || performance.now() > deadline) {
      await master.stop();
      throw new Error(`ssh master connection did not come up: ${r.stderr.trim()}\n${master.tail()}`);
    }
    await sleep(20);
  }
  return {
    sshOptions,
    rsh: ['ssh', ...sshOptions].join(' '),
    async stop() {
      await master.stop(3000);
    },
  };
}
