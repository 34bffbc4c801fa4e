/** src/sync/rsync-argv.ts: rsync's argv, built purely; paths go on stdin, NUL-separated. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { batchArgv, deleteArgv, filesFromInput, fullSyncArgv, listSlaveArgv } from '../../src/sync/rsync-argv.js';
import { rsyncPlan } from '../helpers/rsync-plan.js';

const plan = rsyncPlan;
const flags = (...names: string[]): ReadonlySet<string> => new Set(names);
const TAIL = ['--stats', '--no-human-readable', '--', '/srv/master/', '/srv/slave/'];

describe('batchArgv', () => {
  it('sends listed files whatever their size and mtime when asked (--ignore-times)', () => {
    assert.deepEqual(batchArgv(plan(), { ignoreTimes: true }), ['-a', '--ignore-times', '--force', '--ignore-missing-args', '--files-from=-', '--from0', ...TAIL]);
    assert.ok(!batchArgv(plan(), { recursive: true }).includes('--ignore-times'));
  });

  it('a flat batch: -a, a listed path gone since skipped (its delete event follows), the list on stdin', () => {
    assert.deepEqual(batchArgv(plan()), ['-a', '--force', '--ignore-missing-args', '--files-from=-', '--from0', ...TAIL]);
  });

  it('a recursive batch: -r, and --delete inside the listed directories', () => {
    assert.deepEqual(batchArgv(plan(), { recursive: true }), ['-a', '-r', '--delete', '--force', '--ignore-missing-args', '--files-from=-', '--from0', ...TAIL]);
  });

  it('with ignoreDeletes: no --delete, --force or --max-delete', () => {
    const p = plan({ ignoreDeletes: true, maxDelete: 5 });
    assert.deepEqual(batchArgv(p), ['-a', '--ignore-missing-args', '--files-from=-', '--from0', ...TAIL]);
    assert.deepEqual(batchArgv(p, { recursive: true }), ['-a', '-r', '--ignore-missing-args', '--files-from=-', '--from0', ...TAIL]);
  });

  it('a run that deletes what is gone: --delete-missing-args (not with ignoreDeletes)', () => {
    assert.deepEqual(batchArgv(plan(), { ignoreTimes: true, deleteMissing: true }), ['-a', '--ignore-times', '--force', '--delete-missing-args', '--files-from=-', '--from0', ...TAIL]);
    assert.ok(!batchArgv(plan({ ignoreDeletes: true }), { deleteMissing: true }).includes('--delete-missing-args'));
    assert.ok(!deleteArgv(plan()).includes('--delete-missing-args'));
  });

  it('passes --max-delete=N', () => {
    assert.deepEqual(batchArgv(plan({ maxDelete: 5 })), [
      '-a', '--force', '--max-delete=5', '--ignore-missing-args', '--files-from=-', '--from0', ...TAIL,
    ]);
    assert.ok(batchArgv(plan({ maxDelete: 0 }), { recursive: true }).includes('--max-delete=0'));
  });

  // [flags given, expected transfer flags of a flat batch, of a recursive one]
  const TRANSFER: readonly (readonly [readonly string[], readonly string[], readonly string[]])[] = [
    [[], ['-a'], ['-a', '-r']],
    [['archive'], ['-a'], ['-a', '-r']],
    // -a's parts one by one: no -a
    [['times'], ['-t'], ['-t', '-r']],
    [['links', 'perms'], ['-l', '-p'], ['-l', '-p', '-r']],
    [['owner', 'group', 'times', 'perms', 'links', 'devices-specials'], ['-l', '-p', '-t', '-g', '-o', '-D'], ['-l', '-p', '-t', '-g', '-o', '-D', '-r']],
    // -r is decided per run, whatever was given
    [['recursive'], [], ['-r']],
    [['recursive', 'times'], ['-t'], ['-t', '-r']],
    // -a with some of its parts: just -a
    [['archive', 'times', 'recursive'], ['-a'], ['-a', '-r']],
    // the rest go with -a
    [['hard-links', 'acls', 'xattrs', 'compress', 'dry-run', 'verbose', 'quiet'], ['-a', '-H', '-A', '-X', '-z', '-n', '-v', '-q'], ['-a', '-H', '-A', '-X', '-z', '-n', '-v', '-q', '-r']],
    [['checksum', 'numeric-ids', 'partial'], ['-a', '--checksum', '--numeric-ids', '--partial'], ['-a', '--checksum', '--numeric-ids', '--partial', '-r']],
    [['times', 'compress', 'checksum'], ['-t', '-z', '--checksum'], ['-t', '-z', '--checksum', '-r']],
  ];
  for (const [given, flat, recursive] of TRANSFER) {
    it(`transfer flags for ${given.join(' ') || 'nothing'}: ${flat.join(' ') || 'none'}`, () => {
      const deletes = ['--force', '--ignore-missing-args'];
      assert.deepEqual(batchArgv(plan({ flags: flags(...given) })), [...flat, ...deletes, '--files-from=-', '--from0', ...TAIL]);
      assert.deepEqual(batchArgv(plan({ flags: flags(...given) }), { recursive: true }), [
        ...recursive, '--delete', ...deletes, '--files-from=-', '--from0', ...TAIL,
      ]);
    });
  }

  it('puts the options, extra arguments, filters in order, -e and --rsync-path before --', () => {
    const argv = batchArgv(
      plan({
        bwlimit: '1.5m',
        timeout: 30,
        extra: ['--chmod=u+rwX', '--itemize-changes'],
        filters: [
          { kind: 'exclude', value: '*.tmp' },
          { kind: 'include', value: 'keep.tmp' },
          { kind: 'filter', value: '- *.o' },
          { kind: 'exclude-from', value: '/etc/x' },
        ],
        rsh: 'ssh -o ControlPath=/tmp/x -p 2222',
        rsyncPath: '/opt/bin/rsync',
        dest: 'backup@host:/srv/slave/',
      }),
    );
    assert.deepEqual(argv, [
      '-a',
      '--force',
      '--ignore-missing-args',
      '--files-from=-',
      '--from0',
      '--bwlimit=1.5m',
      '--timeout=30',
      '--chmod=u+rwX',
      '--itemize-changes',
      '--exclude=*.tmp',
      '--include=keep.tmp',
      '--filter=- *.o',
      '--exclude-from=/etc/x',
      '-e',
      'ssh -o ControlPath=/tmp/x -p 2222',
      '--rsync-path=/opt/bin/rsync',
      '--stats',
      '--no-human-readable',
      '--',
      '/srv/master/',
      'backup@host:/srv/slave/',
    ]);
  });

  it('passes --timeout=0', () => {
    assert.ok(batchArgv(plan({ timeout: 0 })).includes('--timeout=0'));
  });

  it('ends with --, the source and the destination, even when they start with -', () => {
    const argv = batchArgv(plan({ source: '-src/', dest: '-dst/' }), { recursive: true });
    assert.deepEqual(argv.slice(-3), ['--', '-src/', '-dst/']);
    assert.equal(argv.indexOf('--'), argv.length - 3);
  });
});

describe('deleteArgv', () => {
  it('lists parents without -r, with --delete and --force, the list on stdin', () => {
    assert.deepEqual(deleteArgv(plan()), ['-a', '--delete', '--force', '--ignore-missing-args', '--files-from=-', '--from0', ...TAIL]);
    assert.deepEqual(deleteArgv(plan({ maxDelete: 3 }), false), ['-a', '--delete', '--force', '--max-delete=3', '--ignore-missing-args', '--files-from=-', ...TAIL]);
  });
});

describe('fullSyncArgv', () => {
  it('recurses, deletes extraneous files with --force, and creates the slave root with --mkpath', () => {
    assert.deepEqual(fullSyncArgv(plan()), ['-a', '-r', '--delete', '--force', '--mkpath', '--info=progress2', ...TAIL]);
  });

  it('with --max-delete', () => {
    assert.deepEqual(fullSyncArgv(plan({ maxDelete: 10 })), ['-a', '-r', '--delete', '--force', '--max-delete=10', '--mkpath', '--info=progress2', ...TAIL]);
  });

  it('with ignoreDeletes: no deletes at all', () => {
    assert.deepEqual(fullSyncArgv(plan({ ignoreDeletes: true, maxDelete: 10 })), ['-a', '-r', '--mkpath', '--info=progress2', ...TAIL]);
  });

  it('takes no list from stdin', () => {
    const argv = fullSyncArgv(plan());
    assert.ok(!argv.includes('--files-from=-'));
    assert.ok(!argv.includes('--from0'));
    assert.ok(!argv.includes('--delete-missing-args'));
  });

  it('with the remote shell, rsync path and filters', () => {
    assert.deepEqual(
      fullSyncArgv(plan({ flags: flags('times'), rsh: 'ssh', rsyncPath: 'rsync', filters: [{ kind: 'exclude', value: 'x' }] })),
      ['-t', '-r', '--delete', '--force', '--mkpath', '--info=progress2', '--exclude=x', '-e', 'ssh', '--rsync-path=rsync', ...TAIL],
    );
  });
});

describe('listSlaveArgv', () => {
  it('lists the top level of the slave root', () => {
    assert.deepEqual(listSlaveArgv(plan()), ['--list-only', '--dirs', '--', '/srv/slave/']);
  });

  it('through the remote shell', () => {
    assert.deepEqual(listSlaveArgv(plan({ rsh: 'ssh -p 2222', rsyncPath: '/opt/rsync', dest: 'h:/x/' })), [
      '--list-only', '--dirs', '-e', 'ssh -p 2222', '--rsync-path=/opt/rsync', '--', 'h:/x/',
    ]);
  });
});

describe('filesFromInput', () => {
  // [paths, expected stdin]
  const CASES: readonly (readonly [string, readonly (string | Buffer)[], Buffer])[] = [
    ['nothing', [], Buffer.alloc(0)],
    ['a file', ['a'], Buffer.from('./a\0')],
    ['nested paths', ['a/b/c', 'd'], Buffer.from('./a/b/c\0./d\0')],
    // rsync skips --files-from entries that begin with # or ;, even with --from0
    ['names rsync would read as comments', ['#x', ';x'], Buffer.from('./#x\0./;x\0')],
    ['a leading dash', ['-rf'], Buffer.from('./-rf\0')],
    ['newlines, spaces, quotes and wildcards', ['a\nb', ' sp ace ', `q"'`, '*?[]'], Buffer.from(`./a\nb\0./ sp ace \0./q"'\0./*?[]\0`)],
    ['UTF-8', ['é/日本'], Buffer.from('./é/日本\0', 'utf8')],
    ['a name that is not valid UTF-8, as bytes', [Buffer.from([0x66, 0xff, 0xfe])], Buffer.from([0x2e, 0x2f, 0x66, 0xff, 0xfe, 0])],
    ['the root', [''], Buffer.from('.\0')],
    ['the root among others', ['a', '', Buffer.from('b')], Buffer.from('./a\0.\0./b\0')],
  ];
  for (const [what, paths, expected] of CASES) {
    it(what, () => {
      assert.deepEqual(filesFromInput(paths), expected);
    });
  }
});
