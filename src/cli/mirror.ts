/**
 * `gsyncd [OPTIONS] MASTER SLAVE`: the composition root of a mirroring session. Flags and
 * config become options, options become endpoints, a plan and a session; then it runs.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { envSettings, layer, toOptions, type Options } from '../config/options.js';
import type { ConfigFile, Settings } from '../config/file.js';
import { describeEndpoint, parseEndpoint, type Endpoint, type LocalEndpoint } from '../endpoint/parse.js';
import { ExitCode, GsyncdError, usageError } from '../errors.js';
import { mountPointRules, mountPointsInside } from '../watch/mount-points.js';
import { compileMatcher } from '../filter/matcher.js';
import { createLogger } from '../log/logger.js';
import { acquirePidLock } from '../session/lock.js';
import { Session } from '../session/session.js';
import { StatusWriter } from '../session/status-writer.js';
import { SavedState } from '../session/saved-state.js';
import type { RsyncPlan } from '../sync/rsync-argv.js';
import { runRsync } from '../sync/rsync-runner.js';
import { sshKeyOptions, type SshKeyOptions } from '../transport/ssh-key.js';
import { parseListen, startHttp } from '../status/http.js';
import type { Server } from 'node:http';
import { SshMaster } from '../transport/ssh-master.js';
import { SlaveLink } from '../session/slave-link.js';
import { splitWords } from '../transport/shell-words.js';
import { createChangeSource } from '../watch/create.js';
import { addTunableOptions, flagSettings, type FilterCollector } from './flags.js';
import { chooseConfig, loadConfig, loadSessionConfig } from './config-source.js';
import { checkMaster, checkOnPath, checkSlave, checkTool, readFilterFiles, resolveMasterVolume } from './prepare.js';

/** Whether perl is on the PATH (the stand-in of rsync runs through the slave channel). */
const hasPerl = (): Promise<boolean> =>
  checkOnPath('perl', 'perl-base', '', process.env).then(
    () => true,
    () => false,
  );
import { SESSION_NAME, defaultSessionName, defaultStateDir } from './state-dir.js';
import { VERSION } from './version.js';
import { onStopRequest } from './stop-signals.js';
import { parseCommand } from './parse-command.js';

interface Parsed {
  /** Before the session's own config file is known (it cannot change the name or state-dir). */
  readonly options: Options;
  readonly config: ConfigFile;
  readonly masterSpec: string;
  readonly slaveSpec: string;
  /** The options again, with the session's own config (`config set`) in its place. */
  withSessionConfig(settings: Settings): Options;
}

const words = (text: string, what: string): string[] => {
  try {
    return splitWords(text);
  } catch (e) {
    throw usageError(`${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
};

export function mirrorProgram(filters: FilterCollector): Command {
  const cmd = new Command('gsyncd')
    .usage('[OPTIONS] MASTER SLAVE')
    .description(
      'Keep SLAVE a mirror of the MASTER directory: a Full Crawl, then live changes.\n\n' +
        'MASTER: /path, file:///path, :VOLUME\n' +
        'SLAVE:  /path, file:///path, [user@]host:/path,\n' +
        '        ssh://[user@]host[:port]/path, [user@]host::VOLUME\n' +
        'Without MASTER and SLAVE: $GSYNCD_MASTER and $GSYNCD_SLAVE, else --session NAME\n' +
        'with master: and slave: in its section.\n\n' +
        'Other commands (gsyncd COMMAND --help describes each):\n' +
        '  gsyncd status                            the sessions and their state\n' +
        '  gsyncd stop|pause|resume|delete SESSION  control a session, remove its state\n' +
        '  gsyncd checkpoint SESSION                mark a point in time to wait for\n' +
        '  gsyncd monitor [-c FILE]                 run every session of a config file\n' +
        '  gsyncd config list|get|set|reset|check   read and change the config file\n' +
        '  gsyncd verify MASTER SLAVE               compare the two trees\n' +
        '  gsyncd health [SESSION]                  exit 0 when healthy, for probes\n' +
        '  gsyncd slave                             the remote side (over SSH)',
    )
    .argument('[MASTER]', 'the directory to mirror (default: master: of the [session NAME] section)')
    .argument('[SLAVE]', 'where the mirror lives (default: slave: of the [session NAME] section)')
    .version(VERSION, '-V, --version')
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
  addTunableOptions(cmd, filters);
  return cmd;
}

/** Parses argv into options, through every layer of precedence. */
export async function parseMirrorArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Parsed> {
  const filters: FilterCollector = { items: [] };
  const cmd = mirrorProgram(filters);
  parseCommand(cmd, argv, '');
  const opts = cmd.opts<Record<string, unknown>>();
  const cli = flagSettings(opts, filters);
  const config = await loadConfig(chooseConfig(opts['configFile'] as string | undefined, env));
  const fromEnv = envSettings(env);
  const sessionName = (cli['session'] ?? fromEnv['session'] ?? config.defaults['session']) as string | undefined;
  const section = sessionName !== undefined ? (config.sessions.get(sessionName) ?? {}) : {};
  const options = toOptions(layer(config.defaults, section, fromEnv, cli));
  const [masterSpec, slaveSpec] = endpointsOf(cmd.args, sessionName, config, env);
  return { options, config, masterSpec, slaveSpec, withSessionConfig: (own) => toOptions(layer(config.defaults, section, own, fromEnv, cli)) };
}

/** MASTER and SLAVE as given, else from the session's section (how `gsyncd monitor` starts a worker). */
/** MASTER and SLAVE: the operands, else $GSYNCD_MASTER and $GSYNCD_SLAVE (a container's way), else the session's section. */
function endpointsOf(args: readonly string[], sessionName: string | undefined, config: ConfigFile, env: NodeJS.ProcessEnv): [string, string] {
  const [master, slave] = args;
  if (master !== undefined && slave !== undefined) return [master, slave];
  if (master !== undefined) throw usageError(`missing SLAVE after MASTER ${master}`);
  const envMaster = env['GSYNCD_MASTER'] ?? '';
  const envSlave = env['GSYNCD_SLAVE'] ?? '';
  if (envMaster !== '' && envSlave !== '') return [envMaster, envSlave];
  if (envMaster !== '' || envSlave !== '') {
    const [set, unset] = envMaster !== '' ? ['GSYNCD_MASTER', 'GSYNCD_SLAVE'] : ['GSYNCD_SLAVE', 'GSYNCD_MASTER'];
    throw usageError(`${set} is set but ${unset} is not; set both, or give MASTER and SLAVE`);
  }
  const ends = sessionName === undefined ? undefined : config.endpoints.get(sessionName);
  if (ends?.master !== undefined && ends.slave !== undefined) return [ends.master, ends.slave];
  if (sessionName !== undefined && ends) {
    throw usageError(`${config.file}:${ends.line}: [session ${sessionName}]: needs master: and slave: to run without MASTER and SLAVE`);
  }
  throw usageError('missing MASTER and SLAVE (or --session NAME with master: and slave: in its [session NAME] section); see gsyncd --help');
}

/** A merge file's content, or undefined when there is none to read (rsync skips a missing per-directory file). */
function readIfFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function rsyncPlan(o: Options, master: LocalEndpoint, slave: Endpoint, rsh: string | undefined): RsyncPlan {
  const dest =
    slave.kind === 'local'
      ? `${slave.path}/`
      : slave.kind === 'ssh'
        ? `${slave.user ? `${slave.user}@` : ''}${slave.host}:${slave.path === '/' ? '/' : `${slave.path}/`}`
        : '';
  return {
    flags: o.rsyncFlags,
    bwlimit: o.bwlimit,
    timeout: o.timeout,
    extra: words(o.rsyncOptions, 'rsync-options'),
    passOn: o.rsyncArgs,
    filters: o.filters,
    ignoreDeletes: o.ignoreDeletes,
    maxDelete: o.maxDelete,
    rsh,
    rsyncPath: o.rsyncPath,
    source: master.path === '/' ? '/' : `${master.path}/`,
    dest,
  };
}

export async function runMirror(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<ExitCode> {
  const parsed = await parseMirrorArgs(argv, env);
  const { config, masterSpec, slaveSpec } = parsed;
  let o = parsed.options;
  const masterParsed = parseEndpoint(masterSpec, process.cwd());
  if (!masterParsed.ok) throw usageError(`MASTER ${masterSpec}: ${masterParsed.reason}`);
  const slaveParsed = parseEndpoint(slaveSpec, process.cwd());
  if (!slaveParsed.ok) throw usageError(`SLAVE ${slaveSpec}: ${slaveParsed.reason}`);
  const master = await checkMaster(resolveMasterVolume(masterParsed.endpoint, config.volumes, config.file));
  const slave = await checkSlave(slaveParsed.endpoint, master);
  const name = o.session ?? defaultSessionName(master.path, describeEndpoint(slave));
  if (!SESSION_NAME.test(name)) throw usageError(`--session ${name}: use letters, digits and . _ - @ only`);
  const sessionDir = path.join(o.stateDir ?? defaultStateDir(env), name);
  const own = await loadSessionConfig(sessionDir);
  if (Object.keys(own.settings).length > 0) o = parsed.withSessionConfig(own.settings);
  // -x: what is mounted inside the tree is left out by rules of its own (watch/mount-points.ts).
  const mounts = o.rsyncFlags.has('one-file-system') ? await mountPointsInside(master.path) : [];
  if (mounts.length > 0) o = { ...o, filters: [...mountPointRules(mounts), ...o.filters] };
  const filterFiles = await readFilterFiles(o.filters);
  const compiled = compileMatcher(o.filters, filterFiles, {
    read: readIfFile,
    root: master.path,
    cwd: process.cwd(),
    env,
    deleteExcluded: o.rsyncFlags.has('delete-excluded'),
    cvsExclude: o.rsyncFlags.has('cvs-exclude'),
  });
  // Neither listed nor watched: the mount points themselves are sent by rsync and their
  // parents' events, their contents never.
  // (find takes them as patterns: one with a wildcard character is left to the rules alone.)
  const pruned = mounts.filter((m) => !/[*?[\\]/.test(m)).map((m) => `/${m}`);
  const matcher = pruned.length > 0 ? { ...compiled, ignoredDirNames: [...compiled.ignoredDirNames, ...pruned] } : compiled;
  if (matcher.problems[0] !== undefined) throw usageError(matcher.problems[0]);
  if (o.ignoreDeletes && o.rsyncFlags.has('delete-excluded')) throw usageError('--delete-excluded: deletes excluded files from the slave, and --ignore-deletes forbids deletes; choose one');

  await checkTool(o.rsyncCommand, ['--version'], 'rsync', '--rsync-command');
  if (o.watcher === 'inotify' && !o.once) await checkOnPath('perl', 'perl-base', '--watcher inotify runs its inotify helper with it, or choose --watcher native', env);
  const rshWords = words(o.sshCommand, 'ssh-command');
  if (rshWords.length === 0) throw usageError('--ssh-command: empty');
  const remote = slave.kind === 'local' ? undefined : { ...slave, kind: 'ssh' as const, port: slave.kind === 'ssh' ? slave.port : undefined, path: slave.kind === 'ssh' ? slave.path : '', host: slave.host ?? '' };
  if (remote) await checkTool(rshWords[0] ?? 'ssh', ['-V'], 'openssh-client', '-e/--ssh-command');
  const withChannel = remote !== undefined && o.remoteGsyncd.trim() !== 'none';
  if (slave.kind === 'volume' && !withChannel) {
    throw usageError(`SLAVE ${describeEndpoint(slave)}: a volume is resolved by gsyncd on the slave; --remote-gsyncd none cannot be used with host::NAME`);
  }
  if (withChannel) words(o.remoteGsyncd, 'remote-gsyncd');
  if (o.httpListen !== undefined && parseListen(o.httpListen) === undefined) {
    throw usageError(`--http-listen ${o.httpListen}: expected ADDR:PORT, e.g. 127.0.0.1:9910 or :9910`);
  }

  // A session this run makes is its own to remove again: a --once run leaves no state, nor
  // does a start that fails before anything was saved (gsyncd status would list it forever).
  const made = !existsSync(sessionDir);
  try {
    mkdirSync(sessionDir, { recursive: true });
  } catch (e) {
    throw usageError(`--state-dir ${path.dirname(sessionDir)}: cannot create (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const lock = await acquirePidLock(o.pidFile ?? path.join(sessionDir, 'gsyncd.pid'));
  /** Removes the session's directory if this run made it and nothing worth keeping was saved. */
  const forget = async (): Promise<void> => {
    if (made && (o.once || !existsSync(new SavedState(sessionDir).snapshotFile))) await rm(sessionDir, { recursive: true, force: true }).catch(() => undefined);
  };
  if (!lock.ok) throw new GsyncdError(`session ${name} is already running (pid ${lock.holder})`, ExitCode.failure);
  let key: SshKeyOptions | undefined;
  try {
    key = slave.kind === 'local' ? undefined : await sshKeyOptions(o.sshKey, o.sshKnownHosts);
  } catch (e) {
    await forget();
    await lock.release().catch(() => undefined);
    throw e;
  }
  if (key) rshWords.push(...key.words);

  const logger = createLogger({ level: o.logLevel, format: o.logFormat, file: o.logFile });
  const ssh = remote ? new SshMaster({ rsh: rshWords, endpoint: remote }) : undefined;
  const link =
    ssh && withChannel
      ? new SlaveLink(ssh, {
          remoteGsyncd: o.remoteGsyncd,
          ...(slave.kind === 'volume' ? { volume: slave.name } : { root: slave.kind === 'ssh' ? slave.path : '' }),
          slaveTimeout: o.slaveTimeout,
          version: VERSION,
          label: describeEndpoint(slave),
          logger,
        })
      : undefined;
  // What a failed set-up leaves: the lock released, and the session's directory if it made it.
  const setUp = async () => {
    const status = await StatusWriter.open(path.join(sessionDir, 'status.json'), {
      session: name,
      master: master.path,
      slave: describeEndpoint(slave),
      status: 'Created',
      crawl_status: 'N/A',
      last_synced: null,
      pending: 0,
      failures: 0,
      checkpoint: { time: null, completed: false, completion_time: null },
      pid: process.pid,
    });
    // prom-client is loaded only with --http-listen.
    const metrics = o.httpListen === undefined ? undefined : new (await import('../status/metrics.js')).SessionMetrics(name, () => status.current);
    const session = new Session({
      name,
      master,
      slave,
      options: o,
      matcher,
      plan: rsyncPlan(o, master, slave, ssh?.rshForRsync()),
      logger,
      status,
      runRsync,
      ssh,
      link,
      // The stand-in is a perl program; without perl, batches open ssh sessions as before.
      rshJoin: link !== undefined && o.rsyncTransport === 'channel' && (await hasPerl()),
      sessionDir,
      saved: o.once ? undefined : new SavedState(sessionDir),
      progressTty: o.logFile === undefined && process.stderr.isTTY ? process.stderr : undefined,
      metrics,
      source: o.once
        ? undefined
        : await createChangeSource(o.watcher, { root: master.path, ignoredDirNames: matcher.ignoredDirNames, pollIntervalMs: o.pollInterval * 1000 }),
    });
    return { metrics, session };
  };
  let parts: Awaited<ReturnType<typeof setUp>>;
  try {
    parts = await setUp();
  } catch (e) {
    await forget();
    await lock.release().catch(() => undefined);
    await key?.cleanup().catch(() => undefined);
    await logger.close();
    throw e;
  }
  const { metrics, session } = parts;

  // A signal that came while the session was set up stops it now (stop-signals.ts); a second
  // one exits at once, skipping the shutdown bound.
  const unlisten = onStopRequest((signal) => {
    logger.info('signal received', { signal });
    session.stop();
  });
  // SIGHUP: logrotate moved the log file; write to a new one.
  const onHangup = (): void => {
    logger.reopen();
    logger.info('log file reopened', { file: o.logFile ?? 'stderr' });
  };
  process.on('SIGHUP', onHangup);
  logger.info('gsyncd starting', { version: VERSION, session: name, master: master.path, slave: describeEndpoint(slave), pid: process.pid });
  let http: Server | undefined;
  let failed = false;
  try {
    if (metrics && o.httpListen !== undefined) {
      const started = await startHttp(o.httpListen, { registry: metrics.registry, readiness: () => session.readiness() }).catch((e: unknown) => {
        throw new GsyncdError(`--http-listen ${o.httpListen ?? ''}: cannot listen (${(e as NodeJS.ErrnoException).code ?? String(e)})`, ExitCode.failure);
      });
      http = started.server;
      logger.info('http listening', { address: started.address, paths: '/healthz /readyz /metrics' });
    }
    const code = await session.run();
    logger.info('gsyncd stopped', { session: name, exit: code });
    return code;
  } catch (e) {
    failed = true;
    // The process edge prints the error as one line on stderr; a log that goes elsewhere (a
    // file, stdout) keeps its own copy, one on stderr would say it twice.
    if (e instanceof GsyncdError && o.logFile !== undefined) logger.error(e.message);
    await ssh?.close().catch(() => undefined);
    throw e;
  } finally {
    http?.close();
    http?.closeAllConnections();
    unlisten();
    process.off('SIGHUP', onHangup);
    // Before the lock goes: a start that takes it next must not lose its state to this one.
    if (o.once || failed) await forget();
    await lock.release().catch(() => undefined);
    await key?.cleanup().catch(() => undefined);
    await logger.close();
  }
}
