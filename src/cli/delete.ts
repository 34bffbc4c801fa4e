/**
 * `gsyncd delete SESSION`: removes a stopped session's state (its status, saved snapshot,
 * journal and pause request), as gluster's `geo-replication … delete` does. Refused while
 * the session runs. The slave is not touched; the next start of that master and slave is a
 * first start (a Full Crawl).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { ExitCode, GsyncdError, usageError } from '../errors.js';
import { acquirePidLock } from '../session/lock.js';
import { isGsyncd, readSession } from '../status/read.js';
import { parseCommand } from './parse-command.js';
import { SESSION_NAME, stateDirOf } from './state-dir.js';

export async function runDelete(argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout): Promise<ExitCode> {
  const cmd = new Command('gsyncd delete')
    .usage('[--state-dir DIR] SESSION')
    .description("Remove a stopped session's state (status, snapshot, journal). The slave is left as it is; the next start of the session copies the whole tree again.")
    .argument('<SESSION>', 'the session, as gsyncd status names it')
    .option('--state-dir <DIR>', 'where the sessions keep their state')
    .option('-c, --config-file <FILE>', 'the config file whose state-dir applies')
    .helpOption('-h, --help', 'show this help')
    .configureOutput({ writeOut: (t) => out.write(t), writeErr: () => undefined })
    .allowExcessArguments(false);
  parseCommand(cmd, argv, 'delete: ');
  const o = cmd.opts<{ stateDir?: string; configFile?: string }>();
  const name = cmd.args[0] ?? '';
  // `.` and `..` pass the name's characters, and would name the state dir or its parent.
  if (!SESSION_NAME.test(name) || /^\.+$/.test(name)) throw usageError(`delete: "${name}" is no session name (letters, digits, @ . _ -)`);
  const stateDir = await stateDirOf(o.stateDir, env, o.configFile);
  const record = await readSession(stateDir, name);
  if (!record) throw usageError(`delete: no session "${name}" in ${stateDir} (gsyncd status lists them)`);
  if (record.pid !== undefined && record.status !== 'Stopped' && (await isGsyncd(record.pid))) {
    throw new GsyncdError(`delete: session ${name} is running (pid ${String(record.pid)}); stop it first: gsyncd stop ${name}`, ExitCode.failure);
  }
  const dir = path.join(stateDir, name);
  // Held while the state goes: a start of the session meanwhile waits for nothing but fails cleanly.
  const lock = await acquirePidLock(path.join(dir, 'gsyncd.pid'));
  if (!lock.ok) throw new GsyncdError(`delete: session ${name} is running (pid ${String(lock.holder)}); stop it first: gsyncd stop ${name}`, ExitCode.failure);
  await rm(dir, { recursive: true, force: true });
  out.write(`session ${name} deleted (${dir})\n`);
  return ExitCode.ok;
}
