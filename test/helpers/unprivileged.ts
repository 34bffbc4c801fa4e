// Running the built gsyncd as an unprivileged user (as root, setpriv to nobody): root reads
// every file whatever its mode. The user must reach the shim and the built code: a checkout
// in a private directory (mktemp -d makes it 0700) is copied, once per test file, to a
// directory anyone may read.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exec, execOk } from './exec.js';
import { gsyncdBin, repoRoot } from './gsyncd.js';

export const NOBODY = 65534;
export const asRoot = process.getuid?.() === 0;

/** setpriv execs node in its own process: the pid, signals and children stay gsyncd's. */
export const UNPRIVILEGED: readonly string[] = asRoot ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'] : [];

let copy: Promise<{ bin: string; dir: string | undefined }> | undefined;

/** The gsyncd shim that UNPRIVILEGED can run: this checkout's, or a readable copy of it. */
export function unprivilegedBin(): Promise<string> {
  copy ??= (async () => {
    if (!asRoot) return { bin: gsyncdBin, dir: undefined };
    const reachable = await exec('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', 'test', '-r', path.join(repoRoot, 'dist', 'src', 'cli', 'main.js')]);
    if (reachable.code === 0) return { bin: gsyncdBin, dir: undefined };
    const dir = await mkdtemp(path.join(tmpdir(), 'gsyncd-e2e-readable-'));
    await chmod(dir, 0o755);
    await execOk('cp', ['-a', ...['bin', 'conf', 'dist', 'node_modules', 'package.json'].map((p) => path.join(repoRoot, p)), dir]);
    return { bin: path.join(dir, 'bin', 'gsyncd'), dir };
  })();
  return copy.then((c) => c.bin);
}

/** Removes the copy, if one was made (call once, after the file's tests). */
export async function removeUnprivilegedCopy(): Promise<void> {
  const dir = (await copy)?.dir;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}
