/**
 * The SSH connection to the slave, as the session keeps it: the first connection decides
 * whether the slave can be reached at all (exit 3); later, a lost connection makes the
 * session Faulty and is reopened with capped, jittered backoff while changes keep queueing.
 */
import { ExitCode, GsyncdError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { SshMaster } from '../transport/ssh-master.js';
import type { SessionEvent } from './machine.js';
import { sleep } from './wait.js';

export interface ReconnectorDeps {
  /** The parts of the SSH connection it keeps. */
  readonly ssh: Pick<SshMaster, 'start' | 'stop' | 'alive' | 'onLost'>;
  readonly slave: string;
  readonly logger: Logger;
  readonly fire: (e: SessionEvent) => Promise<void>;
  readonly stopSignal: AbortSignal;
  readonly backoff: (attempt: number) => number;
  /** The link is up again: queued changes may go. */
  readonly kick: () => void;
}

export class Reconnector {
  private reconnecting: Promise<boolean> | undefined;

  constructor(private readonly d: ReconnectorDeps) {}

  /** The first connection: exit 3 if the slave cannot be reached. */
  async connectFirst(): Promise<void> {
    try {
      await this.d.ssh.start();
      this.d.logger.info('ssh connection up', { slave: this.d.slave });
    } catch (e) {
      throw new GsyncdError(`slave ${this.d.slave} unreachable: ${e instanceof Error ? e.message : String(e)}`, ExitCode.unreachable);
    }
    // An idle session learns of a dead link from the connection itself, not from a batch.
    this.d.ssh.onLost = (reason) => {
      if (this.d.stopSignal.aborted || this.reconnecting) return;
      this.d.logger.warn('ssh connection lost; reconnecting', { reason });
      void this.d.fire({ type: 'fault', reason: `connection to the slave lost: ${reason}` });
      this.again();
    };
  }

  /** A reconnect is under way: its word on the link (unreachable, or back) is the current one. */
  busy(): boolean {
    return this.reconnecting !== undefined;
  }

  /** Whether the connection is usable now. */
  alive(): boolean {
    return this.d.ssh.alive();
  }

  /** Reconnects in the background, then lets batches go. */
  again(): void {
    void this.reconnect().then(() => {
      this.d.kick();
    });
  }

  /** Reopens the shared SSH connection with backoff until it works; false when stopped. */
  reconnect(): Promise<boolean> {
    const { ssh, logger } = this.d;
    this.reconnecting ??= (async () => {
      for (let attempt = 0; !this.d.stopSignal.aborted; attempt++) {
        await ssh.stop().catch(() => undefined);
        try {
          await ssh.start(20_000);
          logger.info('ssh connection up again', { attempt: attempt + 1 });
          await this.d.fire({ type: 'linkBack' });
          return true;
        } catch (e) {
          await this.d.fire({ type: 'fault', reason: `slave unreachable: ${e instanceof Error ? e.message : String(e)}` });
          await sleep(this.d.backoff(attempt), this.d.stopSignal);
        }
      }
      return false;
    })().finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  }
}
