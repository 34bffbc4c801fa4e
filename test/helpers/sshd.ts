// A throw-away sshd on a free loopback port, configured as TESTING.md describes, so that
// the SSH slave forms run against a real OpenSSH with real keys and no shared state.
// Optionally on another address, run through a command prefix (`ip netns exec NAME`) and
// with extra config lines (server-side keepalives), for the network fault tests.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { exec, execOk } from './exec.js';
import { isAlive, readProc, type ProcInfo } from './proc.js';
import { pollUntil } from './wait.js';

export interface SshdOptions {
  /** Options put before the key in authorized_keys, e.g. `command="…",restrict`. */
  authorizedKeyOptions?: string;
  /** The address to listen on and to log in to; default 127.0.0.1. */
  listenAddress?: string;
  /** Words run before sshd and ss (e.g. `ip netns exec NAME`): sshd then lives in that namespace. */
  commandPrefix?: readonly string[];
  /** More sshd_config lines (e.g. `ClientAliveInterval 2`). */
  extraConfig?: readonly string[];
  /** Listen on this port instead of a free one chosen at start. */
  port?: number;
}

export interface Sshd {
  port: number;
  /** The address sshd listens on, which the slave specs name. */
  host: string;
  dir: string;
  /** Private key of the client user; its public half is in authorized_keys. */
  userKey: string;
  publicKey: string;
  /** The complete remote shell for `-e`, port included. */
  rsh: string;
  /** The remote shell without `-p`, for slave specs that carry the port themselves. */
  rshNoPort: string;
  /** `root@HOST:PATH` (HOST 127.0.0.1 by default), the rsync-style slave. */
  slaveSpec(remotePath: string): string;
  /** `ssh://root@HOST:PORT/PATH`. */
  slaveUrl(remotePath: string): string;
  /** Rewrites authorized_keys (sshd rereads it on every connection). */
  setAuthorizedKeyOptions(options: string | undefined): Promise<void>;
  /** Kills the per-connection sshd processes: established sessions drop. */
  killConnections(): Promise<void>;
  /**
   * A dead host: kills the listener and every per-connection sshd, and keeps the keys and
   * the port so that `restart` brings the same server back.
   */
  halt(): Promise<void>;
  /** Starts the sshd again on the same port, with the same keys; resolves once a login works. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') {
          reject(new Error('no port from the loopback listener'));
        } else {
          resolve(address.port);
        }
      });
    });
  });
}

interface LaunchOptions {
  listenAddress: string;
  commandPrefix: readonly string[];
  extraConfig: readonly string[];
}

/** `[program, args]` of `command args` run through the prefix. */
function prefixed(prefix: readonly string[], command: string, args: readonly string[]): [string, string[]] {
  const [program = command, ...rest] = [...prefix, command, ...args];
  return [program, rest];
}

function sshdConfig(dir: string, port: number, options: LaunchOptions): string {
  return [
    `Port ${port}`,
    `ListenAddress ${options.listenAddress}`,
    `HostKey ${path.join(dir, 'hostkey')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    'StrictModes no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'PermitRootLogin yes',
    'MaxStartups 100:30:200',
    'MaxSessions 100',
    // Sessions get a home of the test's own: the account's login files (a .bashrc that
    // starts pyenv or conda costs each session half a second of CPU) do not make the
    // suite slower or different from one machine to the next.
    `SetEnv HOME=${path.join(dir, 'home')}`,
    ...options.extraConfig,
    '',
  ].join('\n');
}

function clientOptions(userKey: string): string[] {
  return [
    '-i',
    userKey,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'BatchMode=yes',
  ];
}

/** The per-connection sshd processes serving `port`, found from their sockets. */
async function connectionProcesses(port: number, prefix: readonly string[]): Promise<ProcInfo[]> {
  const { stdout } = await exec(...prefixed(prefix, 'ss', ['-tnpH', `sport = :${port}`]));
  const pids = new Set<number>();
  for (const match of stdout.matchAll(/pid=(\d+)/g)) {
    pids.add(Number(match[1]));
  }
  return [...pids]
    .map((pid) => readProc(pid))
    .filter((info): info is ProcInfo => info?.comm === 'sshd');
}

async function killAndWait(infos: readonly ProcInfo[], what: string): Promise<void> {
  for (const info of infos) {
    try {
      process.kill(info.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  await pollUntil(
    () => (infos.some(isAlive) ? undefined : true),
    () => `${what} to exit: still alive ${infos.filter(isAlive).map((i) => i.pid).join(' ')}`,
    { timeoutMs: 10_000, intervalMs: 50 },
  );
}

async function launch(dir: string, options: LaunchOptions, fixedPort?: number): Promise<number> {
  const configFile = path.join(dir, 'sshd_config');
  const logFile = path.join(dir, 'sshd.log');
  // The probe-then-bind port choice can race with another process, and a fixed port can
  // still be held for a moment by a socket of the sshd just killed: retry on a bind failure.
  for (let attempt = 1; ; attempt += 1) {
    const port = fixedPort ?? (await freePort());
    await writeFile(configFile, sshdConfig(dir, port, options));
    const result = await exec(...prefixed(options.commandPrefix, SSHD, ['-f', configFile, '-E', logFile]));
    if (result.code === 0) {
      return port;
    }
    const log = await readFile(logFile, 'utf8').catch(() => '');
    if (attempt >= 5 || !/Address already in use|Cannot bind/i.test(log)) {
      throw new Error(`sshd failed to start (exit ${String(result.code)}):\n${result.stderr}\n${log}`);
    }
    if (fixedPort !== undefined) {
      await delay(200 * attempt);
    }
  }
}

/** Resolves once a real login on `host`:`port` works. */
async function waitForLogin(host: string, port: number, client: readonly string[]): Promise<void> {
  // A forced command may refuse `true`, so any answer from the server side (not a
  // connection failure, which is 255) counts.
  let last = '';
  await pollUntil(
    async () => {
      const probe = await exec('ssh', ['-p', String(port), ...client, `root@${host}`, 'true'], {
        timeoutMs: 10_000,
      });
      last = probe.stderr;
      return probe.code !== 255 ? true : undefined;
    },
    () => `sshd on port ${port} to accept a login (last ssh error: ${last.trim()})`,
    { timeoutMs: 15_000, intervalMs: 100 },
  );
}

export async function startSshd(options: SshdOptions = {}): Promise<Sshd> {
  await mkdir('/run/sshd', { recursive: true });
  const dir = await mkdtemp(path.join(tmpdir(), 'gsyncd-e2e-sshd-'));
  await mkdir(path.join(dir, 'home'));
  const userKey = path.join(dir, 'userkey');
  const authorizedKeys = path.join(dir, 'authorized_keys');
  const pidFile = path.join(dir, 'sshd.pid');
  const launchOptions: LaunchOptions = {
    listenAddress: options.listenAddress ?? '127.0.0.1',
    commandPrefix: options.commandPrefix ?? [],
    extraConfig: options.extraConfig ?? [],
  };
  const host = launchOptions.listenAddress;
  // An IPv6 address needs brackets in host:path and in a URL.
  const hostInSpec = host.includes(':') ? `[${host}]` : host;
  let port = 0;
  let started = false;

  const sshd: Sshd = {
    port,
    host,
    dir,
    userKey,
    publicKey: '',
    rsh: '',
    rshNoPort: '',
    slaveSpec: (remotePath) => `root@${hostInSpec}:${remotePath}`,
    slaveUrl: (remotePath) => `ssh://root@${hostInSpec}:${port}${remotePath}`,
    async setAuthorizedKeyOptions(keyOptions) {
      const line = keyOptions === undefined ? sshd.publicKey : `${keyOptions} ${sshd.publicKey}`;
      await writeFile(authorizedKeys, `${line}\n`, { mode: 0o600 });
    },
    async killConnections() {
      await killAndWait(await connectionProcesses(port, launchOptions.commandPrefix), `the sshd connections of port ${port}`);
    },
    async halt() {
      if (started) {
        started = false;
        const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
        const listener = pid > 0 ? readProc(pid) : undefined;
        if (listener !== undefined) {
          await killAndWait([listener], `sshd ${pid}`);
        }
        // The listener's death leaves established sessions alive: they go too.
        await sshd.killConnections();
      }
    },
    async restart() {
      if (started) {
        throw new Error(`sshd on port ${port} is running: halt it before a restart`);
      }
      await launch(dir, launchOptions, port);
      started = true;
      await waitForLogin(host, port, clientOptions(userKey));
    },
    async stop() {
      await sshd.halt();
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    await execOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gsyncd-e2e-host', '-f', path.join(dir, 'hostkey')]);
    await execOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'gsyncd-e2e-user', '-f', userKey]);
    sshd.publicKey = (await readFile(`${userKey}.pub`, 'utf8')).trim();
    await sshd.setAuthorizedKeyOptions(options.authorizedKeyOptions);
    port = await launch(dir, launchOptions, options.port);
    started = true;
    sshd.port = port;
    const client = clientOptions(userKey);
    sshd.rshNoPort = ['ssh', ...client].join(' ');
    sshd.rsh = ['ssh', '-p', String(port), ...client].join(' ');

    await waitForLogin(host, port, client);
    return sshd;
  } catch (error: unknown) {
    await sshd.stop();
    throw error;
  }
}
