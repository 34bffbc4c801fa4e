/**
 * Seeded random inputs into the pure core: the parsers must answer (a value or a reason),
 * never throw, and the change set must never lose a path nor outgrow its bound.
 * A failure names its seed: rerun with FUZZ_SEED=<seed> to replay it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/file.js';
import { TUNABLES } from '../../src/config/tunables.js';
import { parseEndpoint } from '../../src/endpoint/parse.js';
import { compileMatcher } from '../../src/filter/matcher.js';
import { FILTER_RULES_KEY, decodeFilterArg } from '../../src/filter/rules.js';
import { ChangeSet, type Entry } from '../../src/sync/change-set.js';
import { isWithin } from '../../src/sync/paths.js';
import { joinWords, splitWords } from '../../src/transport/shell-words.js';
import { parseRsyncErrors } from '../../src/sync/rsync-errors.js';
import { judgeBatch } from '../../src/sync/batch-failures.js';
import { rsyncExit } from '../../src/sync/exit-codes.js';
import { parseRsyncStats } from '../../src/sync/rsync-stats.js';
import { prng } from '../helpers/prng.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261127);


interface Gen {
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
  /** A string of up to `max` pieces drawn from `pieces`. */
  text(pieces: readonly string[], max: number): string;
}

function gen(seed: number): Gen {
  const r = prng(seed);
  const g: Gen = {
    int: (n) => Math.floor(r() * n),
    pick: (items) => {
      const item = items[Math.floor(r() * items.length)];
      if (item === undefined) throw new Error('pick from nothing');
      return item;
    },
    chance: (p) => r() < p,
    text: (pieces, max) => {
      let s = '';
      for (let i = g.int(max + 1); i > 0; i--) s += g.pick(pieces);
      return s;
    },
  };
  return g;
}

/**
 * Runs `body` for each iteration; a failure names the seed, the iteration and the input
 * (made smaller by `shrink` when one is given, so that the report stays readable).
 */
function fuzz<T>(name: string, iterations: number, make: (g: Gen) => T, body: (input: T) => void, shrink?: (input: T, fails: (x: T) => boolean) => T): void {
  it(`${name} (${iterations} inputs, seed ${SEED})`, () => {
    const g = gen(SEED);
    const fails = (x: T): boolean => {
      try {
        body(x);
        return false;
      } catch {
        return true;
      }
    };
    for (let i = 0; i < iterations; i++) {
      const input = make(g);
      if (!fails(input)) continue;
      const small = shrink ? shrink(input, fails) : input;
      try {
        body(small);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        assert.fail(`FUZZ_SEED=${SEED}, iteration ${i}${small === input ? '' : ' (shrunk)'}, input ${JSON.stringify(small)}: ${why}`);
      }
    }
  });
}

const CONFIG_PIECES = [
  ...TUNABLES.map((t) => t.name),
  'sync_jbos', 'path', 'session', 'vars', 'volume', 'web',
  ':', '=', ' ', ' ', '\t', '\n', '\n', '\r\n', '[', ']', '#', ';', '"', "'", '\\', '-', '_', '.',
  'a', 'x', '0', '1', '3', '-1', '1.5', 'yes', 'no', 'true', '*.tmp', '- *.o', '/srv', 'é', '\0',
];

const ENDPOINT_PIECES = [
  'ssh://', 'file://', 'ftp://', '/', '/', ':', '::', '@', '[', ']', '::1', '%', '%2F', '%00', '%zz', '%E0', '%20',
  'host', 'user', 'h-1.example.com', '-o', '2222', '99999', 'srv', 'www', '.', '..', ' ', '\0', '\n', 'é', 'localhost', 'vol',
];

const WORD_PIECES = ['a', 'b', ' ', '  ', '\t', '\n', "'", '"', '\\', '$', '`', '*', '-p', '2222', 'é', '\\"', "'\\''"];

const GLOB_PIECES = ['a', 'b', 'z', '/', '*', '**', '***', '?', '[', ']', '!', '^', '-', '\\', '[:digit:]', '[:alpha:]', '[:', ':]', '.', '+', '(', '|', '{', ' '];

describe('fuzz', () => {
  fuzz(
    'parseConfig answers settings and problems for any text',
    3000,
    (g) => g.text(CONFIG_PIECES, 40),
    (text) => {
      const lineCount = text.split(/\r?\n/).length;
      const c = parseConfig(text, 'fuzz.conf');
      for (const p of c.problems) {
        assert.ok(Number.isInteger(p.line) && p.line >= 1 && p.line <= lineCount, `line ${p.line} of ${lineCount}`);
        assert.ok(p.message.length > 0);
      }
      const known = new Set([...TUNABLES.filter((t) => !t.flagOnly).map((t) => t.name), FILTER_RULES_KEY]);
      for (const settings of [c.defaults, ...c.sessions.values(), ...[...c.volumes.values()].map((v) => v.settings)]) {
        for (const key of Object.keys(settings)) assert.ok(known.has(key), `unexpected key ${key}`);
        const rules = settings[FILTER_RULES_KEY];
        if (rules !== undefined) {
          assert.ok(Array.isArray(rules));
          for (const item of rules as readonly string[]) decodeFilterArg(item);
        }
      }
    },
  );

  fuzz(
    'parseEndpoint answers an endpoint or a reason for any spec, never a NUL byte or a host ssh reads as an option',
    5000,
    (g) => g.text(ENDPOINT_PIECES, 8),
    (spec) => {
      const r = parseEndpoint(spec, '/home/u');
      if (!r.ok) {
        assert.ok(r.reason.length > 0);
        return;
      }
      const e = r.endpoint;
      switch (e.kind) {
        case 'local':
          assert.ok(e.path.startsWith('/'), `not absolute: ${e.path}`);
          assert.ok(!e.path.includes('\0'), 'NUL in path');
          assert.ok(e.path === '/' || !e.path.endsWith('/'), `trailing slash: ${e.path}`);
          break;
        case 'ssh':
          assert.ok(!e.host.startsWith('-') && e.host !== '', `host ${e.host}`);
          assert.ok(e.user === undefined || !e.user.startsWith('-'), `user ${String(e.user)}`);
          assert.ok(e.path !== '' && !e.path.includes('\0'), `path ${JSON.stringify(e.path)}`);
          assert.ok(e.path === '/' || !e.path.endsWith('/'), `trailing slash: ${e.path}`);
          assert.ok(e.port === undefined || (Number.isInteger(e.port) && e.port >= 0 && e.port <= 65535), `port ${String(e.port)}`);
          break;
        case 'volume':
          assert.match(e.name, /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
          break;
      }
    },
  );

  fuzz(
    'splitWords answers words or its one documented error, and joinWords round-trips',
    5000,
    (g) => g.text(WORD_PIECES, 12),
    (text) => {
      let words: string[];
      try {
        words = splitWords(text);
      } catch (e) {
        assert.ok(e instanceof Error, 'threw a non-Error');
        assert.match(e.message, /^unterminated ["'] quote$/);
        return;
      }
      assert.deepEqual(splitWords(joinWords(words)), words);
    },
  );

  fuzz(
    'compileMatcher compiles any pattern, and answers a verdict',
    3000,
    (g) => g.text(GLOB_PIECES, 8),
    (pattern) => {
      const m = compileMatcher([{ kind: 'exclude', value: pattern }, { kind: 'filter', value: `+ ${pattern}` }], new Map());
      for (const p of ['a', 'a/b', 'z', '[', 'ab/c/d']) m.verdict(p, false);
    },
  );
});

type Op =
  | { readonly op: 'add'; readonly path: string; readonly recursive: boolean }
  | { readonly op: 'take'; readonly limit: number; readonly blockedTop: string }
  | { readonly op: 'done' | 'fail'; readonly batch: number; readonly backoff: number; readonly alone?: boolean }
  | { readonly op: 'wait'; readonly ms: number };

const NAMES = ['a', 'b', 'c', 'd', 'e'];

function randomOps(g: Gen): { maxPaths: number; ops: Op[] } {
  const ops: Op[] = [];
  for (let i = 40 + g.int(80); i > 0; i--) {
    const roll = g.int(10);
    if (roll < 6) {
      const depth = g.chance(0.02) ? 0 : 1 + g.int(3);
      const path = Array.from({ length: depth }, () => g.pick(NAMES)).join('/');
      ops.push({ op: 'add', path, recursive: g.chance(0.15) });
    } else if (roll < 8) ops.push({ op: 'take', limit: 1 + g.int(6), blockedTop: g.pick(['', ...NAMES]) });
    else if (roll < 9) ops.push({ op: g.chance(0.5) ? 'done' : 'fail', batch: g.int(4), backoff: g.int(3) * 100, alone: g.chance(0.3) });
    else ops.push({ op: 'wait', ms: g.int(300) });
  }
  return { maxPaths: 3 + g.int(10), ops };
}

/**
 * Replays ops against a ChangeSet and a model: each added path is "queued" (it must be in
 * the set, itself or inside a recursive entry) or in flight in a batch that was taken.
 */
function replay(maxPaths: number, ops: readonly Op[], check: 'no-lost-path' | 'bound'): void {
  const cs = new ChangeSet(maxPaths);
  const state = new Map<string, 'queued' | number>();
  const inFlight = new Map<number, Entry[]>();
  let nextBatch = 0;
  let now = 1;
  const covers = (e: Entry, p: string): boolean => e.path === p || (e.recursive && isWithin(p, e.path));

  for (const [i, o] of ops.entries()) {
    switch (o.op) {
      case 'add':
        cs.add(o.path, o.recursive, now);
        state.set(o.path, 'queued');
        break;
      case 'take': {
        const taken = cs.take(o.limit, now, (e) => o.blockedTop !== '' && isWithin(e.path, o.blockedTop));
        if (taken.length === 0) break;
        const id = nextBatch++;
        inFlight.set(id, taken);
        for (const [p, s] of state) if (s === 'queued' && taken.some((e) => covers(e, p))) state.set(p, id);
        break;
      }
      case 'done':
      case 'fail': {
        const ids = [...inFlight.keys()];
        const id = ids[o.batch % Math.max(1, ids.length)];
        if (id === undefined) break;
        const entries = inFlight.get(id) ?? [];
        inFlight.delete(id);
        if (o.op === 'fail') cs.requeue(entries, now + o.backoff, now, true, o.alone === true);
        for (const [p, s] of state) {
          if (s !== id) continue;
          if (o.op === 'fail') state.set(p, 'queued');
          else state.delete(p);
        }
        break;
      }
      case 'wait':
        now += o.ms;
        break;
    }
    const entries = cs.snapshot();
    if (check === 'no-lost-path') {
      for (const [p, s] of state) {
        if (s === 'queued') assert.ok(entries.some((e) => covers(e, p)), `op ${i} (${JSON.stringify(o)}): ${JSON.stringify(p)} is lost`);
      }
      assert.equal(cs.size, entries.length);
    } else {
      assert.ok(cs.size <= maxPaths, `op ${i} (${JSON.stringify(o)}): ${cs.size} entries with a bound of ${maxPaths}`);
    }
  }
}

/** Drops ops one at a time while the failure remains. */
function shrinkOps(input: { maxPaths: number; ops: Op[] }, fails: (x: { maxPaths: number; ops: Op[] }) => boolean): { maxPaths: number; ops: Op[] } {
  let ops = input.ops;
  for (let changed = true; changed; ) {
    changed = false;
    for (let j = ops.length - 1; j >= 0; j--) {
      const fewer = [...ops.slice(0, j), ...ops.slice(j + 1)];
      if (fails({ maxPaths: input.maxPaths, ops: fewer })) {
        ops = fewer;
        changed = true;
      }
    }
  }
  return { maxPaths: input.maxPaths, ops };
}

describe('fuzz: ChangeSet under random add, take, requeue', () => {
  fuzz(
    'never loses a path',
    2000,
    randomOps,
    ({ maxPaths, ops }) => {
      replay(maxPaths, ops, 'no-lost-path');
    },
    shrinkOps,
  );

  fuzz(
    'never holds more than its bound',
    2000,
    randomOps,
    ({ maxPaths, ops }) => {
      replay(maxPaths, ops, 'bound');
    },
    shrinkOps,
  );
});

const RSYNC_PIECES = [
  'rsync: ', '[sender] ', '[receiver] ', '[generator] ', 'send_files failed to open ', 'mkstemp ', 'opendir ', 'write failed on ',
  '"', '/m', '/s', '/m/', '/s/', 'a', 'b/c', '.x.AbCdEf', '\\#012', '\\#3', ' failed', ': ', 'Permission denied (13)', ' -> ', '\n', ' (', 'rsync error: ',
];

describe('fuzz: rsync error lines', () => {
  fuzz(
    'parseRsyncErrors and judgeBatch answer for any stderr, and every entry is either done or failed',
    3000,
    (g) => ({ stderr: g.text(RSYNC_PIECES, 30), code: g.pick([0, 3, 11, 12, 20, 23, 24, 99]), paths: ['a', 'b', 'b/c', ''].filter(() => g.chance(0.5)) }),
    ({ stderr, code, paths }) => {
      const errors = parseRsyncErrors(stderr, '/m', '/s');
      for (const p of errors.paths) assert.ok(!p.path.startsWith('/'), `relative path expected: ${p.path}`);
      const entries: Entry[] = paths.map((path) => ({ path, recursive: false, since: 0, origin: 0, attempts: 0, notBefore: 0 }));
      const run = { recursive: false, paths, result: { exit: rsyncExit(code), stats: parseRsyncStats(''), stderr, output: '', sent: undefined, seconds: 0 } };
      const v = judgeBatch(entries, [run], '/m', '/s');
      assert.equal(v.done.length + v.failed.length, entries.length);
      if (rsyncExit(code).outcome !== 'partial' && !['ok', 'vanished'].includes(rsyncExit(code).outcome)) assert.equal(v.done.length, 0, 'a run that failed as a whole sent nothing known');
    },
  );
});
