/**
 * The process edge: picks the command, runs it, turns a GsyncdError into its message and
 * exit status (CLI.md), and nothing else.
 */
import { ExitCode, GsyncdError } from '../errors.js';
import { runMirror } from './mirror.js';
import { runSlave } from './slave.js';
import { runVerify } from './verify.js';
import { runCheckpoint, runStatus } from './status.js';
import { runPause, runResume, runStop } from './control.js';
import { runConfig } from './config-cmd.js';
import { runMonitor } from './monitor.js';
import { runHealth } from './health.js';
import { remoteTree } from '../transport/remote-tree.js';
import { normaliseArgv } from './flags.js';

type Command = (argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<ExitCode>;

const COMMANDS: ReadonlyMap<string, Command> = new Map(Object.entries({
  slave: runSlave,
  verify: (argv, env) => runVerify(argv, env, remoteTree),
  status: runStatus,
  checkpoint: runCheckpoint,
  stop: runStop,
  pause: runPause,
  resume: runResume,
  config: runConfig,
  monitor: runMonitor,
  health: runHealth,
} satisfies Record<string, Command>));

async function main(argv: readonly string[]): Promise<ExitCode> {
  const args = normaliseArgv(argv);
  const command = args[0] === undefined ? undefined : COMMANDS.get(args[0]);
  if (command) return command(args.slice(1), process.env);
  return runMirror(args, process.env);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof GsyncdError) {
      // eslint-disable-next-line no-console -- the process edge: the one place that writes for people
      if (e.message !== '') console.error(`gsyncd: ${e.message}`);
      process.exitCode = e.exitCode;
    } else {
      // eslint-disable-next-line no-console -- the process edge
      console.error(`gsyncd: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exitCode = ExitCode.failure;
    }
  },
).finally(() => {
  // Everything is stopped by now; a handle some library left open must not keep us alive.
  setTimeout(() => process.exit(), 3000).unref();
});
