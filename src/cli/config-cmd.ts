/**
 * `gsyncd config list|get|set|reset|check`: reads and edits the stored configuration of a
 * session (its own `gsyncd.conf` in the state directory, above the config file's
 * `[session NAME]` section and defaults), and checks a config file.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { effectiveSettings, renderEffective, type Layer } from '../config/effective.js';
import { formatProblem, parseConfig, type ConfigFile, type ConfigProblem } from '../config/file.js';
import { NOT_PER_SESSION, SESSION_CONFIG, resetOption, setOption } from '../config/session-file.js';
import { didYouMean } from '../config/suggest.js';
import { TUNABLES, allNames, findTunable, type Tunable } from '../config/tunables.js';
import { parseValue } from '../config/value.js';
import { parseEndpoint } from '../endpoint/parse.js';
import { ExitCode, GsyncdError, usageError } from '../errors.js';
import { isFilterKind } from '../filter/rules.js';
import { writeAtomic } from '../session/atomic-write.js';
import { isGsyncd, readSession } from '../status/read.js';
import { chooseConfig, loadConfig, loadSessionConfig } from './config-source.js';
import { parseCommand } from './parse-command.js';
import { SESSION_NAME, stateDirOf } from './state-dir.js';

const USAGE = `config list [SESSION]          every option with a value, and where it comes from
  config get [SESSION] OPTION    the value of one option (exit 1 when it has none)
  config set SESSION OPTION VALUE...   store a value in the session's own config (validated)
  config reset SESSION OPTION    remove it there: the session inherits the option again
  config check                   check the config file and every session's own config (exit 2 on errors)`;

interface Context {
  readonly config: ConfigFile;
  readonly stateDir: string;
  readonly out: NodeJS.WritableStream;
}

export async function runConfig(argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout): Promise<ExitCode> {
  const cmd = new Command('gsyncd config')
    .usage('list|get|set|reset|check [ARGS] [-c FILE] [--state-dir DIR]')
    .description(`Read and edit sessions' stored configuration.\n\n  ${USAGE}\n\nFlags and GSYNCD_* variables given when a session starts still override these.`)
    .argument('<ACTION>', 'list, get, set, reset or check')
    .argument('[ARGS...]', 'as the action needs')
    .option('-c, --config-file <FILE>', 'the config file (default: $GSYNCD_CONFIG, /etc/gsyncd/gsyncd.conf, the template)')
    .option('--state-dir <DIR>', 'where the sessions keep their state')
    .helpOption('-h, --help', 'show this help')
    .configureOutput({ writeOut: (t) => out.write(t), writeErr: () => undefined })
    // A value may look like an option (rsync-options: -x): everything not ours is an argument.
    .allowUnknownOption();
  parseCommand(cmd, argv, 'config: ');
  const o = cmd.opts<{ configFile?: string; stateDir?: string }>();
  const [action = '', ...args] = cmd.args;
  const choice = chooseConfig(o.configFile, env);
  if (action === 'check') {
    if (args.length > 0) throw usageError(`config check: unexpected "${args[0] ?? ''}"`);
    return check(choice.file, choice.explicit, await stateDirOf(o.stateDir, env, o.configFile).catch(() => undefined), out);
  }
  const ctx: Context = { config: await loadConfig(choice), stateDir: await stateDirOf(o.stateDir, env, o.configFile), out };
  switch (action) {
    case 'list':
      if (args.length > 1) throw usageError(`config list: expected at most a SESSION, got "${args.join(' ')}"`);
      return list(ctx, args[0]);
    case 'get':
      if (args.length < 1 || args.length > 2) throw usageError('config get: expected [SESSION] OPTION');
      return args.length === 2 ? get(ctx, args[0], args[1] ?? '') : get(ctx, undefined, args[0] ?? '');
    case 'set':
      if (args.length < 3) throw usageError('config set: expected SESSION OPTION VALUE...');
      return set(ctx, args[0] ?? '', args[1] ?? '', args.slice(2));
    case 'reset':
      if (args.length !== 2) throw usageError('config reset: expected SESSION OPTION');
      return reset(ctx, args[0] ?? '', args[1] ?? '');
    default:
      throw usageError(`config: unknown action "${action}"; expected list, get, set, reset or check`);
  }
}

/** The layers of stored configuration for a session (or for the file's defaults). */
async function layersOf(ctx: Context, session: string | undefined): Promise<Layer[]> {
  const layers: Layer[] = [{ source: ctx.config.file, settings: ctx.config.defaults }];
  if (session === undefined) return layers;
  knownSession(ctx, session);
  const section = ctx.config.sessions.get(session);
  if (section) layers.push({ source: `${ctx.config.file} [session ${session}]`, settings: section });
  const own = await loadSessionConfig(path.join(ctx.stateDir, session));
  if (Object.keys(own.settings).length > 0) layers.push({ source: own.file, settings: own.settings });
  return layers;
}

function knownSession(ctx: Context, session: string): void {
  if (!SESSION_NAME.test(session)) throw usageError(`config: session "${session}": use letters, digits and . _ - @ only`);
  if (ctx.config.sessions.has(session) || existsSync(path.join(ctx.stateDir, session))) return;
  const known = [...ctx.config.sessions.keys()];
  throw new GsyncdError(
    `config: no session "${session}" in ${ctx.stateDir} or ${ctx.config.file}${known.length > 0 ? `; sessions of the file: ${known.join(', ')}` : ''}`,
    ExitCode.failure,
  );
}

function tunableOf(name: string, verb: string): Tunable {
  const t = findTunable(name);
  if (!t) throw usageError(`config ${verb}: ${name}: unknown option${didYouMean(name, allNames())}`);
  return t;
}

async function list(ctx: Context, session: string | undefined): Promise<ExitCode> {
  ctx.out.write(renderEffective(effectiveSettings(await layersOf(ctx, session))));
  return ExitCode.ok;
}

async function get(ctx: Context, session: string | undefined, name: string): Promise<ExitCode> {
  const t = tunableOf(name, 'get');
  const hit = effectiveSettings(await layersOf(ctx, session)).find((e) => e.name === t.name);
  if (!hit) throw new GsyncdError(`config get: ${t.name} has no value${session === undefined ? '' : ` for session ${session}`}`, ExitCode.failure);
  ctx.out.write(hit.values.map((v) => `${v}\n`).join(''));
  return ExitCode.ok;
}

function settable(t: Tunable, verb: string, file: string, session: string): void {
  if (t.flagOnly || NOT_PER_SESSION.has(t.name)) throw usageError(`config ${verb}: ${t.name}: cannot be set per session`);
  if (isFilterKind(t.name)) {
    // Rules of every kind form one ordered list: editing one kind alone would reorder them.
    throw usageError(`config ${verb}: ${t.name}: filter rules keep their order across kinds; edit them in the [session ${session}] section of ${file}`);
  }
}

async function readOwn(dir: string): Promise<string> {
  try {
    return await readFile(path.join(dir, SESSION_CONFIG), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

async function whenApplied(ctx: Context, session: string): Promise<string> {
  const r = await readSession(ctx.stateDir, session);
  if (r?.pid === undefined || r.status === 'Stopped' || !(await isGsyncd(r.pid))) return '';
  return `; the running session (pid ${r.pid}) applies it when it restarts (gsyncd monitor restarts it on SIGHUP)`;
}

async function set(ctx: Context, session: string, name: string, values: readonly string[]): Promise<ExitCode> {
  const t = tunableOf(name, 'set');
  settable(t, 'set', ctx.config.file, session);
  if (t.type !== 'list' && values.length !== 1) throw usageError(`config set: ${t.name}: expected one value, got ${values.length}`);
  for (const v of values) {
    const parsed = parseValue(t, v);
    if (!parsed.ok) throw usageError(`config set: ${t.name}: ${parsed.reason}`);
  }
  knownSession(ctx, session);
  const dir = path.join(ctx.stateDir, session);
  await mkdir(dir, { recursive: true });
  const text = setOption(await readOwn(dir), t, values);
  // What is written must read back as it was meant, or nothing is written.
  const back = parseConfig(text, SESSION_CONFIG);
  if (back.problems[0]) throw usageError(formatProblem(path.join(dir, SESSION_CONFIG), back.problems[0]));
  await writeAtomic(path.join(dir, SESSION_CONFIG), text);
  ctx.out.write(`session ${session}: ${values.map((v) => `${t.name}: ${v}`).join(', ')}${await whenApplied(ctx, session)}\n`);
  return ExitCode.ok;
}

async function reset(ctx: Context, session: string, name: string): Promise<ExitCode> {
  const t = tunableOf(name, 'reset');
  settable(t, 'reset', ctx.config.file, session);
  knownSession(ctx, session);
  const dir = path.join(ctx.stateDir, session);
  const before = await readOwn(dir);
  const after = resetOption(before, t);
  if (after !== before) await writeAtomic(path.join(dir, SESSION_CONFIG), after);
  const now = effectiveSettings(await layersOf(ctx, session)).find((e) => e.name === t.name);
  const inherited = now ? `${now.values.join(', ')} (from ${now.source})` : 'no value';
  ctx.out.write(`session ${session}: ${t.name}: ${inherited}${after !== before ? await whenApplied(ctx, session) : ''}\n`);
  return ExitCode.ok;
}

/** Every problem of the config file and of the sessions' own configs, each `file:line: …`. */
async function check(file: string, explicit: boolean, stateDir: string | undefined, out: NodeJS.WritableStream): Promise<ExitCode> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    if (!explicit && code === 'ENOENT') text = '';
    else throw usageError(`config check: ${file}: cannot read (${code})`);
  }
  const config = parseConfig(text, file);
  const problems: string[] = config.problems.map((p) => formatProblem(file, p));
  for (const [name, ends] of config.endpoints) {
    for (const [key, spec] of [['master', ends.master], ['slave', ends.slave]] as const) {
      if (spec === undefined) continue;
      const parsed = parseEndpoint(spec, '/');
      if (!parsed.ok) problems.push(formatProblem(file, { line: ends.line, message: `[session ${name}] ${key}: ${parsed.reason}` } satisfies ConfigProblem));
    }
    if ((ends.master === undefined) !== (ends.slave === undefined)) {
      problems.push(formatProblem(file, { line: ends.line, message: `[session ${name}]: has ${ends.master === undefined ? 'slave: but no master:' : 'master: but no slave:'}` }));
    }
  }
  let sessionFiles = 0;
  if (stateDir !== undefined) {
    const names = await readdir(stateDir).catch(() => [] as string[]);
    for (const name of names.sort()) {
      if (!existsSync(path.join(stateDir, name, SESSION_CONFIG))) continue;
      sessionFiles++;
      try {
        await loadSessionConfig(path.join(stateDir, name));
      } catch (e) {
        problems.push(...(e instanceof Error ? e.message : String(e)).split('\ngsyncd: '));
      }
    }
  }
  if (problems.length > 0) throw usageError(problems.join('\ngsyncd: '));
  const runnable = [...config.endpoints.values()].filter((e) => e.master !== undefined && e.slave !== undefined).length;
  out.write(`${file}: ok (${TUNABLES.length} options known; ${config.sessions.size} session(s), ${runnable} with master and slave; ${config.volumes.size} volume(s); ${sessionFiles} session config(s) checked)\n`);
  return ExitCode.ok;
}
