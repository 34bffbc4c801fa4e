/** src/session/machine.ts: every row of the transition table, every refused move, what each state shows. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  INITIAL,
  IllegalTransition,
  TRANSITIONS,
  isLinkReason,
  shown,
  transition,
  type EventType,
  type Phase,
  type SessionEvent,
  type SessionState,
} from '../../src/session/machine.js';
import { repoRoot } from '../helpers/gsyncd.js';

const PHASES = Object.keys(TRANSITIONS) as Phase[];
const EVENTS: readonly SessionEvent[] = [
  { type: 'start' },
  { type: 'full' },
  { type: 'history' },
  { type: 'crawled' },
  { type: 'fault', reason: 'slave unreachable: Connection refused' },
  { type: 'healthy' },
  { type: 'linkBack' },
  { type: 'pause' },
  { type: 'resume' },
  { type: 'stop' },
  { type: 'stopped' },
  { type: 'failed' },
];

const at = (phase: Phase, more: Partial<SessionState> = {}): SessionState => ({ ...INITIAL, phase, ...(phase === 'Stopping' ? { before: 'ChangelogCrawl' } : {}), ...more });

describe('the session state machine', () => {
  it('covers every event type in its table and in these tests', () => {
    const types = new Set<EventType>(EVENTS.map((e) => e.type));
    for (const phase of PHASES) for (const t of Object.keys(TRANSITIONS[phase])) assert.ok(types.has(t as EventType), `${phase}: ${t} untested`);
    assert.equal(types.size, EVENTS.length);
  });

  for (const phase of PHASES) {
    for (const e of EVENTS) {
      const target = TRANSITIONS[phase][e.type];
      if (target === undefined) {
        it(`refuses ${e.type} in ${phase}`, () => {
          assert.throws(() => transition(at(phase), e), (err: unknown) => err instanceof IllegalTransition && err.from === phase && err.event === e.type && /not allowed in phase/.test(err.message));
        });
      } else if (target === 'ignore') {
        it(`ignores ${e.type} in ${phase}`, () => {
          const s = at(phase, { faulty: 'rsync failed', paused: true });
          assert.equal(transition(s, e), s);
        });
      } else if (target === 'set') {
        it(`sets a condition on ${e.type} in ${phase}, staying in ${phase}`, () => {
          const from = at(phase, { faulty: e.type === 'fault' ? undefined : 'connection to the slave lost: EOF', paused: e.type === 'resume' });
          const next = transition(from, e);
          assert.equal(next.phase, phase);
          const expected: Partial<Record<EventType, Partial<SessionState>>> = {
            fault: { faulty: 'slave unreachable: Connection refused' },
            healthy: { faulty: undefined },
            linkBack: { faulty: undefined },
            pause: { paused: true },
            resume: { paused: false },
          };
          for (const [k, v] of Object.entries(expected[e.type] ?? {})) assert.equal(next[k as keyof SessionState], v, `${k} after ${e.type}`);
        });
      } else {
        it(`moves from ${phase} to ${target} on ${e.type}`, () => {
          const next = transition(at(phase), e);
          assert.equal(next.phase, target);
          if (target === 'Stopping') assert.equal(next.before, phase);
        });
      }
    }
  }

  it('keeps conditions across phase moves, and drops a pause once stopped', () => {
    const faulty = transition(at('FullCrawl', { faulty: 'Full Crawl failed: rsync exit 23' }), { type: 'crawled' });
    assert.deepEqual([faulty.phase, faulty.faulty], ['ChangelogCrawl', 'Full Crawl failed: rsync exit 23']);
    const stopped = transition(transition(at('HistoryCrawl', { paused: true }), { type: 'stop' }), { type: 'stopped' });
    assert.deepEqual([stopped.phase, stopped.paused], ['Stopped', false]);
  });

  it('clears on linkBack only a fault the link caused', () => {
    for (const reason of ['slave unreachable: No route to host', 'connection to the slave lost: EOF', 'connection lost during Full Crawl: x']) {
      assert.ok(isLinkReason(reason), reason);
      assert.equal(transition(at('ChangelogCrawl', { faulty: reason }), { type: 'linkBack' }).faulty, undefined);
    }
    const refused = 'the slave refused writes: No space left on device (28)';
    assert.ok(!isLinkReason(refused));
    assert.equal(transition(at('ChangelogCrawl', { faulty: refused }), { type: 'linkBack' }).faulty, refused);
  });

  it('returns the same state when a condition does not change (nothing to show or log)', () => {
    const s = at('ChangelogCrawl', { faulty: 'x' });
    assert.equal(transition(s, { type: 'fault', reason: 'x' }), s);
    assert.equal(transition(at('ChangelogCrawl'), { type: 'healthy' }).phase, 'ChangelogCrawl');
  });

  it('walks a whole life: start, Full Crawl, Faulty and back, pause, live, stop', () => {
    const steps: SessionEvent[] = [{ type: 'start' }, { type: 'full' }, { type: 'fault', reason: 'connection lost during Full Crawl: EOF' }, { type: 'linkBack' }, { type: 'crawled' }, { type: 'pause' }, { type: 'resume' }, { type: 'stop' }, { type: 'stopped' }];
    let s = INITIAL;
    const seen: string[] = [];
    for (const e of steps) {
      s = transition(s, e);
      const v = shown(s);
      seen.push(`${v.status}/${v.crawl}`);
    }
    assert.deepEqual(seen, ['Initializing/N/A', 'Initializing/Full Crawl', 'Faulty/Full Crawl', 'Initializing/Full Crawl', 'Active/Changelog Crawl', 'Paused/Changelog Crawl', 'Active/Changelog Crawl', 'Active/Changelog Crawl', 'Stopped/N/A']);
  });
});

describe('what a state shows (gsyncd status)', () => {
  const cases: [SessionState, string, string, string | undefined][] = [
    [INITIAL, 'Created', 'N/A', undefined],
    [at('Initializing'), 'Initializing', 'N/A', undefined],
    [at('FullCrawl'), 'Initializing', 'Full Crawl', undefined],
    [at('HistoryCrawl'), 'Active', 'History Crawl', undefined],
    [at('ChangelogCrawl'), 'Active', 'Changelog Crawl', undefined],
    [at('ChangelogCrawl', { faulty: 'why' }), 'Faulty', 'Changelog Crawl', 'why'],
    [at('FullCrawl', { faulty: 'why', paused: true }), 'Paused', 'Full Crawl', undefined],
    [at('Stopping', { before: 'FullCrawl' }), 'Initializing', 'Full Crawl', undefined],
    [at('Stopped', { faulty: 'why' }), 'Stopped', 'N/A', undefined],
    [at('Failed', { faulty: 'why' }), 'Faulty', 'N/A', 'why'],
  ];
  for (const [s, status, crawl, reason] of cases) {
    it(`${s.phase}${s.faulty ? ' faulty' : ''}${s.paused ? ' paused' : ''} shows ${status} / ${crawl}`, () => {
      assert.deepEqual(shown(s), { status, crawl, reason });
    });
  }
});

describe('docs/session.md', () => {
  it('shows the transition table as the code has it', () => {
    const cell = (t: string | undefined): string => (t === undefined ? '—' : t);
    const types = EVENTS.map((e) => e.type);
    const table = [
      `| phase | ${types.join(' | ')} |`,
      `|---|${types.map(() => '---').join('|')}|`,
      ...PHASES.map((p) => `| ${p} | ${types.map((t) => cell(TRANSITIONS[p][t])).join(' | ')} |`),
    ].join('\n');
    const doc = readFileSync(`${repoRoot}docs/session.md`, 'utf8');
    assert.ok(doc.includes(table), `docs/session.md lacks the table; it should read:\n${table}`);
  });
});
