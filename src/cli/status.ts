/** `gsyncd status` and `gsyncd checkpoint SESSION`: what a session is doing, and a point to wait for. */
import { setTimeout as delay } from 'node:timers/promises';
import { Command } from 'commander';
import path from 'node:path';
import { ExitCode, GsyncdError, usageError } from '../errors.js';
import { parseCheckpointTime, writeCheckpoint } from '../session/checkpoint.js';
import { readSession, readSessions } from '../status/read.js';
import { renderJson, renderTable } from '../status/table.js';
import { parseCommand } from './parse-command.js';
import { stateDirOf } from './state-dir.js';


export async function runStatus(argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout): Promise<ExitCode> {
  const cmd = new Command('gsyncd status')
    .usage('[--json] [--detail] [--state-dir DIR] [SESSION]')
    .description("Show the sessions' state, as gluster's geo-replication status does. A session whose process is gone is Stopped.")
    .argument('[SESSION]', 'only this session')
    .option('--json', 'an array of objects, one per session')
    .option('--detail', 'add pending, failures, checkpoint and totals columns')
    .option('--state-dir <DIR>', 'where the sessions keep their state (default: $GSYNCD_STATE_DIR, /var/lib/gsyncd, $XDG_STATE_HOME/gsyncd)')
    .helpOption('-h, --help', 'show this help')
    .configureOutput({ writeOut: (t) => out.write(t), writeErr: () => undefined })
    .allowExcessArguments(false);
  parseCommand(cmd, argv, 'status: ');
  const o = cmd.opts<{ json?: boolean; detail?: boolean; stateDir?: string }>();
  const stateDir = await stateDirOf(o.stateDir, env);
  const only = cmd.args[0];
  let records;
  if (only !== undefined) {
    const r = await readSession(stateDir, only);
    if (!r) throw new GsyncdError(`status: no session "${only}" in ${stateDir}`, ExitCode.failure);
    records = [r];
  } else records = await readSessions(stateDir);
  out.write(o.json ? renderJson(records) : records.length === 0 ? `No sessions in ${stateDir}\n` : renderTable(records, o.detail === true));
  return ExitCode.ok;
}

export async function runCheckpoint(argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout): Promise<ExitCode> {
  const cmd = new Command('gsyncd checkpoint')
    .usage('[--state-dir DIR] SESSION [now|TIME] [--wait [--timeout SECONDS]]')
    .description(
      'Mark a point in time: the checkpoint completes when everything changed on the master before it is on the slave.\n' +
        'With --wait, exit 0 when it completes, 1 on timeout: what a backup script waits on.',
    )
    .argument('<SESSION>', 'the session')
    .argument('[TIME]', 'now (the default) or a date and time, e.g. 2026-11-27T06:00:00Z')
    .option('--state-dir <DIR>', 'where the sessions keep their state')
    .option('--wait', 'wait until the checkpoint completes')
    .option('--timeout <SECONDS>', 'with --wait: give up after this long (exit 1)')
    .helpOption('-h, --help', 'show this help')
    .configureOutput({ writeOut: (t) => out.write(t), writeErr: () => undefined })
    .allowExcessArguments(false);
  parseCommand(cmd, argv, 'checkpoint: ');
  const o = cmd.opts<{ stateDir?: string; wait?: boolean; timeout?: string }>();
  const [name = '', timeText = 'now'] = cmd.args;
  const time = parseCheckpointTime(timeText);
  if (time === undefined) throw usageError(`checkpoint: TIME "${timeText}": expected now or a date and time such as 2026-11-27T06:00:00Z`);
  const timeout = o.timeout === undefined ? undefined : Number(o.timeout);
  if (timeout !== undefined && !(timeout > 0)) throw usageError(`checkpoint: --timeout: expected a number of seconds above 0, got "${o.timeout ?? ''}"`);
  const stateDir = await stateDirOf(o.stateDir, env);
  if (!(await readSession(stateDir, name))) throw new GsyncdError(`checkpoint: no session "${name}" in ${stateDir}`, ExitCode.failure);
  await writeCheckpoint(path.join(stateDir, name), time);
  const iso = time.toISOString();
  if (!o.wait) {
    out.write(`checkpoint ${iso} set for session ${name}\n`);
    return ExitCode.ok;
  }
  const deadline = timeout === undefined ? Infinity : Date.now() + timeout * 1000;
  while (Date.now() < deadline) {
    const r = await readSession(stateDir, name);
    if (r?.checkpoint.time === iso && r.checkpoint.completed) {
      out.write(`checkpoint ${iso} completed at ${r.checkpoint.completion_time ?? '?'}\n`);
      return ExitCode.ok;
    }
    await delay(250);
  }
  throw new GsyncdError(`checkpoint ${iso} of session ${name} not completed after ${timeout ?? 0} s`, ExitCode.failure);
}
