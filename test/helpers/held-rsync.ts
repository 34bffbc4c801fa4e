// A gate in front of the real rsync, for tests that must look at a session while its Full
// Crawl runs: the whole-tree run (the only one with --mkpath) waits until the test releases
// it, then execs rsync with its arguments unchanged. Every other run goes straight through.
// Nothing is mocked: the transfer is real rsync's.
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface HeldRsync {
  /** For --rsync-command. */
  readonly command: string;
  /** Lets the held run (and every later one) go. */
  release(): Promise<void>;
}

export async function heldRsync(dir: string): Promise<HeldRsync> {
  const command = path.join(dir, 'held-rsync');
  const gate = path.join(dir, 'held-rsync.release');
  await writeFile(
    command,
    [
      '#!/bin/sh',
      'case " $* " in',
      `  *" --mkpath "*) while [ ! -e '${gate}' ]; do sleep 0.05; done ;;`,
      'esac',
      'exec rsync "$@"',
      '',
    ].join('\n'),
  );
  await chmod(command, 0o755);
  return { command, release: () => writeFile(gate, '') };
}
