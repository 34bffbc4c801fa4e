/**
 * `gsyncd slave [--root DIR]... [--restrict] [-c FILE]`: the remote side. Started by the
 * master over SSH, or as the forced command of the master's key (then --restrict).
 */
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { execa } from 'execa';
import { ExitCode, GsyncdError, usageError } from '../errors.js';
import { createLogger } from '../log/logger.js';
import { checkRequest } from '../slave/restrict.js';
import { serveSlave, type TreeInspector } from '../slave/server.js';
import { statPath } from '../verify/stat-path.js';
import { walkTree } from '../verify/walk.js';
import { parseValue } from '../config/value.js';
import { findTunable } from '../config/tunables.js';
import { chooseConfig, loadConfig } from './config-source.js';
import { defaultStateDir } from './state-dir.js';
import { VERSION } from './version.js';
import { parseCommand } from './parse-command.js';

/** The slave answers about its tree with the verify module; statPath refuses keys that leave the root. */
const treeInspector: TreeInspector = {
  stat: (root, keys, checksum) => Promise.all(keys.map((k) => statPath(root, k, { checksum }))),
  list: (root, checksum) => walkTree(root, { checksum }),
};

interface SlaveArgs {
  readonly roots: string[];
  readonly restrict: boolean;
  readonly configFile: string | undefined;
  readonly logFile: string | undefined;
  readonly logLevel: string;
  readonly timeout: number;
  readonly rsyncCommand: string;
}

function parseSlaveArgs(argv: readonly string[]): SlaveArgs {
  const roots: string[] = [];
  const cmd = new Command('gsyncd slave')
    .usage('[--root DIR]... [--restrict] [--config-file FILE]')
    .description('The slave side of gsyncd: validates what arrives and reports back. Started by the master over SSH,\nor as the forced command of its key: command="gsyncd slave --restrict --root /srv/mirror",restrict …')
    .addOption(new Option('--root <DIR>', 'an allowed slave root (repeatable); with --restrict, nothing outside them is accepted').argParser((v: string) => {
      roots.push(v);
      return roots;
    }))
    .option('--restrict', 'forced-command mode: read SSH_ORIGINAL_COMMAND and allow only gsyncd\'s channel and a receiving rsync into a root')
    .option('-c, --config-file <FILE>', 'config file with [volume NAME] sections (path: …) for host::NAME slaves')
    .option('--log-file <FILE>', 'log file (default: slave.log in the state directory)')
    .option('--log-level <LEVEL>', 'ERROR, WARNING, INFO or DEBUG', 'INFO')
    .option('--slave-timeout <SECONDS>', 'exit when the master has been silent this long', '120')
    .option('--rsync-command <PATH>', 'the rsync to run', 'rsync')
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .allowExcessArguments(false);
  parseCommand(cmd, argv, 'slave: ');
  const o = cmd.opts<{ restrict?: boolean; configFile?: string; logFile?: string; logLevel: string; slaveTimeout: string; rsyncCommand: string }>();
  const level = parseValue(findTunable('log-level') ?? { name: 'log-level', type: 'string', default: '', help: '' }, o.logLevel);
  if (!level.ok) throw usageError(`--log-level: ${level.reason}`);
  const timeout = Number(o.slaveTimeout);
  if (!Number.isFinite(timeout) || timeout <= 0) throw usageError(`--slave-timeout: expected a number of seconds above 0, got "${o.slaveTimeout}"`);
  if (o.restrict && roots.length === 0) throw usageError('slave --restrict needs at least one --root DIR');
  return {
    roots: roots.map((r) => path.resolve(r)),
    restrict: o.restrict === true,
    configFile: o.configFile,
    logFile: o.logFile,
    logLevel: level.value as string,
    timeout,
    rsyncCommand: o.rsyncCommand,
  };
}

export async function runSlave(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<ExitCode> {
  const a = parseSlaveArgs(argv);
  const logFile = a.logFile ?? path.join(defaultStateDir(env), 'slave.log');
  const logger = createLogger({ level: a.logLevel as 'INFO', format: 'text', file: logFile });
  try {
    if (a.restrict) {
      const request = await checkRequest(env['SSH_ORIGINAL_COMMAND'], a.roots, os.homedir());
      if (request.kind === 'refused') {
        logger.warn('refused', { reason: request.reason, command: env['SSH_ORIGINAL_COMMAND'] ?? '', client: env['SSH_CLIENT'] ?? '' });
        throw new GsyncdError(`slave refused: ${request.reason}`, ExitCode.unreachable);
      }
      if (request.kind === 'rsync') {
        logger.info('rsync receiving', { dest: request.dest });
        const r = await execa(a.rsyncCommand, ['--server', ...request.options, '--', '.', request.dest], { stdio: 'inherit', reject: false });
        return (r.exitCode ?? 1) as ExitCode;
      }
    }
    const config = await loadConfig(chooseConfig(a.configFile, env));
    const volumes = new Map<string, string>();
    for (const [name, v] of config.volumes) if (v.path !== undefined) volumes.set(name, path.resolve(path.dirname(config.file), v.path));
    const result = await serveSlave({
      inspector: treeInspector,
      roots: a.roots,
      volumes,
      rsyncCommand: a.rsyncCommand,
      timeoutSeconds: a.timeout,
      version: VERSION,
      logger,
      input: process.stdin,
      output: process.stdout,
    });
    if (result.code !== 0) {
      logger.warn('slave channel ended', { reason: result.reason });
      if (result.code === 3) logger.warn('refused', { reason: result.reason });
    }
    return result.code;
  } finally {
    await logger.close();
  }
}
