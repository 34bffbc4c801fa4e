/**
 * Forced-command mode (`gsyncd slave --restrict --root DIR`): what the key may run. The
 * requested command arrives in SSH_ORIGINAL_COMMAND and is split here without a shell.
 * Only gsyncd's own channel and a receiving rsync into an allowed root pass (invariant 8).
 */
import path from 'node:path';
import { splitWords } from '../transport/shell-words.js';
import { checkRsyncServer } from './rsync-allow.js';
import { allowedRoots, placeRsyncRequest } from './rsync-request.js';

export type Restricted =
  | { readonly kind: 'channel' }
  | { readonly kind: 'rsync'; readonly options: readonly string[]; readonly dest: string }
  | { readonly kind: 'refused'; readonly reason: string };

const refused = (reason: string): Restricted => ({ kind: 'refused', reason });

export async function checkRequest(original: string | undefined, roots: readonly string[], home: string): Promise<Restricted> {
  if (original === undefined || original.trim() === '') return refused('an interactive session is not allowed');
  let words: string[];
  try {
    words = splitWords(original);
  } catch (e) {
    return refused(`cannot parse the command (${e instanceof Error ? e.message : String(e)})`);
  }
  const program = path.basename(words[0] ?? '');
  if (words[1] === 'slave' && /gsyncd/.test(program)) {
    // The slave's own options come from the forced command, never from the master.
    if (words.length > 2) return refused(`options to "gsyncd slave" are not accepted through this key: ${words.slice(2).join(' ')}`);
    return { kind: 'channel' };
  }
  if (program !== 'rsync') return refused(`only gsyncd's slave channel and a receiving rsync may run, not ${JSON.stringify(words[0] ?? '')}`);
  const check = checkRsyncServer(words);
  if (!check.ok) return refused(check.reason);
  const placed = await placeRsyncRequest(check, { base: home, within: [allowedRoots(roots)], confined: true });
  if ('reason' in placed) return refused(placed.reason);
  return { kind: 'rsync', options: placed.options, dest: placed.dest };
}
