// A session's status as an operator reads it, and waits for it that cost no process per look:
// a wait reads the status files with the code `gsyncd status` runs (src/status/read.ts) every
// 100 ms, and once a record matches, runs `gsyncd status --json` to check that the operator
// sees the same. Polling the CLI itself spawned a Node.js process four times a second.
import assert from 'node:assert/strict';
import { readSessions } from '../../src/status/read.js';
import type { StatusRecord } from '../../src/status/status.js';
import { exec } from './exec.js';
import { gsyncdBin, type GsyncdProcess } from './gsyncd.js';
import { pollUntil } from './wait.js';

export type StatusRow = StatusRecord;

/** The one session of a state dir, as `gsyncd status --json` prints it. */
export async function statusOf(stateDir: string): Promise<StatusRow> {
  const r = await exec(process.execPath, [gsyncdBin, 'status', '--json', '--state-dir', stateDir], { timeoutMs: 30_000 });
  assert.equal(r.code, 0, `gsyncd status --json: exit ${String(r.code ?? r.signal)}\n${r.stderr}`);
  const rows = JSON.parse(r.stdout) as StatusRow[];
  assert.ok(rows.length === 1 && rows[0] !== undefined, `gsyncd status --json: one session expected in ${stateDir}, got:\n${r.stdout}`);
  return rows[0];
}

export interface WaitForStatusOptions {
  readonly timeoutMs: number;
  /** Fail at once if this gsyncd exits meanwhile. */
  readonly g?: GsyncdProcess;
}

/** Waits until the session's status is one `accept` takes, as `gsyncd status --json` shows it. */
export async function waitForStatus(stateDir: string, what: string, accept: (row: StatusRow) => boolean, o: WaitForStatusOptions): Promise<StatusRow> {
  let last: StatusRow | undefined;
  return pollUntil(
    async () => {
      if (o.g?.exit !== undefined) assert.fail(`gsyncd exited while waiting for status ${what}:\n${o.g.tail()}`);
      const [row] = await readSessions(stateDir);
      last = row;
      if (row === undefined || !accept(row)) return undefined;
      const shown = await statusOf(stateDir);
      last = shown;
      return accept(shown) ? shown : undefined;
    },
    () => `status ${what}; last: ${JSON.stringify(last)}${o.g ? `\ngsyncd:\n${o.g.tail()}` : ''}`,
    { timeoutMs: o.timeoutMs, intervalMs: 100 },
  );
}
