/** src/sync/exit-codes.ts: every rsync exit status has a meaning (DESIGN.md invariant 6). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIONS, rsyncExit, type RsyncOutcome } from '../../src/sync/exit-codes.js';

describe('rsyncExit: the outcomes invariant 6 names', () => {
  // [code, outcome]
  const CASES: readonly (readonly [number, RsyncOutcome])[] = [
    [0, 'ok'],
    [24, 'vanished'],
    [23, 'partial'],
    [5, 'connection'],
    [10, 'connection'],
    [12, 'connection'],
    [30, 'connection'],
    [35, 'connection'],
    [255, 'connection'],
    [1, 'usage'],
    [2, 'usage'],
    [4, 'usage'],
  ];
  for (const [code, outcome] of CASES) {
    it(`${code} → ${outcome}`, () => {
      assert.equal(rsyncExit(code).outcome, outcome);
    });
  }
});

describe('rsyncExit: every code of the table, with its meaning', () => {
  // [code, meaning, outcome]: rsync's errcode.h and man page EXIT VALUES, and ssh's and the shell's
  const CASES: readonly (readonly [number, string, RsyncOutcome])[] = [
    [0, 'success', 'ok'],
    [1, 'syntax or usage error', 'usage'],
    [2, 'protocol incompatibility', 'usage'],
    [3, 'errors selecting input/output files, dirs', 'partial'],
    [4, 'requested action not supported', 'usage'],
    [5, 'error starting client-server protocol', 'connection'],
    [6, 'daemon unable to append to log-file', 'fatal'],
    [10, 'error in socket I/O', 'connection'],
    [11, 'error in file I/O', 'partial'],
    [12, 'error in rsync protocol data stream', 'connection'],
    [13, 'errors with program diagnostics', 'fatal'],
    [14, 'error in IPC code', 'fatal'],
    [15, 'sibling process crashed', 'fatal'],
    [16, 'sibling process terminated abnormally', 'fatal'],
    [19, 'received SIGUSR1', 'fatal'],
    [20, 'received SIGINT, SIGTERM, or SIGHUP', 'fatal'],
    [21, 'some error returned by waitpid()', 'fatal'],
    [22, 'error allocating core memory buffers', 'fatal'],
    [23, 'partial transfer due to error', 'partial'],
    [24, 'partial transfer due to vanished source files', 'vanished'],
    [25, 'the --max-delete limit stopped deletions', 'max-delete'],
    [30, 'timeout in data send/receive', 'connection'],
    [35, 'timeout waiting for daemon connection', 'connection'],
    [124, 'remote shell failed', 'connection'],
    [125, 'remote shell killed', 'connection'],
    [126, 'remote shell could not be run', 'usage'],
    [127, 'remote shell or remote rsync not found', 'usage'],
    [255, 'ssh failed (connection, authentication or remote command)', 'connection'],
  ];
  for (const [code, meaning, outcome] of CASES) {
    it(`${code}: ${meaning} → ${outcome}`, () => {
      assert.deepEqual(rsyncExit(code), { code, meaning, outcome });
    });
  }
});

describe('rsyncExit: an unknown code', () => {
  for (const code of [7, 17, 99, 128, 137, 254, 256, -1]) {
    it(`${code} → fatal, never a reason to exit`, () => {
      assert.deepEqual(rsyncExit(code), { code, meaning: `unknown exit status ${code}`, outcome: 'fatal' });
    });
  }
});

describe('ACTIONS: what each outcome means for the paths, whether to retry, how to log', () => {
  it('a failure that may have left paths behind is retried; success is logged at info', () => {
    for (const outcome of ['partial', 'connection', 'usage', 'fatal'] as const) assert.notEqual(ACTIONS[outcome].retry, 'no', outcome);
    for (const outcome of ['ok', 'vanished'] as const) assert.deepEqual([ACTIONS[outcome].retry, ACTIONS[outcome].level], ['no', 'info'], outcome);
  });

  it('every code from 0 to 255 has an outcome with an action: the daemon never meets an unknown one', () => {
    for (let code = 0; code <= 255; code++) assert.ok(ACTIONS[rsyncExit(code).outcome], String(code));
  });
});
