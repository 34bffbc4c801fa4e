/**
 * The process edge: picks the command, runs it, turns a GsyncdError into its message and
 * exit status (CLI.md), and nothing else.
 */
import { ExitCode, GsyncdError } from '../errors.js';
import { normaliseArgv } from './flags.js';
import { catchStopSignals } from './stop-signals.js';

type Command = (argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<ExitCode>;

/**
 * Each command's module is loaded when it runs: `gsyncd status` or `gsyncd slave` (started
 * over SSH for every session) need neither the watcher, winston nor prom-client, and loading
 * them all cost each run about 0.3 s of CPU.
 */
const COMMANDS: ReadonlyMap<string, () => Promise<Command>> = new Map(Object.entries({
  slave: async () => (await import('./slave.js')).runSlave,
  verify: async () => {
    const [{ runVerify }, { remoteTree }] = await Promise.all([import('./verify.js'), import('../transport/remote-tree.js')]);
    return (argv, env) => runVerify(argv, env, remoteTree);
  },
  status: async () => (await import('./status.js')).runStatus,
  checkpoint: async () => (await import('./status.js')).runCheckpoint,
  stop: async () => (await import('./control.js')).runStop,
  pause: async () => (await import('./control.js')).runPause,
  resume: async () => (await import('./control.js')).runResume,
  delete: async () => (await import('./delete.js')).runDelete,
  config: async () => (await import('./config-cmd.js')).runConfig,
  monitor: async () => (await import('./monitor.js')).runMonitor,
  health: async () => (await import('./health.js')).runHealth,
} satisfies Record<string, () => Promise<Command>>));

async function main(argv: readonly string[]): Promise<ExitCode> {
  const args = normaliseArgv(argv);
  const load = args[0] === undefined ? undefined : COMMANDS.get(args[0]);
  if (load) return (await load())(args.slice(1), process.env);
  // Before the mirror's modules load: a signal from now on is a stop request (stop-signals.ts).
  catchStopSignals();
  return (await import('./mirror.js')).runMirror(args, process.env);
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
