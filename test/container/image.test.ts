// The container image (the sidecar): the Dockerfile is built on a local stand-in for the
// official Node.js image and run as its ENTRYPOINT runs it, through tini, as its USER, with
// a master directory, an SSH key and a known_hosts file mounted in, against this test's own
// sshd on the loopback (chroot isolation shares the host's network and process table).
// Needs root, buildah and debootstrap; skipped otherwise.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertMirrored, waitForMirror } from '../helpers/compare.js';
import { describeExit, remoteGsyncdArgs, repoRoot } from '../helpers/gsyncd.js';
import {
  buildah,
  buildBaseImage,
  buildImage,
  ContainerProcess,
  imageConfig,
  imageTestsSkipReason,
  newContainer,
  runIn,
  uniqueTag,
  type ImageConfig,
} from '../helpers/image.js';
import { describeProcesses, processesMentioning } from '../helpers/proc.js';
import { makeLayout, Scope } from '../helpers/scope.js';
import { startSshd } from '../helpers/sshd.js';
import { pollUntil } from '../helpers/wait.js';

const SECRETS = '/run/secrets';
const KEY = `${SECRETS}/gsyncd-key`;
const KNOWN_HOSTS = `${SECRETS}/known_hosts`;
const MASTER = '/data/master';
const STATE = '/var/lib/gsyncd';
/** The image's user, who must own the state directory mounted in. */
const GSYNCD_UID = 10001;

// How the mounted secrets reach ssh. Before --ssh-key and --ssh-known-hosts, this was
//   { GSYNCD_SSH_COMMAND: `ssh -i ${KEY} -o UserKnownHostsFile=${KNOWN_HOSTS} …` }
// with the key mounted 0600 and owned by the image's user.
const SSH_ENV: Readonly<Record<string, string>> = { GSYNCD_SSH_KEY: KEY, GSYNCD_SSH_KNOWN_HOSTS: KNOWN_HOSTS };

interface PackageJson {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as PackageJson;

/** Every output line is one JSON object with timestamp, level and message; returns them. */
function jsonLines(lines: readonly string[], stream: string): Record<string, unknown>[] {
  return lines
    .filter((line) => line.trim() !== '')
    .map((line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        assert.fail(`a ${stream} line is not JSON: ${line}`);
      }
      assert.ok(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed), `not a JSON object on ${stream}: ${line}`);
      const record = parsed as Record<string, unknown>;
      for (const field of ['timestamp', 'level', 'message']) {
        assert.equal(typeof record[field], 'string', `no "${field}" in this ${stream} line: ${line}`);
      }
      return record;
    });
}

describe('the container image', { skip: imageTestsSkipReason() }, () => {
  const scope = new Scope();
  const tag = uniqueTag();
  let image: string;
  let config: ImageConfig;
  let container: string;

  before(
    async () => {
      const started = Date.now();
      const base = await buildBaseImage(scope);
      const built = Date.now();
      image = await buildImage(scope, repoRoot, base, tag);
      console.log(`# base image ${((built - started) / 1000).toFixed(1)} s (kept for the day), buildah bud ${((Date.now() - built) / 1000).toFixed(1)} s (layers cached)`);
      for (const name of [base, image]) {
        const { stdout } = await buildah(['images', '--format', '{{.Size}}', name]);
        console.log(`# ${name}: ${stdout.trim()}`);
      }
      config = await imageConfig(image);
      container = await newContainer(scope, image);
    },
    { timeout: 12 * 60_000 },
  );
  after(() => scope.close());

  it('is configured to run gsyncd through tini as gsyncd, with JSON logs, a state volume and a health check', () => {
    assert.deepEqual(config.Entrypoint?.slice(0, 1), ['/usr/bin/tini']);
    assert.equal(config.Entrypoint.at(-1), 'gsyncd');
    assert.equal(config.User, 'gsyncd');
    const env = config.Env ?? [];
    assert.ok(env.includes('GSYNCD_LOG_FORMAT=json'), `Env: ${env.join(' ')}`);
    assert.ok(env.includes('GSYNCD_LOG_FILE=-'), `Env: ${env.join(' ')}`);
    assert.ok(env.includes(`GSYNCD_STATE_DIR=${STATE}`), `Env: ${env.join(' ')}`);
    assert.deepEqual(Object.keys(config.Volumes ?? {}), [STATE]);
    assert.deepEqual(config.Healthcheck?.Test, ['CMD', 'gsyncd', 'health']);
  });

  it('is uid 10001 inside, and owns its state directory', { timeout: 120_000 }, async () => {
    const id = await runIn(container, ['sh', '-c', `id; stat -c '%U %a' ${STATE}`]);
    assert.equal(id.code, 0, id.stderr);
    assert.match(id.stdout, /^uid=10001\(gsyncd\) gid=10001\(gsyncd\)/);
    assert.match(id.stdout, /^gsyncd 750$/m);
  });

  it('has rsync, ssh, tini, setpriv and perl (the inotify helper), and gsyncd on the PATH', { timeout: 120_000 }, async () => {
    const tools = await runIn(container, [
      'sh',
      '-ec',
      'rsync --version | head -n 1; ssh -V 2>&1; tini --version; setpriv --version; perl -e "print qq(perl \\$]\\n)"; command -v gsyncd; gsyncd --version',
    ]);
    assert.equal(tools.code, 0, tools.stderr);
    assert.match(tools.stdout, /^rsync\s+version 3\./m);
    assert.match(tools.stdout, /^OpenSSH_/m);
    assert.match(tools.stdout, /^tini version /m);
    assert.match(tools.stdout, /^setpriv from util-linux /m);
    assert.match(tools.stdout, /^perl 5\./m);
    assert.match(tools.stdout, /^\/usr\/local\/bin\/gsyncd$/m);
    assert.match(tools.stdout, new RegExp(`^${pkg.version.replace(/\./g, '\\.')}$`, 'm'));
  });

  it('holds the built code and the production dependencies only', { timeout: 120_000 }, async () => {
    const root = (await buildah(['mount', container])).stdout.trim();
    try {
      const app = path.join(root, 'opt/gsyncd');
      assert.deepEqual((await readdir(app)).sort(), ['bin', 'conf', 'dist', 'node_modules', 'package.json']);
      assert.deepEqual(await readdir(path.join(app, 'dist')), ['bundle']);
      assert.ok(existsSync(path.join(app, 'dist/bundle/cli/main.js')));
      for (const dependency of Object.keys(pkg.dependencies)) {
        assert.ok(existsSync(path.join(app, 'node_modules', dependency, 'package.json')), `${dependency} is missing`);
      }
      const dev = Object.keys(pkg.devDependencies).filter((name) => existsSync(path.join(app, 'node_modules', name)));
      assert.deepEqual(dev, [], 'development dependencies in the image');
    } finally {
      await buildah(['umount', container]);
    }
  });

  it('mirrors a mounted master over SSH with JSON logs, and exits 0 on SIGTERM to tini', { timeout: 5 * 60_000 }, async () => {
    const sshd = await startSshd();
    scope.defer(() => sshd.stop());
    const layout = await makeLayout(scope, 'image');

    // The master as an application container would leave it, readable by gsyncd's user.
    await chmod(layout.master, 0o755);
    await mkdir(path.join(layout.master, 'logs', 'old'), { recursive: true, mode: 0o755 });
    await writeFile(path.join(layout.master, 'index.html'), '<h1>hello</h1>\n', { mode: 0o644 });
    await writeFile(path.join(layout.master, 'logs', 'app log.txt'), 'line 1\n', { mode: 0o644 });
    await writeFile(path.join(layout.master, 'logs', 'old', '#1;x'), 'old\n', { mode: 0o644 });

    // The secrets, mounted as a Kubernetes Secret's files are by default: owned by root,
    // mode 0644. ssh refuses such a key: gsyncd has to use it through a private copy.
    const secrets = await scope.tempDir('image-secrets');
    await chmod(secrets, 0o755);
    await copyFile(sshd.userKey, path.join(secrets, 'gsyncd-key'));
    await chmod(path.join(secrets, 'gsyncd-key'), 0o644);
    const hostKey = readFileSync(path.join(sshd.dir, 'hostkey.pub'), 'utf8').trim();
    await writeFile(path.join(secrets, 'known_hosts'), `[127.0.0.1]:${sshd.port} ${hostKey}\n`, { mode: 0o644 });

    const state = await scope.tempDir('image-state');
    await chown(state, GSYNCD_UID, GSYNCD_UID);
    await chmod(state, 0o750);

    // buildah 1.28 lets the image's own VOLUME win over a --volume for the same path as soon
    // as another mount is read-only: this container forgets the declaration (checked above).
    const mirrorContainer = await newContainer(scope, image);
    await buildah(['config', '--volume', `${STATE}-`, mirrorContainer]);
    const run = new ContainerProcess(
      mirrorContainer,
      [...(config.Entrypoint ?? []), '--batch-delay', '0.2', ...remoteGsyncdArgs(), MASTER, sshd.slaveUrl(layout.slave)],
      {
        volumes: [`${layout.master}:${MASTER}:ro`, `${secrets}:${SECRETS}:ro`, `${state}:${STATE}`],
        env: SSH_ENV,
      },
    );
    scope.defer(() => run.dispose());

    const logged = (message: string): boolean =>
      jsonLines(run.stdoutLines, 'stdout').some((line) => String(line['message']).includes(message));
    await pollUntil(
      () => {
        if (run.exit !== undefined) {
          throw new Error(`gsyncd exited (${describeExit(run.exit)}) before going live; output:\n${run.tail()}`);
        }
        return logged('Changelog Crawl started') ? true : undefined;
      },
      () => `gsyncd in the container to go live; output:\n${run.tail()}`,
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    await waitForMirror(layout.master, layout.slave, 60_000);
    // The handshake with the slave's gsyncd went through the same key and known_hosts.
    await pollUntil(
      () => (logged('slave channel up') ? true : undefined),
      () => `the slave channel; output:\n${run.tail()}`,
      { timeoutMs: 60_000, intervalMs: 100 },
    );

    // gsyncd itself runs as the image's user, below tini.
    const gsyncd = run.find((record) => record.comm === 'node' && record.cmdline.includes('gsyncd'));
    const tini = run.find((record) => record.comm === 'tini');
    assert.ok(gsyncd !== undefined && tini !== undefined, `no tini or gsyncd below buildah run:\n${describeProcesses([...run.descendants.values()])}`);
    assert.equal(gsyncd.ppid, tini.pid, 'gsyncd is tini’s child');
    assert.match(readFileSync(`/proc/${gsyncd.pid}/status`, 'utf8'), new RegExp(`^Uid:\\s+${GSYNCD_UID}\\s`, 'm'));

    // Live changes.
    await writeFile(path.join(layout.master, 'new.txt'), 'new\n', { mode: 0o644 });
    await writeFile(path.join(layout.master, 'logs', 'app log.txt'), 'line 1\nline 2\n', { mode: 0o644 });
    await rm(path.join(layout.master, 'logs', 'old'), { recursive: true });
    await waitForMirror(layout.master, layout.slave, 60_000);

    // The key, mounted readable by all, reaches ssh as a private 0600 copy, outside the state volume.
    const master = run.find((record) => record.comm === 'ssh' && record.cmdline.includes('ControlPersist=no'));
    assert.ok(master !== undefined, `no ssh master below gsyncd:\n${describeProcesses([...run.descendants.values()])}`);
    const keyArg = /(?:^|\s)-i\s+(\S+)/.exec(master.cmdline)?.[1];
    assert.ok(keyArg !== undefined && keyArg !== KEY && !keyArg.startsWith(STATE), `ssh's key: ${master.cmdline}`);
    const keyCopy = await stat(`/proc/${master.pid}/root${keyArg}`);
    assert.deepEqual([keyCopy.uid, keyCopy.mode & 0o777], [GSYNCD_UID, 0o600], 'the private copy of the key');

    // The session's state went to the volume the image declares.
    const sessions = await readdir(state);
    assert.equal(sessions.length, 1, `state volume: ${sessions.join(' ')}`);
    const sessionDir = path.join(state, sessions[0] ?? '');
    assert.ok(existsSync(path.join(sessionDir, 'status.json')));
    assert.equal(existsSync(path.join(sessionDir, 'ssh-key')), false, 'no key on the state volume');

    // The HEALTHCHECK's command, run beside the session as Docker runs it.
    const health = await runIn(mirrorContainer, config.Healthcheck?.Test?.slice(1) ?? [], { volumes: [`${state}:${STATE}`] });
    assert.equal(health.code, 0, `gsyncd health while mirroring: ${health.stdout}${health.stderr}`);
    assert.match(health.stdout, /: Active \(Changelog Crawl\)$/m);

    // As `docker stop` does: SIGTERM to the entrypoint, which forwards it to gsyncd.
    process.kill(tini.pid, 'SIGTERM');
    const exit = await run.waitForExit(60_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `buildah run exited ${describeExit(exit)}; output:\n${run.tail()}`);

    let left = run.survivors();
    await pollUntil(
      () => {
        left = [...run.survivors(), ...processesMentioning([layout.slave])];
        return left.length === 0 ? true : undefined;
      },
      () => `the container's processes to exit:\n${describeProcesses(left)}`,
      { timeoutMs: 10_000, intervalMs: 100 },
    );

    // The log is JSON lines on stdout, as a log collector reads it; stderr holds nothing else.
    jsonLines(run.stderrLines, 'stderr');
    const stdout = jsonLines(run.stdoutLines, 'stdout');
    assert.ok(stdout.length > 0, 'gsyncd logged nothing on stdout');
    assert.deepEqual(
      stdout.filter((line) => String(line['level']).toUpperCase() === 'ERROR').map((line) => line['message']),
      [],
      'errors in the log',
    );
    await assertMirrored(layout.master, layout.slave);
  });
});
