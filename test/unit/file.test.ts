/** src/config/file.ts: config text → settings and `file:line` problems. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem, parseConfig, type ConfigProblem, type Settings } from '../../src/config/file.js';

const lines = (...ls: string[]): string => ls.join('\n');

/** Parses text that must have no problems. */
const clean = (text: string): ReturnType<typeof parseConfig> => {
  const c = parseConfig(text, 'gsyncd.conf');
  assert.deepEqual(c.problems, []);
  return c;
};

describe('parseConfig: entries', () => {
  // [line, expected top-level settings]
  const CASES: readonly (readonly [string, Settings])[] = [
    ['sync-jobs: 4', { 'sync-jobs': 4 }],
    ['sync-jobs = 4', { 'sync-jobs': 4 }],
    ['sync-jobs:4', { 'sync-jobs': 4 }],
    ['sync-jobs=4', { 'sync-jobs': 4 }],
    ['   sync-jobs  :   4   ', { 'sync-jobs': 4 }],
    ['sync_jobs: 4', { 'sync-jobs': 4 }],
    ['SYNC_JOBS = 4', { 'sync-jobs': 4 }],
    ['rsh: ssh -p 2222', { 'ssh-command': 'ssh -p 2222' }],
    ['ssh-command = ssh -i /root/.ssh/id_ed25519', { 'ssh-command': 'ssh -i /root/.ssh/id_ed25519' }],
    ['once: yes', { once: true }],
    ['delete: no', { delete: false }],
    ['log-level: warn', { 'log-level': 'WARNING' }],
    ['watcher = POLL', { watcher: 'poll' }],
    ['batch-delay: 0.5', { 'batch-delay': 0.5 }],
    // the first ':' or '=' separates; the value keeps the rest
    ['rsync-options: --chmod=u=rwX,go=rX', { 'rsync-options': '--chmod=u=rwX,go=rX' }],
    ['rsync-options = --chmod=u:rwX', { 'rsync-options': '--chmod=u:rwX' }],
    ['rsync-options:', { 'rsync-options': '' }],
    ['state-dir: /var/lib/gsyncd', { 'state-dir': '/var/lib/gsyncd' }],
  ];
  for (const [line, expected] of CASES) {
    it(JSON.stringify(line), () => {
      assert.deepEqual(clean(line).defaults, expected);
    });
  }

  it('lets a later line win for a single-valued option', () => {
    assert.deepEqual(clean(lines('sync-jobs: 2', 'sync_jobs = 5')).defaults, { 'sync-jobs': 5 });
  });

  it('reads nothing from an empty file', () => {
    const c = clean('');
    assert.equal(c.file, 'gsyncd.conf');
    assert.deepEqual(c.defaults, {});
    assert.equal(c.sessions.size, 0);
    assert.equal(c.volumes.size, 0);
  });
});

describe('parseConfig: comments and quoting (ini.unsafe)', () => {
  // [line, expected value of exclude (or of the option named)]
  const CASES: readonly (readonly [string, Settings])[] = [
    ['exclude: *.tmp # temporary files', { 'filter-rules': ['exclude=*.tmp'] }],
    ['exclude: *.tmp ; temporary files', { 'filter-rules': ['exclude=*.tmp'] }],
    ['exclude: *.tmp#x', { 'filter-rules': ['exclude=*.tmp'] }],
    ['exclude: "#*#"', { 'filter-rules': ['exclude=#*#'] }],
    ["exclude: '#*#'", { 'filter-rules': ['exclude=#*#'] }],
    ["exclude: 'a;b'", { 'filter-rules': ['exclude=a;b'] }],
    ['exclude: "a#b"', { 'filter-rules': ['exclude=a#b'] }],
    // ini.unsafe: quotes count only around the whole value; a comment after them ends the value early
    ["exclude: 'a;b' # c", { 'filter-rules': ["exclude='a"] }],
    ['exclude: "a#b" # c', { 'filter-rules': ['exclude="a'] }],
    ['exclude: \\#*\\#', { 'filter-rules': ['exclude=#*#'] }],
    ['exclude: a\\;b', { 'filter-rules': ['exclude=a;b'] }],
    // a backslash before anything else is kept, for rsync's own escapes
    ['exclude: a\\*b', { 'filter-rules': ['exclude=a\\*b'] }],
    // double quotes are JSON
    ['exclude: "a\\"b"', { 'filter-rules': ['exclude=a"b'] }],
    // quotes inside a value are the value's
    ['ssh-command: ssh -o "ProxyCommand=nc %h %p"', { 'ssh-command': 'ssh -o "ProxyCommand=nc %h %p"' }],
    ['exclude: "unterminated', { 'filter-rules': ['exclude="unterminated'] }],
    ['ssh-command: ssh -p 22 ; the port', { 'ssh-command': 'ssh -p 22' }],
    ['sync-jobs: 4 # more is not faster', { 'sync-jobs': 4 }],
  ];
  for (const [line, expected] of CASES) {
    it(JSON.stringify(line), () => {
      assert.deepEqual(clean(line).defaults, expected);
    });
  }

  it('skips comment lines, indented comments, blank lines and CRLF line ends', () => {
    const c = clean(['# a comment', '; another', '   # indented', '', '   ', 'sync-jobs: 4', '  ; x: y'].join('\r\n'));
    assert.deepEqual(c.defaults, { 'sync-jobs': 4 });
  });
});

describe('parseConfig: sections', () => {
  it('puts [session NAME] entries in that session and the top in the defaults', () => {
    const c = clean(lines('sync-jobs: 2', '[session web]', 'sync-jobs: 4', 'once: true', '[session db]', 'batch-delay = 3'));
    assert.deepEqual(c.defaults, { 'sync-jobs': 2 });
    assert.deepEqual([...c.sessions.keys()], ['web', 'db']);
    assert.deepEqual(c.sessions.get('web'), { 'sync-jobs': 4, once: true });
    assert.deepEqual(c.sessions.get('db'), { 'batch-delay': 3 });
  });

  it('reads [vars] and [defaults] as the top of the file, also after a session', () => {
    const c = clean(lines('[session web]', 'sync-jobs: 4', '[vars]', 'sync-jobs: 2', '[defaults]', 'once: yes'));
    assert.deepEqual(c.defaults, { 'sync-jobs': 2, once: true });
    assert.deepEqual(c.sessions.get('web'), { 'sync-jobs': 4 });
  });

  it('accepts any case, spaces inside the brackets and a trailing comment', () => {
    const c = clean(lines('[ Session   my  web ]  # the web mirror', 'sync-jobs: 4', '[VARS] ; top', 'once: yes'));
    assert.deepEqual([...c.sessions.keys()], ['my web']);
    assert.deepEqual(c.sessions.get('my web'), { 'sync-jobs': 4 });
    assert.deepEqual(c.defaults, { once: true });
  });

  it('merges two sections of the same name', () => {
    const c = clean(lines('[session web]', 'sync-jobs: 4', '[session db]', '[session web]', 'once: yes'));
    assert.deepEqual(c.sessions.get('web'), { 'sync-jobs': 4, once: true });
    assert.deepEqual(c.sessions.get('db'), {});
  });

  it('reads master: and slave: of a [session NAME], with the line of its header', () => {
    const c = clean(lines('[session web]', 'master: /srv/www', 'slave = backup@host:/srv/www', 'sync-jobs: 2', '[session half]', 'master: /x', '[session none]'));
    assert.deepEqual(c.endpoints.get('web'), { line: 1, master: '/srv/www', slave: 'backup@host:/srv/www' });
    assert.deepEqual(c.endpoints.get('half'), { line: 5, master: '/x' });
    assert.deepEqual(c.endpoints.get('none'), { line: 7 });
    assert.deepEqual(c.sessions.get('web'), { 'sync-jobs': 2 });
  });

  it('refuses master: and slave: outside a [session NAME]', () => {
    const c = parseConfig(lines('master: /srv', '[volume v]', 'slave: /x', '[session s]', 'master:'), 'f');
    assert.deepEqual(c.problems.map((p) => [p.line, p.message]), [
      [1, 'master: only valid in a [session NAME] section'],
      [3, 'slave: only valid in a [session NAME] section'],
      [5, 'master: expected a directory, got nothing'],
    ]);
  });

  it('reads [volume NAME] with its path and its tunables', () => {
    const c = clean(lines('[volume data]', 'path = /srv/data', 'sync-jobs: 2', '[volume quoted]', 'path: "/srv/with # hash"', '[volume bare]'));
    assert.deepEqual(c.volumes.get('data'), { path: '/srv/data', settings: { 'sync-jobs': 2 } });
    assert.deepEqual(c.volumes.get('quoted'), { path: '/srv/with # hash', settings: {} });
    assert.deepEqual(c.volumes.get('bare'), { path: undefined, settings: {} });
    assert.deepEqual(c.defaults, {});
  });
});

describe('parseConfig: filter keys keep their order across kinds', () => {
  it('collects exclude, include, *-from and filter lines into filter-rules, in line order', () => {
    const c = clean(
      lines(
        'exclude: *.tmp',
        'include: keep.tmp',
        'exclude_from = /etc/gsyncd/excludes',
        'filter: - *.o',
        'include-from: /etc/gsyncd/includes',
        'exclude: cache/',
      ),
    );
    assert.deepEqual(c.defaults, {
      'filter-rules': [
        'exclude=*.tmp',
        'include=keep.tmp',
        'exclude-from=/etc/gsyncd/excludes',
        'filter=- *.o',
        'include-from=/etc/gsyncd/includes',
        'exclude=cache/',
      ],
    });
  });

  it('keeps each section its own list', () => {
    const c = clean(lines('exclude: a', '[session web]', 'include: b', 'exclude: c', '[vars]', 'exclude: d'));
    assert.deepEqual(c.defaults, { 'filter-rules': ['exclude=a', 'exclude=d'] });
    assert.deepEqual(c.sessions.get('web'), { 'filter-rules': ['include=b', 'exclude=c'] });
  });
});

describe('parseConfig: problems', () => {
  // [text, expected problems]
  const CASES: readonly (readonly [string, string, readonly ConfigProblem[]])[] = [
    ['a bad value', 'sync-jobs: x', [{ line: 1, message: 'sync-jobs: expected an integer from 1 to 100, got "x"' }]],
    ['a bad value, after stripping its comment', 'sync-jobs: 0 # none', [{ line: 1, message: 'sync-jobs: expected an integer from 1 to 100, got "0"' }]],
    ['a bad boolean', 'once: perhaps', [{ line: 1, message: 'once: expected true or false, got "perhaps"' }]],
    ['a bad choice', 'watcher: fanotify', [{ line: 1, message: 'watcher: expected one of inotify, native, chokidar, poll, got "fanotify"' }]],
    ['an empty value', 'session:', [{ line: 1, message: 'session: expected a value, got nothing' }]],
    ['an empty filter', 'exclude: # nothing', [{ line: 1, message: 'exclude: expected a value, got nothing' }]],
    ['a misspelt option', 'sync_jbos: 4', [{ line: 1, message: 'sync_jbos: unknown option; did you mean sync-jobs?' }]],
    ['a misspelt option, as typed', 'Log_Lvl = DEBUG', [{ line: 1, message: 'Log_Lvl: unknown option; did you mean log-level?' }]],
    ['an unknown option', 'frobnicate: 1', [{ line: 1, message: 'frobnicate: unknown option' }]],
    ['a path outside a volume', 'path: /srv', [{ line: 1, message: 'path: unknown option' }]],
    ['a flag-only option', 'config-file: /etc/other.conf', [{ line: 1, message: 'config-file: only valid on the command line' }]],
    ['a flag-only option, in any spelling', 'CONFIG_FILE = x', [{ line: 1, message: 'config-file: only valid on the command line' }]],
    ['an unknown section', '[foo]', [{ line: 1, message: 'unknown section [foo]; expected [vars], [session NAME] or [volume NAME]' }]],
    ['a session without a name', '[session]', [{ line: 1, message: 'unknown section [session]; expected [vars], [session NAME] or [volume NAME]' }]],
    ['a volume without a name', '[volume ]', [{ line: 1, message: 'unknown section [volume]; expected [vars], [session NAME] or [volume NAME]' }]],
    ['[vars] with a name', '[vars x]', [{ line: 1, message: 'unknown section [vars x]; expected [vars], [session NAME] or [volume NAME]' }]],
    ['a line that is no entry', 'just words', [{ line: 1, message: 'cannot parse "just words"; expected "option: value"' }]],
    ['an unclosed header', '[session web', [{ line: 1, message: 'cannot parse "[session web"; expected "option: value"' }]],
    ['text after a header', '[session web] x', [{ line: 1, message: 'cannot parse "[session web] x"; expected "option: value"' }]],
    ['a quoted key', '"sync-jobs": 3', [{ line: 1, message: 'cannot parse ""sync-jobs": 3"; expected "option: value"' }]],
    ['an empty volume path', '[volume data]\npath =', [{ line: 2, message: 'path: expected a directory, got nothing' }]],
  ];
  for (const [what, text, expected] of CASES) {
    it(what, () => {
      assert.deepEqual(parseConfig(text, 'gsyncd.conf').problems, expected);
    });
  }

  it('reports every problem with its line number, and still reads the good lines', () => {
    const text = lines(
      '# gsyncd.conf', //                     1
      'sync-jobs: 4', //                      2
      '', //                                  3
      'sync_jbos: 5', //                      4
      '[session web]', //                     5
      'batch-delay: soon', //                 6
      'once: yes', //                         7
      '[nonsense here]', //                   8
      'exclude: lost', //                     9
      '[session db]', //                      10
      'oops', //                              11
      'config-file = /x', //                  12
    );
    const c = parseConfig(text, 'gsyncd.conf');
    assert.deepEqual(c.problems, [
      { line: 4, message: 'sync_jbos: unknown option; did you mean sync-jobs?' },
      { line: 6, message: 'batch-delay: expected a number from 0 to 3600, got "soon"' },
      { line: 8, message: 'unknown section [nonsense here]; expected [vars], [session NAME] or [volume NAME]' },
      { line: 11, message: 'cannot parse "oops"; expected "option: value"' },
      { line: 12, message: 'config-file: only valid on the command line' },
    ]);
    assert.deepEqual(c.defaults, { 'sync-jobs': 4 });
    assert.deepEqual(c.sessions.get('web'), { once: true });
    assert.deepEqual(c.sessions.get('db'), {});
  });

  it('counts lines the same with CRLF line ends', () => {
    const c = parseConfig('# x\r\n\r\nsync-jobs: x\r\n', 'gsyncd.conf');
    assert.deepEqual(c.problems, [{ line: 3, message: 'sync-jobs: expected an integer from 1 to 100, got "x"' }]);
  });

  it('keeps the entries under an unknown section out of the defaults and every session', () => {
    const c = parseConfig(lines('[sesion web]', 'sync-jobs: 9', 'exclude: x'), 'gsyncd.conf');
    assert.equal(c.problems.length, 1);
    assert.deepEqual(c.defaults, {});
    assert.equal(c.sessions.size, 0);
  });
});

describe('formatProblem', () => {
  it('renders file:line: message', () => {
    assert.equal(
      formatProblem('/etc/gsyncd/gsyncd.conf', { line: 12, message: 'sync-jobs: expected an integer from 1 to 100, got "x"' }),
      '/etc/gsyncd/gsyncd.conf:12: sync-jobs: expected an integer from 1 to 100, got "x"',
    );
  });
});
