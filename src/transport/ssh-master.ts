/**
 * The one SSH connection every rsync run shares (ControlMaster). gsyncd owns it as a child
 * (`ssh -M -N`, no ControlPersist), so it never outlives gsyncd's clean exit; rsync's ssh
 * joins it with ControlMaster=no, and falls back to its own connection if it is gone.
 */
import { existsSync, mkdtempSync, watch } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { SshEndpoint } from '../endpoint/parse.js';
import { joinWords } from './shell-words.js';
import { dieWithParent } from '../sync/no-orphans.js';

export interface SshTarget {
  /** The user's remote shell, split into words (`ssh -p 2222 -i key`). */
  readonly rsh: readonly string[];
  readonly endpoint: SshEndpoint;
}

/** `user@host` as ssh wants it. IPv6 brackets are for rsync's host:path, not for ssh. */
export const sshDestination = (e: SshEndpoint): string =>
  `${e.user ? `${e.user}@` : ''}${e.host.replace(/^\[(.*)\]$/, '$1')}`;

/** The words of the ssh command, with the port of an ssh:// URL. */
export const baseSshWords = (t: SshTarget): string[] =>
  t.endpoint.port === undefined ? [...t.rsh] : [...t.rsh, '-p', String(t.endpoint.port)];

export class SshMaster {
  private child: ResultPromise | undefined;
  private dir: string | undefined;
  private exited = true;
  private lastError = '';
  private stopRequested = false;
  /** Called when the connection ends without stop(): the link died (an idle session must notice). */
  onLost: ((reason: string) => void) | undefined;

  constructor(private readonly target: SshTarget) {
    // A private directory (0700): the control socket grants use of the connection to whoever can reach it.
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'gsyncd-ssh-'));
  }

  private get controlPath(): string {
    if (this.dir === undefined) throw new Error('ssh master already closed');
    return path.join(this.dir, 'ctl');
  }

  /**
   * The user's ssh plus the shared connection, as words. When the shared connection is gone,
   * ssh falls back to a connection of its own: the keepalives bound a transfer over a dead link.
   */
  sshWords(): string[] {
    return [
      ...baseSshWords(this.target),
      '-o', `ControlPath=${this.controlPath}`,
      '-o', 'ControlMaster=no',
      '-o', 'ServerAliveInterval=15',
      '-o', 'ServerAliveCountMax=4',
    ];
  }

  /** The -e command for rsync: the same, as one string. */
  rshForRsync(): string {
    return joinWords(this.sshWords());
  }

  get destination(): string {
    return sshDestination(this.target.endpoint);
  }

  /** A method: it changes while we await. */
  alive(): boolean {
    return !this.exited;
  }

  /**
   * Opens the connection; resolves when it is up, or rejects with ssh's own words
   * (connection refused, host key, permission denied).
   */
  async start(timeoutMs = 30_000): Promise<void> {
    // A master killed with SIGKILL leaves its socket behind, and a new master on the same
    // path then runs without multiplexing ("already exists, disabling multiplexing").
    await rm(this.controlPath, { force: true });
    const [ssh = 'ssh', ...sshArgs] = baseSshWords(this.target);
    const [program, args] = dieWithParent(ssh, [
      ...sshArgs,
      '-M', '-N',
      '-o', `ControlPath=${this.controlPath}`,
      '-o', 'ControlPersist=no',
      '-o', 'ServerAliveInterval=15',
      '-o', 'ServerAliveCountMax=4',
      '-o', 'ExitOnForwardFailure=yes',
      '--',
      sshDestination(this.target.endpoint),
    ]);
    const child = execa(
      program,
      args,
      { reject: false, cleanup: true, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', env: { LC_ALL: 'C' }, forceKillAfterDelay: 2000 },
    );
    this.child = child;
    this.exited = false;
    this.stopRequested = false;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    let up = false;
    void child.then((r) => {
      this.exited = true;
      // ssh ends its lines with \r\n.
      this.lastError = (stderr.replace(/\r/g, '').trim().split('\n').pop() ?? '') || `ssh exited with status ${r.exitCode ?? r.signal ?? '?'}`;
      if (up && !this.stopRequested && this.child === child) this.onLost?.(this.lastError);
    });
    const deadline = Date.now() + timeoutMs;
    const exited = child.then(() => undefined);
    while (Date.now() < deadline) {
      if (!this.alive()) throw new Error(this.lastError);
      // ssh binds the control socket once the connection is authenticated: wait for that
      // (an inotify event, no process), then ask the master itself.
      await Promise.race([socketIn(path.dirname(this.controlPath), path.basename(this.controlPath), deadline - Date.now()), exited]);
      if (!this.alive()) throw new Error(this.lastError);
      if (await this.check()) {
        up = true;
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.stop();
    throw new Error(`ssh connection to ${sshDestination(this.target.endpoint)} not up after ${timeoutMs / 1000} s`);
  }

  /** Whether the master answers on its socket. */
  private async check(): Promise<boolean> {
    const [program = 'ssh', ...args] = baseSshWords(this.target);
    const r = await execa(program, [...args, '-o', `ControlPath=${this.controlPath}`, '-O', 'check', '--', sshDestination(this.target.endpoint)], {
      reject: false,
      stdin: 'ignore',
      timeout: 5000,
    });
    return r.exitCode === 0;
  }

  get error(): string {
    return this.lastError;
  }

  /** Closes the connection; it can be started again. */
  async stop(): Promise<void> {
    const child = this.child;
    this.stopRequested = true;
    if (child && !this.exited) {
      child.kill('SIGTERM');
      await child;
    }
    this.child = undefined;
  }

  /** Closes the connection for good and removes its private directory. */
  async close(): Promise<void> {
    await this.stop();
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/**
 * Resolves once `name` exists in `dir`, or after `ms`. The directory is watched before the
 * name is looked for, so a socket bound in between is not missed; where it cannot be
 * watched, it is looked for every 50 ms.
 */
function socketIn(dir: string, name: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let watcher: ReturnType<typeof watch> | undefined;
    let poll: NodeJS.Timeout | undefined;
    const done = (): void => {
      watcher?.close();
      clearInterval(poll);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    try {
      watcher = watch(dir, (_event, changed) => {
        if (changed === name) done();
      });
      watcher.on('error', () => {
        poll ??= setInterval(() => {
          if (existsSync(path.join(dir, name))) done();
        }, 50);
      });
    } catch {
      poll = setInterval(() => {
        if (existsSync(path.join(dir, name))) done();
      }, 50);
    }
    if (existsSync(path.join(dir, name))) done();
  });
}
