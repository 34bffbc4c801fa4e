/**
 * --ssh-key and --ssh-known-hosts → ssh options. ssh refuses a private key that others may
 * read ("UNPROTECTED PRIVATE KEY FILE"), and a key mounted from a container secret often
 * is (mode 0644, or owned by another user): such a key is used through a copy of mode 0600
 * in a private temporary directory, removed when gsyncd stops (never on the state volume).
 */
import { copyFile, chmod, mkdtemp, open, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { usageError } from '../errors.js';

async function readable(file: string, option: string): Promise<void> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw usageError(`--${option} ${file}: not a file`);
    await (await open(file, 'r')).close();
  } catch (e) {
    if (e instanceof Error && 'exitCode' in e) throw e;
    throw usageError(`--${option} ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

export interface SshKeyOptions {
  /** The ssh words to add for the key and the known_hosts file. */
  readonly words: readonly string[];
  /** Removes the private copy, if one was made. */
  cleanup(): Promise<void>;
}

export async function sshKeyOptions(key: string | undefined, knownHosts: string | undefined): Promise<SshKeyOptions> {
  const out: string[] = [];
  let copyDir: string | undefined;
  if (key !== undefined) {
    const file = path.resolve(key);
    await readable(file, 'ssh-key');
    const st = await stat(file);
    const ownedPrivate = st.uid === process.getuid?.() && (st.mode & 0o077) === 0;
    let use = file;
    if (!ownedPrivate) {
      // mkdtemp makes the directory 0700: nobody else sees the copy.
      copyDir = await mkdtemp(path.join(os.tmpdir(), 'gsyncd-key-'));
      use = path.join(copyDir, 'id');
      await copyFile(file, use);
      await chmod(use, 0o600);
    }
    out.push('-i', use, '-o', 'IdentitiesOnly=yes');
  }
  if (knownHosts !== undefined) {
    const file = path.resolve(knownHosts);
    await readable(file, 'ssh-known-hosts');
    out.push('-o', `UserKnownHostsFile=${file}`, '-o', 'StrictHostKeyChecking=yes');
  }
  const dir = copyDir;
  return { words: out, cleanup: () => (dir === undefined ? Promise.resolve() : rm(dir, { recursive: true, force: true })) };
}
