/** Where sessions keep their state (CLI.md's --state-dir default), and session names. */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { chooseConfig, loadConfig } from './config-source.js';

export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  const system = '/var/lib/gsyncd';
  try {
    mkdirSync(system, { recursive: true });
    accessSync(system, constants.W_OK);
    return system;
  } catch {
    const xdg = env['XDG_STATE_HOME'] ?? path.join(os.homedir(), '.local', 'state');
    return path.join(xdg, 'gsyncd');
  }
}

/**
 * A readable and unique name from MASTER and SLAVE: `srv-www__backup@host-srv-www-1a2b3c4d`.
 * The hash of the exact pair keeps `/srv/www` and `/srv-www` apart.
 */
export function defaultSessionName(master: string, slave: string): string {
  const clean = (s: string): string =>
    s.replace(/^[a-z]+:\/\//, '').replace(/[^A-Za-z0-9@._-]+/g, '-').replace(/^-+|-+$/g, '') || 'root';
  const hash = createHash('sha256').update(`${master}\0${slave}`).digest('hex').slice(0, 8);
  const readable = `${clean(master)}__${clean(slave)}`.slice(0, 80);
  return `${readable}-${hash}`;
}

export const SESSION_NAME = /^[A-Za-z0-9@._-]{1,100}$/;

/**
 * The state directory for the control commands: --state-dir, else $GSYNCD_STATE_DIR, else
 * the config file's `state-dir` (where the sessions of that file keep theirs), else the default.
 */
export async function stateDirOf(flag: string | undefined, env: NodeJS.ProcessEnv, configFlag?: string): Promise<string> {
  if (flag !== undefined) return flag;
  const fromEnv = env['GSYNCD_STATE_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const config = await loadConfig(chooseConfig(configFlag, env));
  const fromFile = config.defaults['state-dir'];
  return typeof fromFile === 'string' ? fromFile : defaultStateDir(env);
}
