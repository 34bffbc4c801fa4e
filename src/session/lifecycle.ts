/**
 * The session's state machine at work: each event goes through the table (machine.ts); a
 * change is shown in the status file at once, logged, and told to whoever watches
 * (the HTTP readiness, tests through the log). Nothing else writes the session's state.
 */
import type { Logger } from '../log/logger.js';
import type { Readiness } from '../status/http.js';
import { INITIAL, PHASE_NAMES, isLive, shown, transition, type Phase, type SessionEvent, type SessionState } from './machine.js';
import type { StatusWriter } from './status-writer.js';

export class Lifecycle {
  private s: SessionState = INITIAL;

  constructor(
    private readonly status: StatusWriter,
    private readonly logger: Logger,
    private readonly session: string,
  ) {}

  get state(): SessionState {
    return this.s;
  }

  /** Methods, not getters: they change while callers await, which a narrowed getter would hide. */
  phase(): Phase {
    return this.s.phase;
  }

  faultyReason(): string | undefined {
    return this.s.faulty;
  }

  /** History or Changelog Crawl: changes go out as batches. */
  live(): boolean {
    return isLive(this.s.phase);
  }

  /** For /readyz: live, not Faulty, and the SSH connection (where there is one) up. */
  readiness(connectionAlive: boolean): Readiness {
    const s = this.status.current;
    if (this.s.faulty !== undefined) return { ready: false, reason: `Faulty: ${this.s.faulty}` };
    if (!this.live()) return { ready: false, reason: `not live yet: ${s.status}, ${s.crawl_status}` };
    if (!connectionAlive) return { ready: false, reason: 'the SSH connection to the slave is down' };
    return { ready: true, reason: `${s.status}, ${s.crawl_status}` };
  }

  /**
   * Applies `e` now (synchronously: a caller that checked the phase cannot be overtaken), and
   * resolves once the status file shows it. Throws IllegalTransition for a move the table lacks.
   */
  fire(e: SessionEvent): Promise<void> {
    const before = this.s;
    const next = transition(before, e);
    if (next === before) return Promise.resolve();
    this.s = next;
    this.log(before, next, e);
    return this.status.show(shown(next));
  }

  private log(before: SessionState, next: SessionState, e: SessionEvent): void {
    const session = this.session;
    if (next.phase !== before.phase) {
      this.logger.info('session phase changed', { session, from: PHASE_NAMES[before.phase], to: PHASE_NAMES[next.phase], event: e.type });
    }
    if (next.faulty !== undefined && next.faulty !== before.faulty) {
      this.logger.warn('session Faulty', { session, reason: next.faulty });
    } else if (next.faulty === undefined && before.faulty !== undefined) {
      this.logger.info('session healthy again', { session });
    }
  }
}
