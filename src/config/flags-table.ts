/**
 * The README's table of rsync's everyday flags (rsync-flags.ts): flag, what rsync does, what
 * gsyncd does continuously. A unit test keeps the README's copy equal to this. Pure.
 */
import { RSYNC_FLAGS, type RsyncFlag } from './rsync-flags.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|');

function flagCell(f: RsyncFlag): string {
  const long = f.type === 'boolean' ? `--${f.name}` : `--${f.name}=${f.arg ?? 'VALUE'}`;
  return `\`${f.short ? `-${f.short}, ` : ''}${long}\``;
}

export function renderFlagsTable(): string {
  const rows = RSYNC_FLAGS.map((f) => {
    return `| ${flagCell(f)} | ${cell(f.does)} | ${cell(f.live)} |`;
  });
  return ['| flag | what rsync does | what gsyncd does, continuously |', '|---|---|---|', ...rows].join('\n');
}
