// A gate in front of the real rsync, for tests that must act while a Full Crawl runs: the
// first whole-tree run (the only kind with --mkpath) waits until the test releases it, then
// execs rsync with its arguments unchanged. Every other run, later whole-tree runs included,
// goes straight through. Nothing is mocked: the transfer is real rsync's.
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface HeldRsync {
  /** For --rsync-command. */
  readonly command: string;
  /** Lets the held run go. */
  release(): Promise<void>;
}

export async function heldRsync(dir: string): Promise<HeldRsync> {
  const command = path.join(dir, 'held-rsync');
  const gate = path.join(dir, 'held-rsync.release');
  const first = path.join(dir, 'held-rsync.first');
  await writeFile(
    command,
    [
      '#!/bin/sh',
      'case " $* " in',
      // mkdir is atomic: only the first whole-tree run makes the directory, and waits.
      `  *" --mkpath "*) if mkdir '${first}' 2>/dev/null; then while [ ! -e '${gate}' ]; do sleep 0.05; done; fi ;;`,
      'esac',
      'exec rsync "$@"',
      '',
    ].join('\n'),
  );
  await chmod(command, 0o755);
  return { command, release: () => writeFile(gate, '') };
}
