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
import { remoteTree } from '../transport/remote-tree.js';
import { normaliseArgv } from './flags.js';

const COMMANDS = new Set(['slave', 'status', 'checkpoint', 'config', 'monitor', 'stop', 'pause', 'resume', 'verify']);

async function main(argv: readonly string[]): Promise<ExitCode> {
  const args = normaliseArgv(argv);
  const first = args[0];
  if (first === 'slave') return runSlave(args.slice(1), process.env);
  if (first === 'verify') return runVerify(args.slice(1), process.env, remoteTree);
  if (first === 'status') return runStatus(args.slice(1), process.env);
  if (first === 'stop') return runStop(args.slice(1), process.env);
  if (first === 'checkpoint') return runCheckpoint(args.slice(1), process.env);
  if (first === 'pause') return runPause(args.slice(1), process.env);
  if (first === 'config') return runConfig(args.slice(1), process.env);
  if (first === 'monitor') return runMonitor(args.slice(1), process.env);
  if (first === 'resume') return runResume(args.slice(1), process.env);
  if (first !== undefined && COMMANDS.has(first)) {
    throw new GsyncdError(`the "${first}" command is not available in this version yet`, ExitCode.usage);
  }
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
