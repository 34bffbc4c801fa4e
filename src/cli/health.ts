/**
 * `gsyncd health [SESSION]`: for a container's HEALTHCHECK or a monitoring probe. Exit 0 when
 * every session of the state directory (or the one named) has a running process that is not
 * Faulty; 1 otherwise, one line per session saying why.
 */
import { Command } from 'commander';
import { ExitCode, GsyncdError } from '../errors.js';
import { readSession, readSessions } from '../status/read.js';
import type { StatusRecord } from '../status/status.js';
import { parseCommand } from './parse-command.js';
import { stateDirOf } from './state-dir.js';

/** Pure: whether a session is healthy, and the line that says so. */
export function healthOf(r: StatusRecord): { readonly ok: boolean; readonly line: string } {
  switch (r.status) {
    case 'Faulty':
      return { ok: false, line: `${r.session}: Faulty: ${r.reason ?? 'no reason given'}` };
    case 'Stopped':
    case 'Created':
      return { ok: false, line: `${r.session}: ${r.status} (no gsyncd process runs it)` };
    default:
      return { ok: true, line: `${r.session}: ${r.status}${r.crawl_status === 'N/A' ? '' : ` (${r.crawl_status})`}` };
  }
}

export async function runHealth(argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout): Promise<ExitCode> {
  const cmd = new Command('gsyncd health')
    .usage('[--state-dir DIR] [SESSION]')
    .description('Exit 0 when every session (or SESSION) runs and is not Faulty, 1 otherwise: for a HEALTHCHECK or a probe.')
    .argument('[SESSION]', 'only this session')
    .option('--state-dir <DIR>', 'where the sessions keep their state (default: $GSYNCD_STATE_DIR, /var/lib/gsyncd, $XDG_STATE_HOME/gsyncd)')
    .option('-c, --config-file <FILE>', 'the config file whose state-dir applies')
    .helpOption('-h, --help', 'show this help')
    .configureOutput({ writeOut: (t) => out.write(t), writeErr: () => undefined })
    .allowExcessArguments(false);
  parseCommand(cmd, argv, 'health: ');
  const o = cmd.opts<{ stateDir?: string; configFile?: string }>();
  const stateDir = await stateDirOf(o.stateDir, env, o.configFile);
  const only = cmd.args[0];
  const records = only === undefined ? await readSessions(stateDir) : [await readSession(stateDir, only)].filter((r) => r !== undefined);
  if (records.length === 0) throw new GsyncdError(`health: ${only === undefined ? 'no session' : `no session "${only}"`} in ${stateDir}`, ExitCode.failure);
  const results = records.map(healthOf);
  out.write(`${results.map((r) => r.line).join('\n')}\n`);
  if (results.every((r) => r.ok)) return ExitCode.ok;
  throw new GsyncdError('', ExitCode.failure);
}
