/**
 * Checks that only the filesystem can answer before a session starts: MASTER exists, the
 * slave does not overlap it, filter files are readable, rsync and ssh are installed.
 */
import { access, constants, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Endpoint, LocalEndpoint } from '../endpoint/parse.js';
import { describeEndpoint } from '../endpoint/parse.js';
import { ExitCode, GsyncdError, usageError } from '../errors.js';
import type { FilterArg } from '../filter/rules.js';
import { isWithin } from '../sync/paths.js';

/** `:NAME` → the `[volume NAME]` path of the local config file. */
export function resolveMasterVolume(master: Endpoint, volumes: ReadonlyMap<string, { readonly path: string | undefined }>, configFile: string): Endpoint {
  if (master.kind !== 'volume') return master;
  if (master.host !== undefined) throw usageError(`MASTER ${describeEndpoint(master)}: the master must be local; use :NAME for a volume of this host's config`);
  const path = volumes.get(master.name)?.path;
  if (path === undefined) {
    const names = [...volumes.entries()].filter(([, v]) => v.path !== undefined).map(([n]) => n);
    throw usageError(`MASTER :${master.name}: no such volume in ${configFile}; ${names.length ? `volumes: ${names.join(', ')}` : 'it has no [volume NAME] sections'}`);
  }
  return { kind: 'local', path };
}

export async function checkMaster(master: Endpoint): Promise<LocalEndpoint> {
  if (master.kind === 'volume') throw usageError(`MASTER ${describeEndpoint(master)}: not a local directory`);
  if (master.kind !== 'local') throw usageError(`MASTER ${describeEndpoint(master)}: the master must be a local directory`);
  let s;
  try {
    s = await stat(master.path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw usageError(`MASTER ${master.path}: ${code === 'ENOENT' ? 'no such directory' : `cannot open (${code ?? 'error'})`}`);
  }
  if (!s.isDirectory()) throw usageError(`MASTER ${master.path}: not a directory`);
  return { kind: 'local', path: await realpath(master.path) };
}

export async function checkSlave(slave: Endpoint, master: LocalEndpoint): Promise<Endpoint> {
  if (slave.kind === 'volume' && slave.host === undefined) {
    throw usageError(`SLAVE ${describeEndpoint(slave)}: a slave volume lives on the slave host: use host::NAME`);
  }
  if (slave.kind !== 'local') return slave;
  // Resolve what exists of the slave path, so that symlinks cannot hide an overlap.
  let real = slave.path;
  try {
    real = await realpath(slave.path);
  } catch {
    /* does not exist yet: rsync creates it */
  }
  if (isWithin(real.slice(1), master.path.slice(1)) || isWithin(master.path.slice(1), real.slice(1))) {
    throw usageError(`SLAVE ${slave.path}: overlaps MASTER ${master.path}; they must be separate trees`);
  }
  try {
    if (!(await stat(real)).isDirectory()) throw usageError(`SLAVE ${slave.path}: exists and is not a directory`);
  } catch (e) {
    if (e instanceof GsyncdError) throw e;
  }
  return { kind: 'local', path: real };
}

/** Contents of every --exclude-from/--include-from file, read once at start. */
export async function readFilterFiles(filters: readonly FilterArg[]): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const f of filters) {
    if (f.kind !== 'exclude-from' && f.kind !== 'include-from') continue;
    try {
      files.set(f.value, f.value === '-' ? '' : await readFile(f.value, 'utf8'));
    } catch (e) {
      throw usageError(`--${f.kind} ${f.value}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return files;
}

/** rsync and ssh are the tools gsyncd drives; say clearly when one is missing. */
/** Like checkTool, for a program that has no cheap version flag: found on the PATH, none started. */
export async function checkOnPath(program: string, pkg: string, why: string, env: NodeJS.ProcessEnv): Promise<void> {
  for (const dir of (env['PATH'] ?? '').split(':')) {
    if (dir === '') continue;
    try {
      await access(path.join(dir, program), constants.X_OK);
      return;
    } catch {
      // not in this one
    }
  }
  throw new GsyncdError(`${program}: not found on the PATH; ${why} (install the ${pkg} package)`, ExitCode.failure);
}

export async function checkTool(program: string, versionArgs: readonly string[], pkg: string, option: string): Promise<void> {
  const r = await execa(program, versionArgs, { reject: false, stdin: 'ignore', timeout: 10_000 });
  // A terminal's Ctrl-C reaches the whole process group: the tool was there, and gsyncd stops.
  if (r.signal === 'SIGINT' || r.signal === 'SIGTERM') throw new GsyncdError('', ExitCode.ok);
  if (r.failed && r.exitCode === undefined) {
    throw new GsyncdError(`${program}: not found or not executable; install the ${pkg} package, or set ${option}`, ExitCode.failure);
  }
}
