// Usage and configuration errors: exit status 2, one `gsyncd: ` line on stderr naming the
// culprit (the option, the operand, or `file:line` in a config file), and nothing synced.
// rsync or ssh missing is a runtime error instead: exit 1, naming the program and its package.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { describeExit, runGsyncd, type RunResult } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor, type Layout } from '../helpers/scope.js';
import { makeSmallTree } from '../helpers/tree.js';

/** Asserts exit 2 and a `gsyncd: ` line matching every pattern; returns that line. */
function assertUsageError(run: RunResult, ...patterns: (RegExp | string)[]): string {
  const output = `${run.stderr}\n[stdout]\n${run.stdout}`;
  assert.equal(run.code, 2, `expected exit 2, got ${describeExit(run)}:\n${output}`);
  const lines = run.stderr.split('\n').filter((line) => line.startsWith('gsyncd: '));
  const matching = lines.find((line) =>
    patterns.every((p) => (typeof p === 'string' ? line.includes(p) : p.test(line))),
  );
  assert.ok(
    matching !== undefined,
    `no stderr line starting with "gsyncd: " matches ${patterns.map(String).join(' and ')}:\n${output}`,
  );
  return matching;
}

async function setup(t: Parameters<typeof scopeFor>[0], label: string): Promise<Layout> {
  const layout = await makeLayout(scopeFor(t), label);
  makeSmallTree(layout.master);
  return layout;
}

function assertSlaveEmpty(layout: Layout): void {
  assert.deepEqual(readdirSync(layout.slave), [], 'a usage error must not sync anything');
}

describe('usage errors exit 2 and name the culprit', () => {
  it('an unknown flag', async (t) => {
    const layout = await setup(t, 'bogus');
    const run = await runGsyncd(['--bogus', layout.master, layout.slave]);
    assertUsageError(run, '--bogus');
    assertSlaveEmpty(layout);
  });

  it('a value that is not a number: --sync-jobs x', async (t) => {
    const layout = await setup(t, 'sync-jobs');
    const run = await runGsyncd(['--sync-jobs', 'x', layout.master, layout.slave]);
    assertUsageError(run, 'sync-jobs', /\bx\b/);
    assertSlaveEmpty(layout);
  });

  it('a value outside the choices: --watcher foo', async (t) => {
    const layout = await setup(t, 'watcher');
    const run = await runGsyncd(['--watcher', 'foo', layout.master, layout.slave]);
    assertUsageError(run, 'watcher', 'foo');
    assertSlaveEmpty(layout);
  });

  it('a master directory that does not exist', async (t) => {
    const layout = await setup(t, 'no-master');
    const missing = path.join(layout.base, 'no-such-master');
    const run = await runGsyncd([missing, layout.slave]);
    assertUsageError(run, missing);
    assertSlaveEmpty(layout);
  });

  it('a missing SLAVE operand', async (t) => {
    const layout = await setup(t, 'no-slave');
    const run = await runGsyncd([layout.master]);
    assertUsageError(run, /slave/i);
  });

  it('a config file line that is not "option: value"', async (t) => {
    const layout = await setup(t, 'conf-syntax');
    const conf = path.join(layout.base, 'broken.conf');
    writeFileSync(conf, '# a gsyncd config\nsync-jobs: 2\n\nthis line is not an option\n');
    const run = await runGsyncd(['-c', conf, layout.master, layout.slave]);
    assertUsageError(run, `${conf}:4`);
    assertSlaveEmpty(layout);
  });

  it('a config file option with a bad value', async (t) => {
    const layout = await setup(t, 'conf-value');
    const conf = path.join(layout.base, 'value.conf');
    writeFileSync(conf, '# a gsyncd config\n\nsync-jobs: x\n');
    const run = await runGsyncd(['--config-file', conf, layout.master, layout.slave]);
    assertUsageError(run, `${conf}:3`, 'sync-jobs');
    assertSlaveEmpty(layout);
  });

  it('a config file with an unknown option', async (t) => {
    const layout = await setup(t, 'conf-unknown');
    const conf = path.join(layout.base, 'unknown.conf');
    writeFileSync(conf, 'log-level: INFO\nno-such-option: 1\n');
    const run = await runGsyncd(['-c', conf, layout.master, layout.slave]);
    assertUsageError(run, `${conf}:2`, 'no-such-option');
    assertSlaveEmpty(layout);
  });

  // Root reads any file whatever its mode, so "unreadable" is made from what cannot be read
  // as a file at all: a missing path and a directory.
  it('a config file that does not exist', async (t) => {
    const layout = await setup(t, 'conf-missing');
    const conf = path.join(layout.base, 'missing.conf');
    const run = await runGsyncd(['-c', conf, layout.master, layout.slave]);
    assertUsageError(run, conf);
    assertSlaveEmpty(layout);
  });

  it('a config file that is a directory', async (t) => {
    const layout = await setup(t, 'conf-dir');
    const run = await runGsyncd(['-c', layout.outside, layout.master, layout.slave]);
    assertUsageError(run, layout.outside);
    assertSlaveEmpty(layout);
  });

  it('a volume slave host::NAME with --remote-gsyncd none (only the gsyncd of the slave can resolve it)', async (t) => {
    const layout = await setup(t, 'volume-slave');
    const run = await runGsyncd(['--remote-gsyncd', 'none', layout.master, 'localhost::backupvol']);
    assertUsageError(run, /localhost::backupvol.*--remote-gsyncd none/);
  });

  it('an unknown volume as master :NAME', async (t) => {
    const layout = await setup(t, 'volume-master');
    const run = await runGsyncd([':mastervol', layout.slave]);
    assertUsageError(run, /mastervol|:NAME|volume/i);
    assertSlaveEmpty(layout);
  });

  it('a misspelt option, on the command line and in a config file: the suggestion names the right one', async (t) => {
    const layout = await setup(t, 'misspelt');
    assertUsageError(await runGsyncd(['--sync_jbos', '3', layout.master, layout.slave]), '--sync_jbos', 'sync-jobs');
    const conf = path.join(layout.base, 'misspelt.conf');
    writeFileSync(conf, '# a comment\nsync_jbos: 3\n');
    assertUsageError(await runGsyncd(['-c', conf, layout.master, layout.slave]), `${conf}:2`, 'sync_jbos: unknown option; did you mean sync-jobs?');
    assertSlaveEmpty(layout);
  });

  const badSlaves: readonly (readonly [string, RegExp])[] = [
    ['host:', /no path after "host:"/],
    ['ssh://host:99999/x', /not a valid ssh URL/],
    ['ssh://host/', /has no path/],
    ['user@:/x', /not a valid host name/],
    ['host::', /not a valid volume name/],
    ['file://relative/x', /not a valid file URL/],
  ];
  for (const [slave, why] of badSlaves) {
    it(`a SLAVE of no known form: ${slave}`, async (t) => {
      const layout = await setup(t, 'bad-slave');
      assertUsageError(await runGsyncd(['--once', layout.master, slave]), `SLAVE ${slave}`, why);
    });
  }

  for (const [what, flag, pkg] of [['range', '--retry-attempts', '0'], ['number', '--retry-max-delay', 'soon']] as const) {
    it(`a ${what} error on a new tunable: ${flag} ${pkg}`, async (t) => {
      const layout = await setup(t, 'bad-retry');
      assertUsageError(await runGsyncd([flag, pkg, layout.master, layout.slave]), flag, `"${pkg}"`);
      assertSlaveEmpty(layout);
    });
  }
});

// rsync's everyday flags (issue 15): a malformed value names the flag, on the command line
// and as file:line in a config file. The whole of stderr is that one line.
describe('rsync flags malformed: exit 2, one line', () => {
  const cases: readonly (readonly [string, readonly string[], string])[] = [
    ['--iconv with three charsets', ['--iconv=utf8,latin1,x'], 'gsyncd: --iconv: expected LOCAL,REMOTE charsets as iconv names them (e.g. utf8,latin1), or ., got "utf8,latin1,x"'],
    ['--max-size with a bad size', ['--max-size=1x'], 'gsyncd: --max-size: expected a size as rsync takes it (e.g. 500, 1.5M, 1G), got "1x"'],
    ['--backup-dir outside the slave root', ['--backup-dir=/var/backups'], 'gsyncd: --backup-dir: expected a path relative to the slave root, without .. or wildcards, got "/var/backups"'],
    ['-T with ..', ['-T', '../tmp'], 'gsyncd: --temp-dir: expected a path relative to the slave root, without .. or wildcards, got "../tmp"'],
    ['--chmod with a bad rule', ['--chmod=a+q'], 'gsyncd: --chmod: expected'],
  ];
  for (const [what, flags, line] of cases) {
    it(what, async (t) => {
      const layout = await setup(t, 'rsync-flag');
      const run = await runGsyncd([...flags, layout.master, layout.slave]);
      assertUsageError(run, line);
      assert.equal(run.stderr.trimEnd().split('\n').length, 1, `one line:\n${run.stderr}`);
      assert.ok(run.stderr.startsWith(line), `stderr starts with ${JSON.stringify(line)}:\n${run.stderr}`);
      assertSlaveEmpty(layout);
    });
  }

  it('a malformed flag in a config file names file:line', async (t) => {
    const layout = await setup(t, 'rsync-flag-conf');
    const conf = path.join(layout.base, 'flags.conf');
    writeFileSync(conf, 'archive: true\nmax-size: 1x\n');
    const run = await runGsyncd(['-c', conf, layout.master, layout.slave]);
    assertUsageError(run, `gsyncd: ${conf}:2: max-size: expected a size as rsync takes it`);
    assertSlaveEmpty(layout);
  });

  it('a bad filter rule in a config file names file:line', async (t) => {
    const layout = await setup(t, 'filter-conf');
    const conf = path.join(layout.base, 'filters.conf');
    writeFileSync(conf, 'archive: true\nexclude: *.tmp\n\nfilter: -z x\n');
    const run = await runGsyncd(['-c', conf, layout.master, layout.slave]);
    assertUsageError(run, `gsyncd: ${conf}:4: filter: invalid modifier "z" at position 1 in filter rule "-z x"`);
    assert.equal(run.stderr.trimEnd().split('\n').length, 1, `one line:\n${run.stderr}`);
    assertSlaveEmpty(layout);
  });

  it('-L with a link inside what it points at: refused before anything is sent', async (t) => {
    const layout = await setup(t, 'copy-links-loop');
    mkdirSync(path.join(layout.master, 'sub'));
    symlinkSync('..', path.join(layout.master, 'sub/up'));
    for (const flags of [['-aL', '--once'], ['-ak']]) {
      const run = await runGsyncd([...flags, layout.master, layout.slave]);
      assertUsageError(run, 'gsyncd: -L/-k: the symlink "sub/up" points at a directory that holds it, which rsync would copy into itself without end; exclude it (--exclude=/sub/up) or mirror links as links');
      assertSlaveEmpty(layout);
    }
    // A link above the master root, and two links that hold each other.
    rmSync(path.join(layout.master, 'sub/up'));
    symlinkSync('..', path.join(layout.master, 'parent'));
    const above = await runGsyncd(['-aL', '--once', layout.master, layout.slave]);
    assertUsageError(above, 'gsyncd: -L/-k: the symlink "parent" points at a directory that holds it');
    rmSync(path.join(layout.master, 'parent'));
    mkdirSync(path.join(layout.master, 'x'));
    mkdirSync(path.join(layout.master, 'y'));
    symlinkSync('../y', path.join(layout.master, 'x/l'));
    symlinkSync('../x', path.join(layout.master, 'y/m'));
    const web = await runGsyncd(['-aL', '--once', layout.master, layout.slave]);
    assertUsageError(web, 'gsyncd: -L/-k: the symlink "x/l" points at a directory that holds it (and 1 more)');
    assertSlaveEmpty(layout);
  });

  it("rsync's -c (--checksum) in a cluster: the message says -c is --config-file here", async (t) => {
    const layout = await setup(t, 'rsync-flag-c');
    const run = await runGsyncd(['-ac', layout.master, layout.slave]);
    assertUsageError(run, `--config-file ${layout.master}: cannot read config file: is a directory (gsyncd's -c is --config-file; rsync's -c is --checksum here)`);
    assertSlaveEmpty(layout);
  });
});

describe('missing programs: exit 1, the message names the program and the package', () => {
  it('rsync not installed (--rsync-command names nothing that runs)', async (t) => {
    const layout = await setup(t, 'no-rsync');
    const run = await runGsyncd(['--once', '--rsync-command', '/nonexistent/rsync', layout.master, layout.slave]);
    assert.equal(run.code, 1, `${describeExit(run)}\n${run.stderr}`);
    assert.match(run.stderr, /^gsyncd: \/nonexistent\/rsync: not found or not executable; install the rsync package/m);
    assertSlaveEmpty(layout);
  });

  it('ssh not installed (-e names nothing that runs)', async (t) => {
    const layout = await setup(t, 'no-ssh');
    const run = await runGsyncd(['--once', '-e', '/nonexistent/ssh', layout.master, `localhost:${layout.slave}`]);
    assert.equal(run.code, 1, `${describeExit(run)}\n${run.stderr}`);
    assert.match(run.stderr, /^gsyncd: \/nonexistent\/ssh: not found or not executable; install the openssh-client package/m);
    assertSlaveEmpty(layout);
  });

  it('perl not installed (the default watcher runs its inotify helper with it)', async (t) => {
    const layout = await setup(t, 'no-perl');
    // A PATH with rsync on it and no perl.
    const bin = path.join(layout.outside, 'bin');
    mkdirSync(bin);
    symlinkSync('/usr/bin/rsync', path.join(bin, 'rsync'));
    const run = await runGsyncd([layout.master, layout.slave], { env: { PATH: bin } });
    assert.equal(run.code, 1, `${describeExit(run)}\n${run.stderr}`);
    assert.match(run.stderr, /^gsyncd: perl: not found on the PATH; --watcher inotify runs its inotify helper with it, or choose --watcher native \(install the perl-base package\)$/m);
    assertSlaveEmpty(layout);
  });
});

// One line on stderr for a failure, whatever the log destination; a log file keeps its own copy.
describe('a failure is one line on stderr', () => {
  const closedPort = async (): Promise<number> => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    return port;
  };

  for (const log of ['stderr', 'file', 'stdout'] as const) {
    it(`an unreachable slave, the log on ${log}: exit 3, one error line`, { timeout: 60_000 }, async (t) => {
      const layout = await setup(t, `unreachable-${log}`);
      const logFile = path.join(layout.base, 'gsyncd.log');
      const port = await closedPort();
      const logArgs = log === 'file' ? ['--log-file', logFile] : log === 'stdout' ? ['--log-file', '-'] : [];
      const run = await runGsyncd([...logArgs, '-e', `ssh -p ${String(port)} -o BatchMode=yes -o ConnectTimeout=5`, layout.master, `127.0.0.1:${layout.slave}`]);
      assert.equal(run.code, 3, `expected exit 3, got ${describeExit(run)}:\n${run.stderr}`);
      const errors = run.stderr.split('\n').filter((l) => /^gsyncd: | ERROR /.test(l));
      assert.equal(errors.length, 1, `one error line on stderr:\n${run.stderr}`);
      assert.match(errors[0] ?? '', new RegExp(`^gsyncd: slave 127\\.0\\.0\\.1:${layout.slave.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} unreachable: .*Connection refused`));
      if (log === 'file') assert.match(readFileSync(logFile, 'utf8'), / ERROR +slave 127\.0\.0\.1:\S+ unreachable: /, 'the log file keeps its copy');
      if (log === 'stdout') assert.match(run.stdout, / ERROR +slave 127\.0\.0\.1:\S+ unreachable: /, 'the log on stdout keeps its copy');
      assertSlaveEmpty(layout);
    });
  }
});
