/**
 * What `gsyncd monitor` runs, and what a reload changes. Pure: the config file (and each
 * session's own config) in, worker specs and a reconciliation plan out.
 */
import type { ConfigFile, Settings } from '../config/file.js';
import { envSettings, layer, toOptions } from '../config/options.js';

export interface WorkerSpec {
  readonly name: string;
  /** gsyncd's arguments for the worker (after the program). */
  readonly args: readonly string[];
  readonly faultyRestartS: number;
  /** Where the worker's status file is, to see it turn Faulty. */
  readonly sessionDir: string;
  /** Equal fingerprints: nothing that the worker reads has changed, it keeps running. */
  readonly fingerprint: string;
}

export interface SpecInputs {
  readonly config: ConfigFile;
  readonly env: NodeJS.ProcessEnv;
  /** The monitor's --state-dir, if given. */
  readonly stateDirFlag: string | undefined;
  /** The default state directory when nothing names one. */
  readonly defaultStateDir: string;
  /** Each session's own config (`config set`), by name; absent when it has none. */
  readonly own: ReadonlyMap<string, { readonly text: string; readonly settings: Settings }>;
}

/** The sessions with master: and slave:, each as a worker to run. */
export function workerSpecs(i: SpecInputs): WorkerSpec[] {
  const specs: WorkerSpec[] = [];
  for (const [name, ends] of i.config.endpoints) {
    if (ends.master === undefined || ends.slave === undefined) continue;
    const section = i.config.sessions.get(name) ?? {};
    const own = i.own.get(name);
    const o = toOptions(layer(i.config.defaults, section, own?.settings ?? {}, envSettings(i.env)));
    const stateDir = i.stateDirFlag ?? o.stateDir ?? i.defaultStateDir;
    const sessionDir = `${stateDir}/${name}`;
    const args = [
      '--config-file', i.config.file,
      '--session', name,
      '--state-dir', stateDir,
      // A worker logs to its session's directory unless told otherwise: the monitor's own
      // output stays readable, and `tail -f STATE/NAME/gsyncd.log` follows one session.
      ...(o.logFile === undefined ? ['--log-file', `${sessionDir}/gsyncd.log`] : []),
    ];
    const fingerprint = JSON.stringify([ends.master, ends.slave, i.config.defaults, section, own?.text ?? '', args]);
    specs.push({ name, args, faultyRestartS: o.faultyRestart, sessionDir, fingerprint });
  }
  return specs;
}

export interface Reconcile {
  readonly start: readonly WorkerSpec[];
  readonly stop: readonly string[];
  readonly restart: readonly WorkerSpec[];
  readonly keep: readonly string[];
}

/** Added sessions start, removed ones stop, changed ones restart; the rest keep running (and their queues). */
export function reconcile(running: ReadonlyMap<string, WorkerSpec>, wanted: readonly WorkerSpec[]): Reconcile {
  const wantedNames = new Set(wanted.map((w) => w.name));
  const start: WorkerSpec[] = [];
  const restart: WorkerSpec[] = [];
  const keep: string[] = [];
  for (const w of wanted) {
    const current = running.get(w.name);
    if (!current) start.push(w);
    else if (current.fingerprint !== w.fingerprint) restart.push(w);
    else keep.push(w.name);
  }
  const stop = [...running.keys()].filter((n) => !wantedNames.has(n));
  return { start, stop, restart, keep };
}
