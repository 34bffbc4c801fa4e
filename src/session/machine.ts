/**
 * The session's life as one table (STYLE.md 5, after wireit's watcher): the phases, the
 * events that move between them, and the two conditions any working phase can carry,
 * Faulty (with its reason) and Paused. Pure: Lifecycle applies events, shows and logs them.
 *
 *   Created ─start─▶ Initializing ─full─▶ Full Crawl ─────crawled─────▶ Changelog Crawl
 *                         │                                                  ▲
 *                         └──history──▶ History Crawl ─────crawled───────────┘
 *
 *   Created and every working phase ─stop─▶ Stopping ─stopped─▶ Stopped
 *                                                    └─failed──▶ Failed (shown as Faulty)
 *
 *   In a working phase (Initializing, the three crawls): fault sets Faulty with its reason,
 *   healthy clears it, linkBack clears it when the link was the reason; pause and resume
 *   set and clear Paused. Stopping, Stopped and Failed accept these and change nothing: a
 *   report that arrives while the session drains or after it ended (a reconnect attempt, a
 *   root check under way) is late, not wrong.
 *
 * An event a phase has no row for is a bug in the caller and is refused with a throw.
 */
import type { CrawlStatus, SessionStatus } from '../status/status.js';

export type Phase = 'Created' | 'Initializing' | 'FullCrawl' | 'HistoryCrawl' | 'ChangelogCrawl' | 'Stopping' | 'Stopped' | 'Failed';

export type SessionEvent =
  | { readonly type: 'start' }
  | { readonly type: 'full' }
  | { readonly type: 'history' }
  | { readonly type: 'crawled' }
  | { readonly type: 'fault'; readonly reason: string }
  | { readonly type: 'healthy' }
  | { readonly type: 'linkBack' }
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'stop' }
  | { readonly type: 'stopped' }
  | { readonly type: 'failed' };

export type EventType = SessionEvent['type'];

export interface SessionState {
  readonly phase: Phase;
  /** The phase a Stopping session was in: what it shows until it has stopped. */
  readonly before?: Phase;
  /** Why the session is Faulty; undefined when it is not. */
  readonly faulty: string | undefined;
  readonly paused: boolean;
}

export const INITIAL: SessionState = { phase: 'Created', faulty: undefined, paused: false };

/**
 * What an event does in a phase: move to another phase, `set` a condition (stay in the
 * phase), or `ignore` (accepted, nothing changes). An absent row is an illegal move.
 */
export type Target = Phase | 'set' | 'ignore';

const WORKING_CONDITIONS = { fault: 'set', healthy: 'set', linkBack: 'set', pause: 'set', resume: 'set', stop: 'Stopping' } as const;
/** Late reports (a reconnect giving up, a check that was under way) change nothing once stopping. */
const LATE = { fault: 'ignore', healthy: 'ignore', linkBack: 'ignore', pause: 'ignore', resume: 'ignore', stop: 'ignore' } as const;

/** The one table of allowed moves. docs/session.md shows it; a unit test keeps them equal. */
export const TRANSITIONS: Readonly<Record<Phase, Readonly<Partial<Record<EventType, Target>>>>> = {
  Created: { start: 'Initializing', stop: 'Stopping' },
  Initializing: { full: 'FullCrawl', history: 'HistoryCrawl', ...WORKING_CONDITIONS },
  FullCrawl: { crawled: 'ChangelogCrawl', ...WORKING_CONDITIONS },
  HistoryCrawl: { crawled: 'ChangelogCrawl', ...WORKING_CONDITIONS },
  ChangelogCrawl: { ...WORKING_CONDITIONS },
  Stopping: { stopped: 'Stopped', failed: 'Failed', ...LATE },
  Stopped: { ...LATE },
  Failed: { ...LATE },
};

/** Reasons that a link coming back cures (the slave may still refuse writes: that one stays). */
export const isLinkReason = (reason: string): boolean => /^(slave unreachable|connection (to the slave )?lost)/.test(reason);

export class IllegalTransition extends Error {
  override readonly name = 'IllegalTransition';
  constructor(
    readonly from: Phase,
    readonly event: EventType,
  ) {
    super(`session state machine: event "${event}" is not allowed in phase ${from}`);
  }
}

/** The next state, or a throw for a move the table does not allow. */
export function transition(s: SessionState, e: SessionEvent): SessionState {
  const target = TRANSITIONS[s.phase][e.type];
  if (target === undefined) throw new IllegalTransition(s.phase, e.type);
  if (target === 'ignore') return s;
  if (target === 'set') return setCondition(s, e);
  if (target === 'Stopped' || target === 'Failed') return { phase: target, faulty: s.faulty, paused: false };
  if (target === 'Stopping') return { ...s, phase: 'Stopping', before: s.phase };
  return { ...s, phase: target };
}

function setCondition(s: SessionState, e: SessionEvent): SessionState {
  switch (e.type) {
    case 'fault':
      return s.faulty === e.reason ? s : { ...s, faulty: e.reason };
    case 'healthy':
      return s.faulty === undefined ? s : { ...s, faulty: undefined };
    case 'linkBack':
      return s.faulty !== undefined && isLinkReason(s.faulty) ? { ...s, faulty: undefined } : s;
    case 'pause':
      return s.paused ? s : { ...s, paused: true };
    case 'resume':
      return s.paused ? { ...s, paused: false } : s;
    default:
      throw new IllegalTransition(s.phase, e.type);
  }
}

/** Phases whose changes go out as batches (a clean stop then saves state). */
export const isLive = (p: Phase): boolean => p === 'HistoryCrawl' || p === 'ChangelogCrawl';

const SHOWN: Readonly<Record<Phase, readonly [SessionStatus, CrawlStatus]>> = {
  Created: ['Created', 'N/A'],
  Initializing: ['Initializing', 'N/A'],
  FullCrawl: ['Initializing', 'Full Crawl'],
  HistoryCrawl: ['Active', 'History Crawl'],
  ChangelogCrawl: ['Active', 'Changelog Crawl'],
  Stopping: ['Stopped', 'N/A'],
  Stopped: ['Stopped', 'N/A'],
  Failed: ['Faulty', 'N/A'],
};

export interface Shown {
  readonly status: SessionStatus;
  readonly crawl: CrawlStatus;
  readonly reason: string | undefined;
}

/** What `gsyncd status` shows for a state: Paused over Faulty over the phase's own status. */
export function shown(s: SessionState): Shown {
  const phase = s.phase === 'Stopping' ? (s.before ?? 'Created') : s.phase;
  const [status, crawl] = SHOWN[phase];
  if (s.phase === 'Stopped') return { status, crawl, reason: undefined };
  if (s.phase === 'Failed') return { status, crawl, reason: s.faulty };
  if (s.paused) return { status: 'Paused', crawl, reason: undefined };
  if (s.faulty !== undefined) return { status: 'Faulty', crawl, reason: s.faulty };
  return { status, crawl, reason: undefined };
}

/** The phase as people read it, in logs. */
export const PHASE_NAMES: Readonly<Record<Phase, string>> = {
  Created: 'Created',
  Initializing: 'Initializing',
  FullCrawl: 'Full Crawl',
  HistoryCrawl: 'History Crawl',
  ChangelogCrawl: 'Changelog Crawl',
  Stopping: 'Stopping',
  Stopped: 'Stopped',
  Failed: 'Failed',
};
