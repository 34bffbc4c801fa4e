/** Which config file applies, and reading it (CLI.md: -c, $GSYNCD_CONFIG, /etc, the template). */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatProblem, parseConfig, type ConfigFile, type Settings } from '../config/file.js';
import { NOT_PER_SESSION, SESSION_CONFIG } from '../config/session-file.js';
import { usageError } from '../errors.js';

export const SYSTEM_CONFIG = '/etc/gsyncd/gsyncd.conf';
export const TEMPLATE_CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../conf/gsyncd_template.conf');

export interface ConfigChoice {
  readonly file: string;
  /** Given by the user (-c or $GSYNCD_CONFIG): it must exist. */
  readonly explicit: boolean;
  readonly via: string;
}

export function chooseConfig(flag: string | undefined, env: NodeJS.ProcessEnv): ConfigChoice {
  if (flag !== undefined) return { file: flag, explicit: true, via: '--config-file' };
  const fromEnv = env['GSYNCD_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return { file: fromEnv, explicit: true, via: 'GSYNCD_CONFIG' };
  if (existsSync(SYSTEM_CONFIG)) return { file: SYSTEM_CONFIG, explicit: false, via: 'default' };
  return { file: TEMPLATE_CONFIG, explicit: false, via: 'template' };
}

/** Reads and parses; every problem is reported, each as `file:line: …`, exit 2. */
export async function loadConfig(choice: ConfigChoice): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(choice.file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    if (!choice.explicit && code === 'ENOENT') return parseConfig('', choice.file);
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code;
    // rsync users write -c for --checksum: here it takes the next word as a config file.
    const hint = choice.via === '--config-file' && (code === 'EISDIR' || code === 'ENOENT') ? " (gsyncd's -c is --config-file; rsync's -c is --checksum here)" : '';
    throw usageError(`${choice.via} ${choice.file}: cannot read config file: ${why}${hint}`);
  }
  const config = parseConfig(text, choice.file);
  if (config.problems.length > 0) {
    throw usageError(config.problems.map((p) => formatProblem(choice.file, p)).join('\ngsyncd: '));
  }
  return config;
}

/** A session's own config file (`config set`), when it has one; its problems are `file:line`, exit 2. */
export async function loadSessionConfig(sessionDir: string): Promise<{ readonly file: string; readonly settings: Settings }> {
  const file = path.join(sessionDir, SESSION_CONFIG);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { file, settings: {} };
    throw usageError(`${file}: cannot read session config (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const parsed = parseConfig(text, file);
  const problems = [...parsed.problems];
  if (parsed.sessions.size > 0 || parsed.volumes.size > 0) problems.push({ line: 1, message: 'a session config holds options only, no [sections]' });
  for (const name of Object.keys(parsed.defaults)) {
    if (NOT_PER_SESSION.has(name)) problems.push({ line: 1, message: `${name}: cannot be set per session` });
  }
  if (problems.length > 0) throw usageError(problems.map((p) => formatProblem(file, p)).join('\ngsyncd: '));
  return { file, settings: parsed.defaults };
}
