/**
 * `gsyncd stop|pause|resume SESSION`: control of a session that runs (or will run). Each one
 * waits until the session has done what was asked, so that a script can go on from there.
 */
import { setTimeout as delay } from 'node:timers/promises';
import path from 'node:path';
import { Command } from 'commander';
import { ExitCode, GsyncdError, usageError } from '../errors.js';
import { pauseRequested, requestPause } from '../session/pause.js';
import { isGsyncd, readSession } from '../status/read.js';
import type { StatusRecord } from '../status/status.js';
import { parseCommand } from './parse-command.js';
import { stateDirOf } from './state-dir.js';

interface Target {
  readonly name: string;
  readonly stateDir: string;
  readonly record: StatusRecord;
  /** The session's process, when one runs. */
  readonly pid: number | undefined;
  readonly timeoutS: number;
}

async function target(verb: string, description: string, argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, defaultTimeout: string): Promise<Target> {
  const cmd = new Command(`gsyncd ${verb}`)
    .usage('[--state-dir DIR] [--timeout SECONDS] SESSION')
    .description(description)
    .argument('<SESSION>', 'the session')
    .option('--state-dir <DIR>', 'where the sessions keep their state')
    .option('-c, --config-file <FILE>', 'the config file whose state-dir applies')
    .option('--timeout <SECONDS>', 'how long to wait for the session to do it', defaultTimeout)
    .helpOption('-h, --help', 'show this help')
    .configureOutput({ writeOut: (t) => out.write(t), writeErr: () => undefined })
    .allowExcessArguments(false);
  parseCommand(cmd, argv, `${verb}: `);
  const o = cmd.opts<{ stateDir?: string; configFile?: string; timeout: string }>();
  const timeoutS = Number(o.timeout);
  if (!(timeoutS > 0)) throw usageError(`${verb}: --timeout: expected a number of seconds above 0, got "${o.timeout}"`);
  const name = cmd.args[0] ?? '';
  const stateDir = await stateDirOf(o.stateDir, env, o.configFile);
  const record = await readSession(stateDir, name);
  if (!record) throw new GsyncdError(`${verb}: no session "${name}" in ${stateDir}`, ExitCode.failure);
  const running = record.status !== 'Stopped' && record.pid !== undefined && (await isGsyncd(record.pid));
  return { name, stateDir, record, pid: running ? record.pid : undefined, timeoutS };
}

/** Polls until `done` holds, or the timeout passes. */
async function waitFor(t: Target, done: (r: StatusRecord | undefined) => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + t.timeoutS * 1000;
  while (Date.now() < deadline) {
    if (await done(await readSession(t.stateDir, t.name))) return true;
    await delay(100);
  }
  return false;
}

export async function runStop(argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout): Promise<ExitCode> {
  const t = await target('stop', 'Stop a running session cleanly (SIGTERM: the running rsync may finish, state is kept), and wait for it.', argv, env, out, '60');
  if (t.pid === undefined) {
    out.write(`session ${t.name} is not running\n`);
    return ExitCode.ok;
  }
  const pid = t.pid;
  process.kill(pid, 'SIGTERM');
  if (await waitFor(t, async () => !(await isGsyncd(pid)))) {
    out.write(`session ${t.name} stopped\n`);
    return ExitCode.ok;
  }
  throw new GsyncdError(`stop: session ${t.name} (pid ${pid}) still running after ${t.timeoutS} s`, ExitCode.failure);
}

export async function runPause(argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout): Promise<ExitCode> {
  const t = await target(
    'pause',
    'Stop sending: running rsyncs are stopped and no batch starts; changes are still watched and queued.\n' +
      'The pause is kept across restarts until gsyncd resume.',
    argv,
    env,
    out,
    '30',
  );
  const dir = path.join(t.stateDir, t.name);
  const already = await pauseRequested(dir);
  await requestPause(dir, true);
  if (t.pid === undefined) {
    out.write(`session ${t.name} is not running; it ${already ? 'was already paused and ' : ''}will start paused\n`);
    return ExitCode.ok;
  }
  if (await waitFor(t, (r) => r?.status === 'Paused' || r?.status === 'Stopped')) {
    out.write(`session ${t.name} ${already ? 'is already paused' : 'paused'}\n`);
    return ExitCode.ok;
  }
  throw new GsyncdError(`pause: session ${t.name} (pid ${t.pid}) has not confirmed the pause after ${t.timeoutS} s; it stays requested`, ExitCode.failure);
}

export async function runResume(argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout): Promise<ExitCode> {
  const t = await target('resume', 'Send again what gathered while paused, and go on mirroring.', argv, env, out, '30');
  const dir = path.join(t.stateDir, t.name);
  const was = await pauseRequested(dir);
  await requestPause(dir, false);
  if (!was) {
    out.write(`session ${t.name} is not paused\n`);
    return ExitCode.ok;
  }
  if (t.pid === undefined) {
    out.write(`session ${t.name} is not running; it will start unpaused\n`);
    return ExitCode.ok;
  }
  if (await waitFor(t, (r) => r?.status !== 'Paused')) {
    out.write(`session ${t.name} resumed\n`);
    return ExitCode.ok;
  }
  throw new GsyncdError(`resume: session ${t.name} (pid ${t.pid}) has not confirmed the resume after ${t.timeoutS} s`, ExitCode.failure);
}
