// Invariant 8, the slave fails closed: one sshd whose only key runs
// `gsyncd slave --restrict --root ROOT --log-file LOG` as its forced command. A whole live
// mirror of the hard tree goes through that key; everything else sent through it (other
// programs, shell syntax, reading rsync, rsync options off the allow-list, destinations
// outside the root by path, `..` or symlink) is refused with exit 3, a `refused` line on
// stderr and a WARNING in the slave log, and nothing is written anywhere.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertMirrored, waitForMirror } from '../helpers/compare.js';
import { exec, type ExecResult } from '../helpers/exec.js';
import { gsyncdBin, startGsyncd, stopAndAssertClean, type GsyncdProcess } from '../helpers/gsyncd.js';
import { Scope } from '../helpers/scope.js';
import {
  assertNoMarker,
  fileSize,
  forcedCommandOptions,
  markerPath,
  readFrom,
  shellQuote,
  sshCommand,
  substitutingRsh,
  waitForFileLine,
} from '../helpers/slave.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { makeHardTree, snapshot } from '../helpers/tree.js';

/** The paths a refused command names. */
interface Ctx {
  /** The allowed root (`--root`). */
  root: string;
  /** A canary directory outside the root, next to it. */
  outside: string;
  /** A file that an injected shell command would create. */
  marker: string;
  /** A fresh path under /tmp, named by a refused option (`--log-file=/tmp/…`). */
  tmpFile: string;
}

interface RefusalCase {
  name: string;
  command: (c: Ctx) => string;
  /** Also drive a real rsync client through the command: push data to it, or pull from it. */
  data?: 'push' | 'pull';
}

const CLIENT_FLAGS = '-logDtpre.iLsfxCIvu';

const REFUSALS: readonly RefusalCase[] = [
  { name: 'another program (id)', command: () => 'id' },
  { name: 'a shell command', command: (c) => `sh -c ${shellQuote(`touch ${c.marker}`)}` },
  { name: 'two commands (echo; id)', command: () => 'echo; id' },
  { name: 'shell syntax after a plain word', command: (c) => `true && touch ${c.marker}` },
  {
    name: 'a sending rsync (reading the slave)',
    command: (c) => `rsync --server --sender ${CLIENT_FLAGS} . ${c.root}/`,
    data: 'pull',
  },
  { name: 'rsync into an absolute path outside (/etc/)', command: () => `rsync --server ${CLIENT_FLAGS} . /etc/` },
  {
    name: 'rsync into an absolute path outside (the canary dir)',
    command: (c) => `rsync --server ${CLIENT_FLAGS} . ${c.outside}/`,
    data: 'push',
  },
  {
    name: 'rsync out of the root with ..',
    command: (c) => `rsync --server ${CLIENT_FLAGS} . ${c.root}/../${path.basename(c.outside)}/`,
    data: 'push',
  },
  {
    name: 'rsync through a symlink in the root that points outside',
    command: (c) => `rsync --server ${CLIENT_FLAGS} . ${c.root}/link-out/`,
    data: 'push',
  },
  {
    name: 'rsync through a symlink in the root, into a new subdirectory',
    command: (c) => `rsync --server ${CLIENT_FLAGS} . ${c.root}/link-out/new/`,
    data: 'push',
  },
  { name: 'rsync -s in the short cluster', command: (c) => `rsync --server -slogDtpre.iLsfxCIvu . ${c.root}/` },
  { name: 'rsync -s as a word', command: (c) => `rsync --server -s ${CLIENT_FLAGS} . ${c.root}/` },
  { name: 'rsync --secluded-args', command: (c) => `rsync --server --secluded-args ${CLIENT_FLAGS} . ${c.root}/` },
  {
    name: 'rsync --remove-source-files',
    command: (c) => `rsync --server ${CLIENT_FLAGS} --remove-source-files . ${c.root}/`,
    data: 'push',
  },
  { name: 'rsync --log-file=/tmp/…', command: (c) => `rsync --server ${CLIENT_FLAGS} --log-file=${c.tmpFile} . ${c.root}/` },
  {
    name: 'rsync --log-file into the canary dir',
    command: (c) => `rsync --server ${CLIENT_FLAGS} --log-file=${c.outside}/rsync.log . ${c.root}/`,
    data: 'push',
  },
  { name: 'rsync --temp-dir=/etc', command: (c) => `rsync --server ${CLIENT_FLAGS} --temp-dir=/etc . ${c.root}/` },
  {
    name: 'rsync --temp-dir into the canary dir',
    command: (c) => `rsync --server ${CLIENT_FLAGS} --temp-dir=${c.outside} . ${c.root}/`,
    data: 'push',
  },
  // A relative path passes the allow-list, but rsync would follow a link the master made.
  {
    name: 'rsync --temp-dir through a symlink in the root that points outside',
    command: (c) => `rsync --server ${CLIENT_FLAGS} --temp-dir link-out . ${c.root}/`,
    data: 'push',
  },
  {
    name: 'rsync -b --backup-dir through a symlink in the root that points outside',
    command: (c) => `rsync --server -b${CLIENT_FLAGS.slice(1)} --backup-dir link-out . ${c.root}/`,
    data: 'push',
  },
  // The master would choose the charset the slave's names are made in (UTF-16 makes '/' of them).
  {
    name: 'rsync --iconv=UTF-16',
    command: (c) => `rsync --server ${CLIENT_FLAGS} --iconv=UTF-16 . ${c.root}/`,
    data: 'push',
  },
  // -K would write through a link to a directory the master made, out of the root.
  {
    name: 'rsync -K (--keep-dirlinks)',
    command: (c) => `rsync --server -K${CLIENT_FLAGS.slice(1)} . ${c.root}/`,
    data: 'push',
  },
  { name: 'rsync with two destinations', command: (c) => `rsync --server ${CLIENT_FLAGS} . ${c.root}/ ${c.outside}/` },
  { name: 'rsync without --server', command: (c) => `rsync -a ${c.outside}/ ${c.root}/` },
  { name: 'gsyncd slave --root / (options through the key)', command: () => 'gsyncd slave --root /' },
  { name: 'bin/gsyncd slave --root / (options through the key)', command: () => `${gsyncdBin} slave --root /` },
  { name: 'gsyncd slave --no-restrict', command: () => `${gsyncdBin} slave --no-restrict` },
  { name: 'gsyncd (the master) itself', command: (c) => `${gsyncdBin} --once ${c.outside} ${c.root}/x` },
  {
    name: '$(…) in the destination',
    command: (c) => `rsync --server ${CLIENT_FLAGS} . '${c.root}/$(touch ${c.marker})'`,
    data: 'push',
  },
  {
    name: 'backticks in the destination',
    command: (c) => `rsync --server ${CLIENT_FLAGS} . '${c.root}/\`touch ${c.marker}\`'`,
    data: 'push',
  },
  {
    name: '; in the destination',
    command: (c) => `rsync --server ${CLIENT_FLAGS} . ${c.root}/a;touch ${c.marker}`,
    data: 'push',
  },
  {
    name: '; inside a quoted destination',
    command: (c) => `rsync --server ${CLIENT_FLAGS} . '${c.root}/a;touch ${c.marker}'`,
    data: 'push',
  },
  { name: '| in the destination', command: (c) => `rsync --server ${CLIENT_FLAGS} . '${c.root}/a|touch ${c.marker}'` },
  { name: 'a glob in the destination', command: (c) => `rsync --server ${CLIENT_FLAGS} . '${c.root}/*'` },
];

describe('a restricted slave (forced command) mirrors into its root and refuses the rest', () => {
  const scope = new Scope();
  let sshd: Sshd;
  let base: string;
  let ctx: Ctx;
  let slaveLog: string;
  let master: string;
  /** A small tree that rsync clients push. */
  let payload: string;

  before(async () => {
    base = await scope.tempDir('slave-restrict');
    ctx = {
      root: path.join(base, 'mirror'),
      outside: path.join(base, 'outside'),
      marker: markerPath('restrict'),
      tmpFile: `${markerPath('restrict')}-log`,
    };
    scope.defer(() => rm(ctx.marker, { force: true }));
    scope.defer(() => rm(ctx.tmpFile, { force: true }));
    slaveLog = path.join(base, 'slave.log');
    master = path.join(base, 'master');
    payload = path.join(base, 'payload');
    mkdirSync(ctx.root);
    mkdirSync(path.join(ctx.outside, 'keep'), { recursive: true });
    writeFileSync(path.join(ctx.outside, 'canary.txt'), 'must stay as it is\n');
    writeFileSync(path.join(ctx.outside, 'keep/deeper.txt'), 'deeper\n');
    symlinkSync(ctx.outside, path.join(ctx.root, 'link-out'));
    writeFileSync(path.join(ctx.root, 'secret.txt'), 'the slave keeps this to itself\n');
    mkdirSync(path.join(payload, 'dir'), { recursive: true });
    writeFileSync(path.join(payload, 'payload.txt'), 'pushed\n');
    writeFileSync(path.join(payload, 'dir/inner.txt'), 'pushed too\n');
    makeHardTree(master);
    sshd = await startSshd({ authorizedKeyOptions: forcedCommandOptions({ roots: [ctx.root], logFile: slaveLog }) });
    scope.defer(() => sshd.stop());
  });
  after(() => scope.close());

  it('mirrors the hard tree through the forced command, live changes and deletes included', { timeout: 120_000 }, async () => {
    const slave = path.join(ctx.root, 'sub');
    const logStart = await fileSize(slaveLog);
    // Through the key, options to gsyncd slave are refused: the forced command sets them.
    const g = await startGsyncd(['-H', '-e', sshd.rsh, '--remote-gsyncd', gsyncdBin, '--batch-delay', '0.2', master, sshd.slaveSpec(slave)]);
    // Disposed here, not at the end of the file: the refusal tests snapshot the root.
    try {
      await mirrorLive(g, slave);
    } finally {
      await g.dispose();
    }

    const slaveLines = await readFrom(slaveLog, logStart);
    assert.doesNotMatch(slaveLines, /refused/i, `the slave refused part of gsyncd's own mirror:\n${slaveLines}`);
    assertNoMarker(ctx.marker);
  });

  async function mirrorLive(g: GsyncdProcess, slave: string): Promise<void> {
    await g.waitForLog('slave channel up', 60_000);
    await g.waitForLog('Changelog Crawl started', 60_000);
    await assertMirrored(master, slave, { hardLinks: true });

    const steps: [string, () => void][] = [
      [
        'create a file and a nested directory',
        () => {
          writeFileSync(path.join(master, 'live-new.txt'), 'created live\n');
          mkdirSync(path.join(master, 'live-dir/a/b'), { recursive: true });
          writeFileSync(path.join(master, 'live-dir/a/b/leaf.txt'), 'leaf\n');
        },
      ],
      [
        'write a file',
        () => {
          writeFileSync(path.join(master, 'plain.txt'), 'rewritten, and longer than before\n');
        },
      ],
      [
        'delete a file',
        () => {
          rmSync(path.join(master, 'zero-length'));
        },
      ],
      [
        'delete a non-empty directory',
        () => {
          rmSync(path.join(master, 'nested'), { recursive: true });
        },
      ],
      [
        'rename a directory',
        () => {
          renameSync(path.join(master, 'dir with space'), path.join(master, 'renamed dir'));
        },
      ],
    ];
    for (const [name, step] of steps) {
      step();
      await assert.doesNotReject(waitForMirror(master, slave, 30_000, { hardLinks: true }), `after "${name}"`);
    }
    assert.equal(g.exit, undefined, `gsyncd exited during the live steps:\n${g.tail()}`);
    await stopAndAssertClean(g);
    await assertMirrored(master, slave, { hardLinks: true });
  }

  it('lets a plain rsync client (gsyncd-like options) write inside the root', { timeout: 60_000 }, async () => {
    const dest = path.join(ctx.root, 'direct/new');
    const r = await exec('rsync', ['-aH', '--delete', '--force', '--mkpath', '--stats', '-e', sshd.rsh, `${payload}/`, sshd.slaveSpec(`${dest}/`)]);
    assert.equal(r.code, 0, `rsync into the root through the key exited ${String(r.code)}:\n${r.stderr}`);
    await assertMirrored(payload, dest);
    await rm(path.join(ctx.root, 'direct'), { recursive: true, force: true });
  });

  /** Runs `run` and checks that nothing changed: the root, the canary dir, the /tmp paths. */
  async function expectNothingWritten(run: () => Promise<ExecResult>, describeRun: string): Promise<ExecResult> {
    const rootBefore = snapshot(ctx.root);
    const outsideBefore = snapshot(ctx.outside);
    const r = await run();
    assert.deepEqual(snapshot(ctx.outside), outsideBefore, `${describeRun} changed the canary dir outside the root`);
    assert.deepEqual(snapshot(ctx.root), rootBefore, `${describeRun} changed the root`);
    assert.equal(existsSync(ctx.tmpFile), false, `${describeRun} wrote ${ctx.tmpFile}`);
    assertNoMarker(ctx.marker);
    return r;
  }

  async function expectRefusalLogged(logStart: number, describeRun: string): Promise<void> {
    await assert.doesNotReject(
      waitForFileLine(slaveLog, logStart, /WARNING.*refused/i, 5_000),
      `${describeRun}: no WARNING … refused line in the slave log ${slaveLog}`,
    );
  }

  for (const c of REFUSALS) {
    it(`refuses ${c.name}: exit 3, one "refused" line, logged, nothing written`, { timeout: 30_000 }, async () => {
      const command = c.command(ctx);
      const logStart = await fileSize(slaveLog);
      const what = `ssh … ${JSON.stringify(command)}`;
      const r = await expectNothingWritten(() => sshCommand(sshd, command), what);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(r.code, 3, `${what} exited ${String(r.code ?? r.signal)}, not 3; stderr:\n${r.stderr}\nstdout:\n${r.stdout}`);
      assert.equal(lines.length, 1, `${what}: expected one line on stderr, got:\n${r.stderr}`);
      assert.match(lines[0] ?? '', /refused/i, `${what}: the stderr line does not say "refused"`);
      assert.equal(r.stdout, '', `${what} printed on stdout:\n${r.stdout}`);
      await expectRefusalLogged(logStart, what);
    });
  }

  for (const c of REFUSALS.filter((x) => x.data !== undefined)) {
    it(`a real rsync client ${c.data === 'pull' ? 'pulling from' : 'pushing to'} "${c.name}" is refused and moves no data`, { timeout: 30_000 }, async () => {
      const command = c.command(ctx);
      const rsh = await substitutingRsh(path.join(base, 'rsh'), sshd, command);
      const pulled = path.join(base, `pulled-${Date.now()}`);
      await mkdir(pulled);
      const args =
        c.data === 'pull'
          ? ['-a', '-e', rsh, 'root@127.0.0.1:ignored/', `${pulled}/`]
          : ['-a', '-e', rsh, `${payload}/`, 'root@127.0.0.1:ignored/'];
      const logStart = await fileSize(slaveLog);
      const what = `rsync ${args.join(' ')} (remote command ${JSON.stringify(command)})`;
      const r = await expectNothingWritten(() => exec('rsync', args), what);
      assert.notEqual(r.code, 0, `${what} succeeded:\n${r.stdout}${r.stderr}`);
      assert.deepEqual(readdirSync(pulled), [], `${what} got data out of the slave`);
      await expectRefusalLogged(logStart, what);
      await rm(pulled, { recursive: true, force: true });
    });
  }

  it('refuses the real rsync client to a target outside the root: non-zero, nothing created', { timeout: 30_000 }, async () => {
    const target = `/tmp/outside-gsyncd-e2e-${process.pid}-${Date.now()}`;
    scope.defer(() => rm(target, { recursive: true, force: true }));
    const logStart = await fileSize(slaveLog);
    const r = await exec('rsync', ['-a', '-e', sshd.rsh, `${payload}/`, sshd.slaveSpec(`${target}/`)]);
    assert.notEqual(r.code, 0, `rsync to ${target} through the restricted key succeeded`);
    assert.equal(readdirSync('/tmp').includes(path.basename(target)), false, `${target} was created`);
    await expectRefusalLogged(logStart, `rsync -a … root@127.0.0.1:${target}/`);
  });

  it('never runs the program that a request names (a fake rsync, a fake gsyncd)', { timeout: 30_000 }, async () => {
    const fakes = path.join(base, 'fakes');
    mkdirSync(fakes);
    for (const name of ['rsync', 'gsyncd']) {
      writeFileSync(path.join(fakes, name), `#!/bin/sh\ntouch ${ctx.marker}\n`, { mode: 0o755 });
    }
    for (const command of [`${fakes}/rsync --server ${CLIENT_FLAGS} . ${ctx.root}/`, `${fakes}/gsyncd slave`]) {
      const r = await sshCommand(sshd, command);
      assert.equal(
        existsSync(ctx.marker),
        false,
        `ssh … ${JSON.stringify(command)} ran the requested program (exit ${String(r.code)}):\n${r.stderr}`,
      );
    }
  });
});
