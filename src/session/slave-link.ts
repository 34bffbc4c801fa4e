/**
 * The session's link to `gsyncd slave`: the first handshake decides whether the session may
 * start (exit 3 with the reason), and a lost channel is reopened with backoff while
 * batches go on (rsync does not need the channel; validation and reports do).
 */
import { ExitCode, GsyncdError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { versionAtLeast } from '../slave/facts.js';
import type { HelloReply } from '../slave/protocol.js';
import { ChannelError, SlaveChannel, type ChannelFailure } from '../transport/slave-channel.js';
import { joinWords, splitWords } from '../transport/shell-words.js';
import type { SshMaster } from '../transport/ssh-master.js';
import { backoffMs } from './backoff.js';

/** rsync features the transfers rely on: --mkpath (3.2.3). */
export const MIN_SLAVE_RSYNC = '3.2.3';

export interface SlaveLinkOptions {
  readonly remoteGsyncd: string;
  /** The root asked for, or a volume of the slave's config. */
  readonly root?: string;
  readonly volume?: string;
  readonly slaveTimeout: number;
  readonly version: string;
  readonly label: string;
  readonly logger: Logger;
  /** Only reads the slave (gsyncd verify): a read-only root is no problem. */
  readonly readOnly?: boolean;
}

/** The remote command: `PATH slave [OPTIONS]`, quoted for the remote shell. */
export function remoteCommand(remoteGsyncd: string): string {
  const [program = 'gsyncd', ...options] = splitWords(remoteGsyncd);
  return joinWords([program, 'slave', ...options]);
}

export function describeFailure(f: ChannelFailure): string {
  switch (f.kind) {
    case 'no-gsyncd':
      return `gsyncd was not found on the slave (${f.detail}); install gsyncd there, set --remote-gsyncd PATH, or use --remote-gsyncd none for a slave that has only rsync (then there is no validation or reports)`;
    case 'refused':
      return `the slave refused: ${f.detail.replace(/^slave refused: /, '').replace(/^refused: /, '')}`;
    case 'ssh':
      return `cannot reach gsyncd on the slave: ${f.detail}`;
    case 'protocol':
      return f.detail;
  }
}

/** What in a successful handshake still forbids the session. Pure. */
export function helloProblem(h: HelloReply, readOnly = false): string | undefined {
  if (readOnly) return h.exists ? undefined : `the slave root ${h.root} does not exist`;
  if (h.rsync_version === '') return `rsync is not installed on the slave (root ${h.root})`;
  if (!versionAtLeast(h.rsync_version, MIN_SLAVE_RSYNC)) {
    return `rsync ${h.rsync_version} on the slave is too old; gsyncd needs ${MIN_SLAVE_RSYNC} or newer (--mkpath)`;
  }
  if (!h.writable) return `the slave root ${h.root} is not writable by the slave user${h.exists ? '' : ' (nor can it be created there)'}`;
  return undefined;
}

export class SlaveLink {
  private channel: SlaveChannel | undefined;
  private hello: HelloReply | undefined;
  private stopped = false;
  /** A method: it changes while we await. */
  private isStopped(): boolean {
    return this.stopped;
  }
  private reconnecting: Promise<void> | undefined;

  constructor(
    private readonly ssh: SshMaster,
    private readonly o: SlaveLinkOptions,
  ) {}

  get reply(): HelloReply | undefined {
    return this.hello;
  }

  current(): SlaveChannel | undefined {
    return this.channel?.isOpen() ? this.channel : undefined;
  }

  private async open(): Promise<HelloReply> {
    const channel = new SlaveChannel({
      ssh: this.ssh.sshWords(),
      destination: this.ssh.destination,
      remoteCommand: remoteCommand(this.o.remoteGsyncd),
      pingSeconds: Math.max(1, Math.min(30, this.o.slaveTimeout / 4)),
    });
    const hello = await channel.open({
      version: this.o.version,
      ...(this.o.volume !== undefined ? { volume: this.o.volume } : { root: this.o.root ?? '' }),
      timeout: this.o.slaveTimeout,
    });
    const problem = helloProblem(hello, this.o.readOnly);
    if (problem !== undefined) {
      await channel.close();
      throw new ChannelError({ kind: 'refused', detail: problem });
    }
    this.channel = channel;
    this.hello = hello;
    channel.onLost((reason) => {
      if (this.stopped) return;
      this.o.logger.warn('slave channel lost', { reason });
      this.reconnect();
    });
    this.o.logger.info('slave channel up', {
      slave: this.o.label,
      root: hello.root,
      slave_version: hello.version,
      rsync_version: hello.rsync_version,
      free_bytes: hello.free_bytes ?? undefined,
    });
    return hello;
  }

  /** The first handshake: any failure ends the session with exit 3. */
  async connectFirst(): Promise<HelloReply> {
    try {
      return await this.open();
    } catch (e) {
      if (e instanceof ChannelError) throw new GsyncdError(`slave ${this.o.label}: ${describeFailure(e.failure)}`, ExitCode.unreachable);
      throw e;
    }
  }

  private reconnect(): void {
    this.reconnecting ??= (async () => {
      for (let attempt = 0; !this.isStopped(); attempt++) {
        await new Promise((r) => setTimeout(r, backoffMs(attempt, 500, 30_000)));
        if (this.isStopped()) return;
        if (!this.ssh.alive()) continue; // the session reopens the SSH connection itself
        try {
          await this.open();
          return;
        } catch (e) {
          const why = e instanceof ChannelError ? describeFailure(e.failure) : String(e);
          this.o.logger.warn('slave channel still down', { attempt: attempt + 1, reason: why });
        }
      }
    })().finally(() => {
      this.reconnecting = undefined;
    });
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.channel?.close();
  }
}
