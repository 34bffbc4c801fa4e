/**
 * `gsyncd monitor [-c FILE]`: runs every `[session NAME]` of the config file that has
 * `master:` and `slave:`, each as its own worker process, until SIGTERM or SIGINT; SIGHUP
 * reloads the config file and the sessions' own configs.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { envSettings, layer, toOptions } from '../config/options.js';
import type { Settings } from '../config/file.js';
import { SESSION_CONFIG } from '../config/session-file.js';
import { ExitCode, GsyncdError, usageError } from '../errors.js';
import { createLogger } from '../log/logger.js';
import { Monitor } from '../monitor/monitor.js';
import { workerSpecs, type WorkerSpec } from '../monitor/plan.js';
import { acquirePidLock } from '../session/lock.js';
import { chooseConfig, loadConfig, loadSessionConfig } from './config-source.js';
import { parseCommand } from './parse-command.js';
import { SESSION_NAME, defaultStateDir } from './state-dir.js';
import { VERSION } from './version.js';

interface MonitorFlags {
  configFile?: string;
  stateDir?: string;
  logFile?: string;
  logLevel: string;
  logFormat: string;
  pidFile?: string;
}

/** Reads everything a worker depends on, afresh: the config file and each session's own config. */
async function loadSpecs(configFile: string | undefined, flags: MonitorFlags, env: NodeJS.ProcessEnv): Promise<WorkerSpec[]> {
  const choice = chooseConfig(configFile, env);
  const config = await loadConfig({ ...choice, explicit: true });
  const fallback = defaultStateDir(env);
  const own = new Map<string, { text: string; settings: Settings }>();
  for (const [name, ends] of config.endpoints) {
    if (!SESSION_NAME.test(name)) throw usageError(`${config.file}:${ends.line}: [session ${name}]: use letters, digits and . _ - @ only in a session name`);
    if (ends.master === undefined || ends.slave === undefined) continue;
    const base = toOptions(layer(config.defaults, config.sessions.get(name) ?? {}, envSettings(env)));
    const sessionDir = path.join(flags.stateDir ?? base.stateDir ?? fallback, name);
    const loaded = await loadSessionConfig(sessionDir);
    const text = await readFile(path.join(sessionDir, SESSION_CONFIG), 'utf8').catch(() => '');
    if (text !== '') own.set(name, { text, settings: loaded.settings });
    await mkdir(sessionDir, { recursive: true });
  }
  return workerSpecs({ config, env, stateDirFlag: flags.stateDir, defaultStateDir: fallback, own });
}

export async function runMonitor(argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout): Promise<ExitCode> {
  const cmd = new Command('gsyncd monitor')
    .usage('[-c FILE] [--state-dir DIR] [--log-file FILE]')
    .description(
      'Run every [session NAME] of the config file that has master: and slave:, each as its own worker.\n' +
        'A worker that dies is restarted with backoff, one Faulty for faulty-restart seconds is restarted;\n' +
        'SIGHUP reloads the config (added sessions start, removed ones stop, changed ones restart,\n' +
        'the others keep running and their queues); SIGTERM or SIGINT stops every session cleanly.\n' +
        'Workers log to STATE/NAME/gsyncd.log unless their config sets log-file.',
    )
    .option('-c, --config-file <FILE>', 'the config file (default: $GSYNCD_CONFIG, /etc/gsyncd/gsyncd.conf)')
    .option('--state-dir <DIR>', 'where the sessions keep their state (default: from the config, else /var/lib/gsyncd)')
    // The monitor's own log follows GSYNCD_LOG_* as a session does (a container sets them).
    .option('--log-file <FILE>', "the monitor's own log (default: $GSYNCD_LOG_FILE, else stderr)", env['GSYNCD_LOG_FILE'] || undefined)
    .option('--log-level <LEVEL>', 'ERROR, WARNING, INFO or DEBUG (default: $GSYNCD_LOG_LEVEL, else INFO)', env['GSYNCD_LOG_LEVEL'] || 'INFO')
    .option('--log-format <FORMAT>', 'text or json (default: $GSYNCD_LOG_FORMAT, else text)', env['GSYNCD_LOG_FORMAT'] || 'text')
    .option('--pid-file <FILE>', "where the monitor writes its pid (one monitor per file)")
    .helpOption('-h, --help', 'show this help')
    .configureOutput({ writeOut: (t) => out.write(t), writeErr: () => undefined })
    .allowExcessArguments(false);
  parseCommand(cmd, argv, 'monitor: ');
  const flags = cmd.opts<MonitorFlags>();
  const level = flags.logLevel.toUpperCase();
  if (level !== 'ERROR' && level !== 'WARNING' && level !== 'INFO' && level !== 'DEBUG') throw usageError(`monitor: --log-level: expected ERROR, WARNING, INFO or DEBUG, got "${flags.logLevel}"`);
  if (flags.logFormat !== 'text' && flags.logFormat !== 'json') throw usageError(`monitor: --log-format: expected text or json, got "${flags.logFormat}"`);
  // Workers run from wherever; the file they read must not depend on our working directory.
  const configFile = flags.configFile === undefined ? undefined : path.resolve(flags.configFile);
  const specs = await loadSpecs(configFile, flags, env);
  if (specs.length === 0) {
    throw usageError(`monitor: ${chooseConfig(configFile, env).file} has no [session NAME] with master: and slave: to run`);
  }
  const lock = flags.pidFile === undefined ? undefined : await acquirePidLock(flags.pidFile);
  if (lock && !lock.ok) throw new GsyncdError(`monitor: already running (pid ${lock.holder}, ${flags.pidFile ?? ''})`, ExitCode.failure);

  const logger = createLogger({ level, format: flags.logFormat, file: flags.logFile, context: { monitor: process.pid } });
  const script = process.argv[1] ?? '';
  const monitor = new Monitor({
    load: () => loadSpecs(configFile, flags, env),
    worker: { command: [process.execPath, script], env, logger, stopTimeoutMs: 60_000 },
    logger,
  });
  logger.info('gsyncd monitor starting', { version: VERSION, config: chooseConfig(configFile, env).file, sessions: specs.map((s) => s.name).join(',') });
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const onHup = (): void => {
    logger.reopen();
    logger.info('SIGHUP: reloading the config; the log files are reopened');
    void monitor.reload();
  };
  const onStop = (signal: NodeJS.Signals): void => {
    logger.info('signal received; stopping every session', { signal });
    stop();
  };
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  try {
    await monitor.start();
    await stopped;
    await monitor.stop();
    logger.info('gsyncd monitor stopped');
    return ExitCode.ok;
  } finally {
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    await lock?.release().catch(() => undefined);
    await logger.close();
  }
}
