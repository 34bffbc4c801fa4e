/**
 * SIGINT and SIGTERM from a mirror's first instant. The handlers used to be installed once
 * the session was built: a signal while modules loaded and the session was set up (about
 * 0.3 s, longer on a loaded machine) met Node's default disposition and killed gsyncd on the
 * spot (exit 130 or 143, not the documented 0). Now a signal at any moment is a stop request:
 * remembered until the session exists, which then stops at its next step (a stop is a
 * transition from any state, session/machine.ts). A second signal exits at once with 1.
 */
import { ExitCode } from '../errors.js';

type StopListener = (signal: NodeJS.Signals) => void;

let requested: NodeJS.Signals | undefined;
let listener: StopListener | undefined;

/** Installs the handlers; called by the process edge before the mirror's modules load. */
export function catchStopSignals(): void {
  const on = (signal: NodeJS.Signals): void => {
    if (requested !== undefined) process.exit(ExitCode.failure);
    requested = signal;
    listener?.(signal);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
}

/**
 * `l` is told of the stop request: now, if one came already, else when it comes. One
 * listener at a time; the returned function removes it.
 */
export function onStopRequest(l: StopListener): () => void {
  listener = l;
  if (requested !== undefined) l(requested);
  return () => {
    if (listener === l) listener = undefined;
  };
}
