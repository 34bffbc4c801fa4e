// Building and running the Dockerfile without a Docker engine (TESTING.md, "Images without a
// Docker engine"): debootstrap makes a Debian root filesystem, buildah turns it plus this
// machine's node and npm into a local stand-in for the official Node.js image, builds the
// Dockerfile on it with chroot isolation, and runs commands in the result. Root only.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { copyFile, cp, mkdir, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { exec, execOk, type ExecResult } from './exec.js';
import { descendantsOf, isAlive, killRecords, type ProcessRecord } from './proc.js';
import type { Scope } from './scope.js';
import { withTimeout } from './wait.js';

/** The release the default BASE_IMAGE (node:22-bookworm-slim) is built on. */
const SUITE = 'bookworm';
const BUILD_TIMEOUT_MS = 10 * 60_000;

function onPath(command: string): boolean {
  return (process.env['PATH'] ?? '').split(':').some((dir) => {
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why the image tests cannot run here, or false when they can (for `{ skip }`). */
export function imageTestsSkipReason(): string | false {
  if (process.getuid?.() !== 0) {
    return 'building an image needs root (debootstrap, buildah with chroot isolation)';
  }
  const missing = ['buildah', 'debootstrap'].filter((command) => !onPath(command));
  if (missing.length > 0) {
    return `${missing.join(' and ')} not installed (apt-get install buildah debootstrap)`;
  }
  return false;
}

export function buildah(args: readonly string[], timeoutMs = 120_000): Promise<ExecResult> {
  return execOk('buildah', args, { timeoutMs });
}

/** A fresh name for this run's images and containers: runs on one machine never collide. */
export function uniqueTag(): string {
  return `${process.pid}-${Date.now().toString(36)}`;
}

/**
 * The Debian mirror this machine's apt uses: the first `deb` source of a release suite
 * (not `-security` or `-updates`), from deb822 `.sources` files or one-line `.list` files.
 */
export function aptMirror(): string {
  const files = ['/etc/apt/sources.list'];
  try {
    for (const name of readdirSync('/etc/apt/sources.list.d').sort()) {
      files.push(path.join('/etc/apt/sources.list.d', name));
    }
  } catch {
    // No directory: sources.list alone.
  }
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const found = file.endsWith('.sources') ? fromDeb822(text) : file.endsWith('.list') ? fromOneLine(text) : undefined;
    if (found !== undefined) {
      return found;
    }
  }
  throw new Error(`no Debian mirror found in ${files.join(', ')} (a "deb" source with a release suite)`);
}

const isRelease = (suite: string): boolean => /^[a-z]+$/.test(suite);

function fromDeb822(text: string): string | undefined {
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string): string[] => {
      const match = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(stanza);
      return (match?.[1] ?? '').split(/\s+/).filter((word) => word !== '');
    };
    const enabled = field('Enabled')[0]?.toLowerCase() !== 'no';
    const uri = field('URIs')[0];
    if (enabled && field('Types').includes('deb') && field('Suites').some(isRelease) && uri !== undefined) {
      return uri;
    }
  }
  return undefined;
}

function fromOneLine(text: string): string | undefined {
  for (const line of text.split('\n')) {
    // deb [option=value ...] URI SUITE COMPONENT...
    const match = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined && isRelease(match[2])) {
      return match[1];
    }
  }
  return undefined;
}

/**
 * A tarball of `debootstrap --variant=minbase` from `mirror`, kept in the temp dir for the
 * day: a root filesystem costs half a minute to a minute to make, and the suite's other
 * tests may build the image several times a day. Written under a private name and renamed,
 * so a concurrent run sees a whole tarball or none; tarballs older than yesterday's go.
 */
async function rootfsTarball(scope: Scope, mirror: string): Promise<string> {
  const day = new Date().toISOString().slice(0, 10);
  const key = createHash('sha256').update(`${SUITE}\0${mirror}`).digest('hex').slice(0, 8);
  const tarball = path.join(tmpdir(), `gsyncd-test-rootfs-${SUITE}-${key}-${day}.tar`);
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  for (const name of readdirSync(tmpdir())) {
    const date = /^gsyncd-test-rootfs-.*-(\d{4}-\d{2}-\d{2})\.tar$/.exec(name)?.[1];
    if (date !== undefined && date < yesterday) {
      await rm(path.join(tmpdir(), name), { force: true });
    }
  }
  if (existsSync(tarball)) {
    return tarball;
  }
  const work = await scope.tempDir('rootfs');
  const rootfs = path.join(work, 'rootfs');
  const result = await exec('debootstrap', ['--variant=minbase', SUITE, rootfs, mirror], { timeoutMs: BUILD_TIMEOUT_MS });
  if (result.code !== 0) {
    let log = '';
    try {
      log = readFileSync(path.join(rootfs, 'debootstrap', 'debootstrap.log'), 'utf8');
    } catch {
      // debootstrap stopped before it had a log.
    }
    throw new Error(`debootstrap ${SUITE} from ${mirror} exited ${String(result.code)}:\n${result.stderr}\n${log.slice(-3000)}`);
  }
  const partial = `${tarball}.${process.pid}.partial`;
  try {
    await execOk('tar', ['--numeric-owner', '-C', rootfs, '-cf', partial, '.'], { timeoutMs: 300_000 });
    await rename(partial, tarball);
  } finally {
    await rm(partial, { force: true });
  }
  return tarball;
}

/**
 * Where this machine's npm lives: `PREFIX/lib/node_modules/npm` beside `PREFIX/bin/node`
 * for Debian's and NodeSource's packages (/usr), the official tarballs (/usr/local) and nvm.
 */
function hostNode(): { node: string; npm: string } {
  const node = realpathSync(process.execPath);
  const npm = path.join(path.dirname(path.dirname(node)), 'lib', 'node_modules', 'npm');
  if (!existsSync(path.join(npm, 'bin', 'npm-cli.js'))) {
    throw new Error(`no npm beside ${node} (looked for ${npm}); the image's build stage needs one`);
  }
  return { node, npm };
}

/**
 * A local stand-in for node:22-bookworm-slim: Debian's minimal root filesystem with this
 * machine's node and npm laid out as the official image has them (/usr/local). Kept for the
 * day like the root filesystem, under a name made of what it holds: the same base has the
 * same id, so `buildah bud --layers` finds the Dockerfile's dependency layers (npm ci, apt)
 * of an earlier run and reuses them. Returns its name.
 */
export async function buildBaseImage(scope: Scope): Promise<string> {
  const tarball = await rootfsTarball(scope, aptMirror());
  const { node, npm } = hostNode();
  // scripts/test.sh hands the variable on under a name of its own (see there).
  const extraCa = process.env['GSYNCD_TEST_EXTRA_CA_CERTS'] ?? process.env['NODE_EXTRA_CA_CERTS'];
  const key = createHash('sha256').update(`${tarball}\0${node}\0${process.version}\0${extraCa ?? ''}`).digest('hex').slice(0, 12);
  const day = new Date().toISOString().slice(0, 10);
  const name = `localhost/gsyncd-test-base:${key}-${day}`;
  await removeOldBases(day);
  if ((await exec('buildah', ['inspect', '--type', 'image', name])).code === 0) return name;
  const container = (await buildah(['from', 'scratch'])).stdout.trim();
  scope.defer(async () => {
    await exec('buildah', ['rm', container]);
  });
  const root = (await buildah(['mount', container])).stdout.trim();
  // Without the package lists and downloaded packages debootstrap leaves, as the official
  // slim images come: the image's size then says what the Dockerfile adds.
  const slim = ['--exclude=./var/lib/apt/lists/*_*', '--exclude=./var/cache/apt/archives/*.deb'];
  await execOk('tar', ['--numeric-owner', ...slim, '-C', root, '-xpf', tarball], { timeoutMs: 300_000 });
  await mkdir(path.join(root, 'usr/local/bin'), { recursive: true });
  await mkdir(path.join(root, 'usr/local/lib/node_modules'), { recursive: true });
  await copyFile(node, path.join(root, 'usr/local/bin/node'));
  await cp(npm, path.join(root, 'usr/local/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
  await symlink('../lib/node_modules/npm/bin/npm-cli.js', path.join(root, 'usr/local/bin/npm'));
  await symlink('../lib/node_modules/npm/bin/npx-cli.js', path.join(root, 'usr/local/bin/npx'));
  const config = ['--env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
  // Where TLS to the npm registry goes through an intercepting proxy, this machine's node
  // trusts the proxy's CA through NODE_EXTRA_CA_CERTS: the build stage's npm ci must too.
  if (extraCa !== undefined && path.isAbsolute(extraCa) && existsSync(extraCa) && statSync(extraCa).isFile()) {
    await mkdir(path.join(root, path.dirname(extraCa)), { recursive: true });
    await copyFile(extraCa, path.join(root, extraCa));
    config.push('--env', `NODE_EXTRA_CA_CERTS=${extraCa}`);
  }
  await buildah(['umount', container]);
  await buildah(['config', ...config, container]);
  await buildah(['commit', '--quiet', container, name]);
  return name;
}

/** Base images of days before `day` go, with the layers cached on them. */
async function removeOldBases(day: string): Promise<void> {
  const { stdout } = await exec('buildah', ['images', '--format', '{{.Name}}:{{.Tag}}']);
  for (const image of stdout.split('\n')) {
    const date = /^localhost\/gsyncd-test-base:[0-9a-f]+-(\d{4}-\d{2}-\d{2})$/.exec(image.trim())?.[1];
    if (date !== undefined && date < day) await exec('buildah', ['rmi', '--force', image.trim()]);
  }
}

/**
 * `buildah bud` of `contextDir`'s Dockerfile on `baseImage`. The docker format keeps the
 * HEALTHCHECK, which the OCI image format has no field for.
 */
export async function buildImage(scope: Scope, contextDir: string, baseImage: string, tag: string): Promise<string> {
  const name = `localhost/gsyncd-test:${tag}`;
  // --layers: steps whose inputs did not change since an earlier run on this machine (the
  // lock file's npm ci, the apt-get of the final stage) are taken from its cache.
  const args = ['bud', '--isolation', 'chroot', '--layers', '--format', 'docker', '--build-arg', `BASE_IMAGE=${baseImage}`, '-t', name, contextDir];
  const result = await exec('buildah', args, { timeoutMs: BUILD_TIMEOUT_MS });
  if (result.code !== 0) {
    throw new Error(`buildah ${args.join(' ')} exited ${String(result.code)}:\n${`${result.stdout}\n${result.stderr}`.slice(-6000)}`);
  }
  scope.defer(async () => {
    await exec('buildah', ['rmi', name]);
  });
  return name;
}

export interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, unknown>;
  WorkingDir?: string;
  Healthcheck?: { Test?: string[] };
}

/** The image's Docker-format config (the one with Healthcheck). */
export async function imageConfig(name: string): Promise<ImageConfig> {
  const { stdout } = await buildah(['inspect', '--type', 'image', name]);
  const parsed = JSON.parse(stdout) as { Docker?: { config?: ImageConfig } };
  return parsed.Docker?.config ?? {};
}

/** A working container of `image`, removed with the scope; returns its name. */
export async function newContainer(scope: Scope, image: string): Promise<string> {
  const container = (await buildah(['from', '--pull=never', '--quiet', image])).stdout.trim();
  scope.defer(async () => {
    await exec('buildah', ['rm', container]);
  });
  return container;
}

export interface RunOptions {
  /** `HOST:CONTAINER[:ro]` bind mounts. */
  volumes?: readonly string[];
  env?: Readonly<Record<string, string>>;
}

export function runArgs(container: string, command: readonly string[], options: RunOptions = {}): string[] {
  return [
    'run',
    '--isolation',
    'chroot',
    ...(options.volumes ?? []).flatMap((volume) => ['--volume', volume]),
    ...Object.entries(options.env ?? {}).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
    container,
    '--',
    ...command,
  ];
}

/** Runs `command` in the container to completion (as the image's USER, in its WORKDIR). */
export function runIn(container: string, command: readonly string[], options: RunOptions = {}): Promise<ExecResult> {
  return exec('buildah', runArgs(container, command, options), { timeoutMs: 120_000 });
}

export interface RunExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A command running in a container in the background. Chroot isolation has no PID
 * namespace: what runs inside is on the host's process table, below `buildah run`, and is
 * recorded from /proc as it comes so that the test can check that none of it survives.
 */
export class ContainerProcess {
  readonly child: ChildProcess;
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  /** Every process seen below `buildah run`, keyed by pid and start time. */
  readonly descendants = new Map<string, ProcessRecord>();
  readonly exited: Promise<RunExit>;
  #exit: RunExit | undefined;
  readonly #watch: NodeJS.Timeout;

  constructor(container: string, command: readonly string[], options: RunOptions = {}) {
    this.child = spawn('buildah', runArgs(container, command, options), { stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = this.child.pid;
    if (pid === undefined) {
      throw new Error('buildah run did not start');
    }
    for (const [stream, lines] of [[this.child.stdout, this.stdoutLines], [this.child.stderr, this.stderrLines]] as const) {
      if (stream !== null) {
        createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => lines.push(line));
      }
    }
    this.#watch = setInterval(() => {
      for (const record of descendantsOf(pid)) {
        this.descendants.set(`${record.pid}:${record.startTime}`, record);
      }
    }, 50);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        clearInterval(this.#watch);
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  get exit(): RunExit | undefined {
    return this.#exit;
  }

  /** A living recorded process whose command line matches, for signalling it. */
  find(match: (record: ProcessRecord) => boolean): ProcessRecord | undefined {
    return [...this.descendants.values()].find((record) => isAlive(record) && match(record));
  }

  /** Recorded processes still alive. */
  survivors(): ProcessRecord[] {
    return [...this.descendants.values()].filter(isAlive);
  }

  waitForExit(timeoutMs: number): Promise<RunExit> {
    return withTimeout(this.exited, timeoutMs, `buildah run to exit; output:\n${this.tail()}`);
  }

  tail(lines = 30): string {
    const out = this.stdoutLines.slice(-lines).map((line) => `  [stdout] ${line}`);
    const err = this.stderrLines.slice(-lines).map((line) => `  [stderr] ${line}`);
    return [...out, ...err].join('\n');
  }

  /**
   * For cleanup after a failed test: SIGTERM to what runs inside, so that `buildah run`
   * returns and removes its run directory; SIGKILL to whatever is still there after 15 s.
   */
  async dispose(): Promise<void> {
    if (this.#exit === undefined) {
      const inside = this.survivors().filter((record) => !record.cmdline.startsWith('buildah'));
      killRecords(inside, 'SIGTERM');
      try {
        await this.waitForExit(15_000);
      } catch {
        killRecords(this.survivors(), 'SIGKILL');
        this.child.kill('SIGKILL');
        await this.exited;
      }
    }
    clearInterval(this.#watch);
    killRecords(this.survivors(), 'SIGKILL');
  }
}
