// The changes a live mirror must carry, shared by the local and the SSH live tests. Each
// step works in a directory of its own (prepared before gsyncd starts), so that one step
// that leaves the slave behind does not fail every step after it. The step changes the
// master; the test then waits for the slave to mirror that directory. A step that goes
// through several states calls `settle()` between them, so each state is checked.
import { mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bytePath, edit, INVALID_UTF8_DIR, INVALID_UTF8_NAME, makeSmallTree, ODD_NAMES } from './tree.js';

export interface LiveContext {
  /** The step's own directory in the master tree. */
  dir: string;
  /** The step's own directory outside the master tree, on the same filesystem. */
  outside: string;
  /** Waits until the slave mirrors the step's directory. */
  settle: () => Promise<void>;
}

export interface LiveStep {
  name: string;
  /** Fills the step's directory before gsyncd starts (default: the small tree). */
  prepare?: (dir: string) => void;
  run(ctx: LiveContext): Promise<void> | void;
}

/** The directory of step `index`, relative to the master and slave roots. */
export function stepDirName(index: number): string {
  return `step-${String(index).padStart(2, '0')}`;
}

/** The master tree the live tests start from: a small tree and one directory per step. */
export function makeLiveTree(master: string, outside: string): void {
  makeSmallTree(master);
  for (const [index, step] of LIVE_STEPS.entries()) {
    const dir = path.join(master, stepDirName(index));
    mkdirSync(dir);
    (step.prepare ?? makeSmallTree)(dir);
    mkdirSync(path.join(outside, stepDirName(index)));
  }
}

/** `dir/name` with `content`, for prepare hooks. */
function withFile(name: string, content: string): (dir: string) => void {
  return (dir) => {
    makeSmallTree(dir);
    writeFileSync(path.join(dir, name), content);
  };
}

export const LIVE_STEPS: readonly LiveStep[] = [
  {
    name: 'create a file',
    run({ dir }) {
      writeFileSync(path.join(dir, 'new.txt'), 'created live\n');
    },
  },
  {
    name: 'create a file in a new nested directory',
    run({ dir }) {
      mkdirSync(path.join(dir, 'fresh/a/b'), { recursive: true });
      writeFileSync(path.join(dir, 'fresh/a/b/leaf.txt'), 'leaf\n');
    },
  },
  {
    name: 'overwrite a file with new content',
    prepare: withFile('file.txt', 'before\n'),
    run({ dir }) {
      edit.write(path.join(dir, 'file.txt'), 'overwritten with something longer\n');
    },
  },
  {
    name: 'append to a file',
    prepare: withFile('file.txt', 'first line\n'),
    run({ dir }) {
      edit.append(path.join(dir, 'file.txt'), 'appended line\n');
    },
  },
  {
    name: 'truncate a file, then empty it',
    prepare: withFile('file.txt', 'a line long enough to be cut\n'),
    async run({ dir, settle }) {
      edit.truncate(path.join(dir, 'file.txt'), 5);
      await settle();
      edit.truncate(path.join(dir, 'file.txt'), 0);
    },
  },
  {
    // rsync's quick check compares size and whole-second mtime only: a changed file that
    // keeps both (cp -p, tar x, a rewrite within the second) must still reach the slave.
    name: 'replace a file content keeping its size and mtime',
    prepare: withFile('same-size.txt', 'aaaa\n'),
    run({ dir }) {
      const file = path.join(dir, 'same-size.txt');
      const before = statSync(file);
      writeFileSync(file, 'bbbb\n');
      utimesSync(file, before.atime, before.mtime);
    },
  },
  {
    name: 'touch a file (mtime only)',
    run({ dir }) {
      const when = new Date('2022-02-02T02:02:02Z');
      utimesSync(path.join(dir, 'README'), when, when);
    },
  },
  {
    name: 'delete a file',
    run({ dir }) {
      edit.remove(path.join(dir, 'README'));
    },
  },
  {
    name: 'delete a non-empty directory',
    prepare(dir) {
      makeSmallTree(dir);
      mkdirSync(path.join(dir, 'doomed/x/y'), { recursive: true });
      writeFileSync(path.join(dir, 'doomed/x/y/z.txt'), 'z\n');
      writeFileSync(path.join(dir, 'doomed/top.txt'), 'top\n');
    },
    run({ dir }) {
      edit.remove(path.join(dir, 'doomed'));
      edit.remove(path.join(dir, 'docs/old'));
    },
  },
  {
    name: 'rename a file',
    run({ dir }) {
      edit.rename(path.join(dir, 'src/main.c'), path.join(dir, 'src/program.c'));
    },
  },
  {
    name: 'rename a populated directory',
    run({ dir }) {
      edit.rename(path.join(dir, 'docs'), path.join(dir, 'documentation'));
    },
  },
  {
    name: 'move a populated directory in from outside the tree, then out again',
    async run({ dir, outside, settle }) {
      const incoming = path.join(outside, 'incoming');
      mkdirSync(path.join(incoming, 'sub/deeper'), { recursive: true });
      writeFileSync(path.join(incoming, 'one.txt'), 'one\n');
      writeFileSync(path.join(incoming, 'sub/deeper/two.txt'), 'two\n');
      edit.rename(incoming, path.join(dir, 'moved-in'));
      await settle();
      edit.rename(path.join(dir, 'moved-in'), path.join(outside, 'moved-out'));
    },
  },
  {
    name: 'replace a file by a directory, and back',
    prepare: withFile('shape-shifter', 'a file first\n'),
    async run({ dir, settle }) {
      const p = path.join(dir, 'shape-shifter');
      edit.remove(p);
      mkdirSync(p);
      writeFileSync(path.join(p, 'inside.txt'), 'now a directory\n');
      await settle();
      edit.remove(p);
      writeFileSync(p, 'a file again\n');
    },
  },
  {
    name: 'chmod a file and a directory',
    run({ dir }) {
      edit.chmod(path.join(dir, 'README'), 0o600);
      edit.chmod(path.join(dir, 'docs'), 0o750);
    },
  },
  {
    name: 'retarget a symlink (atomically, then by unlink and relink)',
    prepare(dir) {
      makeSmallTree(dir);
      edit.symlink('README', path.join(dir, 'current'));
    },
    async run({ dir, settle }) {
      const link = path.join(dir, 'current');
      edit.retarget(link, 'docs/guide.txt');
      await settle();
      edit.remove(link);
      edit.symlink('/nowhere/at/all', link);
    },
  },
  {
    name: 'a symlink replaced by a file, and a file by a symlink',
    prepare(dir) {
      makeSmallTree(dir);
      edit.symlink('README', path.join(dir, 'link'));
      writeFileSync(path.join(dir, 'file'), 'a file\n');
    },
    run({ dir }) {
      edit.remove(path.join(dir, 'link'));
      writeFileSync(path.join(dir, 'link'), 'a file now\n');
      edit.remove(path.join(dir, 'file'));
      edit.symlink('README', path.join(dir, 'file'));
    },
  },
  {
    // Invariant 3 for live batches: names go to rsync's --files-from, where `#x` and `;x`
    // would be comments and `-x` an option if sent as they are.
    name: 'odd names created, changed and deleted live in an existing directory',
    async run({ dir, settle }) {
      for (const name of ODD_NAMES) {
        writeFileSync(path.join(dir, name), `live ${name}\n`);
      }
      await settle();
      for (const name of ODD_NAMES) {
        edit.append(path.join(dir, name), 'more\n');
      }
      await settle();
      for (const name of ODD_NAMES.slice(0, 8)) {
        edit.remove(path.join(dir, name));
      }
    },
  },
  {
    name: 'a file with an invalid UTF-8 name created, changed and deleted live',
    async run({ dir, settle }) {
      const inDirRoot = bytePath(dir, INVALID_UTF8_NAME);
      writeFileSync(inDirRoot, 'bytes, not a string\n');
      const badDir = bytePath(path.join(dir, 'docs'), INVALID_UTF8_DIR);
      mkdirSync(badDir);
      writeFileSync(Buffer.concat([badDir, Buffer.from('/'), INVALID_UTF8_NAME]), 'nested bytes\n');
      await settle();
      edit.append(inDirRoot, 'changed\n');
      await settle();
      edit.remove(inDirRoot);
      edit.rename(badDir, path.join(dir, 'docs/now-utf8'));
    },
  },
  {
    name: 'a burst of 300 new files, then half of them deleted',
    async run({ dir, settle }) {
      const burst = path.join(dir, 'burst');
      mkdirSync(burst);
      for (let i = 0; i < 300; i += 1) {
        writeFileSync(path.join(burst, `b${i}`), `burst ${i}\n`);
      }
      await settle();
      for (let i = 0; i < 300; i += 2) {
        rmSync(path.join(burst, `b${i}`));
      }
    },
  },
  {
    name: 'a directory deleted and rebuilt under the same name',
    run({ dir }) {
      rmSync(path.join(dir, 'docs'), { recursive: true });
      mkdirSync(path.join(dir, 'docs'));
      writeFileSync(path.join(dir, 'docs/guide.txt'), 'a new guide, longer than the old one\n');
    },
  },
];
