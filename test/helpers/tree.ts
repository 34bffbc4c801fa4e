// Builders for master trees. The "hard" tree holds every kind of name and file that has
// broken a mirror before: shell metacharacters, rsync filter and comment characters, a
// leading dash, newlines, non-ASCII and invalid UTF-8, links of all kinds, odd modes and
// explicit times, so that a clean comparison means the names travelled as data.
import {
  appendFileSync,
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

/** Names that need quoting in a shell, in rsync filters, or in a `--files-from` list. */
export const ODD_NAMES: readonly string[] = [
  'with space.txt',
  '  two leading spaces',
  'trailing space ',
  'new\nline.txt',
  "single'quote",
  'double"quote',
  'star*',
  'question?',
  '[brackets]',
  ']',
  '-leading-dash',
  '--rsh=evil',
  '#hash',
  ';semicolon',
  '$HOME and `tick`',
  'back\\slash',
  'tab\there',
  'pipe|amp&lt<gt>',
  'é-accent',
  '日本',
  'Ω.txt',
];

/** A name that is not valid UTF-8: it must be handled as bytes end to end. */
export const INVALID_UTF8_NAME = Buffer.from([0x66, 0x6f, 0x80, 0xff, 0xfe, 0x2e, 0x62, 0x69, 0x6e]);
export const INVALID_UTF8_DIR = Buffer.from([0x64, 0xc3, 0x28, 0x64, 0x69, 0x72]);

/** `dir/name` as bytes, for names that a JavaScript string cannot hold. */
export function bytePath(dir: string, name: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`${dir}/`), typeof name === 'string' ? Buffer.from(name) : name]);
}

// A fixed point in the past, so that mtimes differ from "now" and a lost time shows.
const EPOCH = Date.UTC(2021, 0, 2, 3, 4, 5) / 1000;

export interface HardTreeOptions {
  /** Hard links (default true): only meaningful to a transfer with -H. */
  hardLinks?: boolean;
  /** A file owned by uid/gid 1234 (default true; needs root). */
  foreignOwner?: boolean;
}

/**
 * Fills `root` (created if missing) with the hard tree. Paths that are not valid UTF-8
 * are created through Buffer paths.
 */
export function makeHardTree(root: string, options: HardTreeOptions = {}): void {
  const { hardLinks = true, foreignOwner = true } = options;
  let tick = 0;
  const stamp = (p: string | Buffer): void => {
    tick += 1;
    utimesSync(p, EPOCH + tick * 61, EPOCH + tick * 61);
  };
  const file = (rel: string | Buffer, content: string, mode = 0o644): void => {
    const p = typeof rel === 'string' ? path.join(root, rel) : bytePath(root, rel);
    writeFileSync(p, content);
    chmodSync(p, mode);
    stamp(p);
  };

  mkdirSync(root, { recursive: true });
  file('plain.txt', 'plain\n');
  for (const [i, name] of ODD_NAMES.entries()) {
    file(name, `odd name ${i}: ${name}\n`);
  }
  file(INVALID_UTF8_NAME, 'a name that is not UTF-8\n');

  const badDir = bytePath(root, INVALID_UTF8_DIR);
  mkdirSync(badDir);
  const badDirFile = Buffer.concat([badDir, Buffer.from('/inner.txt')]);
  writeFileSync(badDirFile, 'inside\n');
  stamp(badDirFile);

  mkdirSync(path.join(root, 'nested/a/b/c'), { recursive: true });
  file('nested/top.txt', 'top\n');
  file('nested/a/b/c/deep.txt', 'deep\n');
  file('nested/a/#not a comment', 'hash inside\n');
  mkdirSync(path.join(root, 'dir with space/[sub]'), { recursive: true });
  file('dir with space/[sub]/-x', 'dash in a bracketed dir\n');

  mkdirSync(path.join(root, 'empty'));
  mkdirSync(path.join(root, 'nested/a/empty too'));

  file('mode-0600', 'secret\n', 0o600);
  file('mode-0755.sh', '#!/bin/sh\necho hi\n', 0o755);
  file('mode-0640', 'group readable\n', 0o640);
  mkdirSync(path.join(root, 'private-0700'));
  file('private-0700/inside.txt', 'private\n');
  chmodSync(path.join(root, 'private-0700'), 0o700);

  file('zero-length', '');
  file('larger.bin', 'x'.repeat(300_000));

  if (foreignOwner) {
    file('owned-by-1234', 'foreign owner\n');
    chownSync(path.join(root, 'owned-by-1234'), 1234, 1234);
  }

  const link = (target: string, rel: string): void => {
    const p = path.join(root, rel);
    symlinkSync(target, p);
    tick += 1;
    lutimesSync(p, EPOCH + tick * 61, EPOCH + tick * 61);
  };
  link('plain.txt', 'link-relative');
  link('../with space.txt', 'nested/link-up');
  link('/etc/hostname', 'link-absolute');
  link('does/not/exist', 'link-dangling');
  link('nested', 'link-to-dir');
  link('new\nline.txt', 'link to odd name');

  if (hardLinks) {
    file('hard-a', 'hard linked content\n');
    linkSync(path.join(root, 'hard-a'), path.join(root, 'hard-b'));
    linkSync(path.join(root, 'hard-a'), path.join(root, 'nested/a/hard-c'));
  }

  stampDirectories(root, EPOCH - 86_400);
}

/**
 * Gives every directory under `root` (and `root`) a fixed mtime, deepest first so that
 * setting a child's time does not disturb its parent's afterwards.
 */
export function stampDirectories(root: string | Buffer, seconds: number): void {
  const visit = (dir: Buffer): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
      if (entry.isDirectory()) {
        visit(Buffer.concat([dir, Buffer.from('/'), entry.name]));
      }
    }
    utimesSync(dir, seconds, seconds);
  };
  visit(typeof root === 'string' ? Buffer.from(root) : root);
}

/** Many small files in `dirs` directories, for a slow initial sync. */
export function makeWideTree(root: string, files: number, dirs: number, bytesEach = 256): void {
  const body = 'w'.repeat(bytesEach);
  for (let d = 0; d < dirs; d += 1) {
    mkdirSync(path.join(root, dirName(d)), { recursive: true });
  }
  for (let f = 0; f < files; f += 1) {
    writeFileSync(path.join(root, dirName(f % dirs), `f${String(f).padStart(6, '0')}`), body);
  }
}

export function dirName(index: number): string {
  return `d${String(index).padStart(4, '0')}`;
}

/** A small ordinary tree, the starting point of live tests. */
export function makeSmallTree(root: string): void {
  mkdirSync(path.join(root, 'docs/old'), { recursive: true });
  mkdirSync(path.join(root, 'src'), { recursive: true });
  writeFileSync(path.join(root, 'README'), 'readme\n');
  writeFileSync(path.join(root, 'docs/guide.txt'), 'guide\n');
  writeFileSync(path.join(root, 'docs/old/v1.txt'), 'v1\n');
  writeFileSync(path.join(root, 'src/main.c'), 'int main(void) { return 0; }\n');
}

// Small verbs for live steps, named as the change they make.
export const edit = {
  write(p: string | Buffer, content: string): void {
    writeFileSync(p, content);
  },
  append(p: string | Buffer, content: string): void {
    appendFileSync(p, content);
  },
  truncate(p: string | Buffer, length: number): void {
    truncateSync(p, length);
  },
  remove(p: string | Buffer): void {
    rmSync(p, { recursive: true, force: false });
  },
  rename(from: string | Buffer, to: string | Buffer): void {
    renameSync(from, to);
  },
  mkdirs(p: string): void {
    mkdirSync(p, { recursive: true });
  },
  chmod(p: string, mode: number): void {
    chmodSync(p, mode);
  },
  /** Retargets a symlink atomically, as `ln -sfn` does: a new link renamed over the old. */
  retarget(link: string, target: string): void {
    const temp = `${link}.retarget-tmp`;
    symlinkSync(target, temp);
    renameSync(temp, link);
  },
  symlink(target: string, link: string): void {
    symlinkSync(target, link);
  },
};

/** A list of every path under `root` with its type and size, for "untouched" checks. */
export function snapshot(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: Buffer, rel: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
      const full = Buffer.concat([dir, Buffer.from('/'), entry.name]);
      const name = `${rel}${entry.name.toString('latin1')}`;
      const st = lstatSync(full, { throwIfNoEntry: false });
      if (entry.isDirectory()) {
        out.push(`${name}/`);
        visit(full, `${name}/`);
      } else {
        out.push(`${name} ${entry.isSymbolicLink() ? 'link' : String(st?.size)} ${String(st?.mode)} ${String(st?.mtimeMs)}`);
      }
    }
  };
  visit(Buffer.from(root), '');
  return out.sort();
}

/** `count` files `PREFIX-N.txt` of `bytes` bytes each in `dir` (made if missing). */
export function writeFiles(dir: string, prefix: string, count: number, bytes = 100): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) writeFileSync(path.join(dir, `${prefix}-${i}.txt`), `${prefix} ${i}\n`.padEnd(bytes, '.'));
}
