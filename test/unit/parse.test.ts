/** src/endpoint/parse.ts: MASTER and SLAVE specs (CLI.md) → endpoints, and back. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeEndpoint, parseEndpoint, type Endpoint } from '../../src/endpoint/parse.js';

const CWD = '/home/u';

const local = (path: string): Endpoint => ({ kind: 'local', path });
const ssh = (host: string, path: string, user?: string, port?: number): Endpoint => ({ kind: 'ssh', user, host, port, path });
const volume = (name: string, host?: string, user?: string): Endpoint => ({ kind: 'volume', user, host, name });

describe('parseEndpoint: accepted forms', () => {
  // [spec, expected endpoint]
  const CASES: readonly (readonly [string, Endpoint])[] = [
    // local paths
    ['/srv/www', local('/srv/www')],
    ['/srv/www/', local('/srv/www')],
    ['/srv/www///', local('/srv/www')],
    ['/srv//www/./x/..', local('/srv/www')],
    ['/', local('/')],
    ['//', local('/')],
    ['data', local('/home/u/data')],
    ['data/', local('/home/u/data')],
    ['./data', local('/home/u/data')],
    ['../data/', local('/home/data')],
    ['.', local('/home/u')],
    ['a b/c d', local('/home/u/a b/c d')],
    // a colon after a slash is part of a local path, as in rsync
    ['dir/a:b', local('/home/u/dir/a:b')],
    ['./a:b', local('/home/u/a:b')],
    ['[::1:/p', local('/home/u/[::1:/p')],
    // file URLs
    ['file:///srv/www', local('/srv/www')],
    ['file:///srv/www/', local('/srv/www')],
    ['file:///srv/with%20space', local('/srv/with space')],
    ['file://localhost/srv/www', local('/srv/www')],
    // rsync style
    ['host:/srv/www', ssh('host', '/srv/www')],
    ['host:/srv/www/', ssh('host', '/srv/www')],
    ['host:/', ssh('host', '/')],
    ['backup@example.com:/srv/www', ssh('example.com', '/srv/www', 'backup')],
    ['backup@host-1.example.com:/srv/www', ssh('host-1.example.com', '/srv/www', 'backup')],
    ['host:relative', ssh('host', 'relative')],
    ['host:relative/dir/', ssh('host', 'relative/dir')],
    ['user.name@10.0.0.1:/x', ssh('10.0.0.1', '/x', 'user.name')],
    ['host:/path with spaces', ssh('host', '/path with spaces')],
    ['[::1]:/p', ssh('[::1]', '/p')],
    ['user@[fe80::1]:/srv/', ssh('[fe80::1]', '/srv', 'user')],
    // ssh URLs
    ['ssh://host/srv/www', ssh('host', '/srv/www')],
    ['ssh://user@host:2222/path', ssh('host', '/path', 'user', 2222)],
    ['ssh://user@host:2222/path/', ssh('host', '/path', 'user', 2222)],
    ['ssh://host:22/p', ssh('host', '/p', undefined, 22)],
    ['ssh://[::1]:2222/p', ssh('[::1]', '/p', undefined, 2222)],
    ['ssh://host/with%20space', ssh('host', '/with space')],
    ['ssh://us.er@host/p', ssh('host', '/p', 'us.er')],
    // volumes
    ['host::NAME', volume('NAME', 'host')],
    ['user@host::vol-1.x', volume('vol-1.x', 'host', 'user')],
    ['[::1]::vol', volume('vol', '[::1]')],
    [':NAME', volume('NAME')],
    [':data_1', volume('data_1')],
  ];
  for (const [spec, expected] of CASES) {
    it(JSON.stringify(spec), () => {
      assert.deepEqual(parseEndpoint(spec, CWD), { ok: true, endpoint: expected });
    });
  }
});

describe('parseEndpoint: rejected forms', () => {
  // [spec, expected reason]
  const CASES: readonly (readonly [string, string])[] = [
    ['', 'empty'],
    // ssh would read a leading '-' as an option
    ['-oProxyCommand=x:/p', '"-oProxyCommand=x" is not a valid host name'],
    ['user@-oProxyCommand=x:/p', '"-oProxyCommand=x" is not a valid host name'],
    ['-l@host:/p', '"-l" is not a valid user name'],
    ['ssh://-oProxyCommand=x/p', '"-oProxyCommand=x" is not a valid host name'],
    ['@host:/p', '"@host" is not a valid host name'],
    ['ho st:/p', '"ho st" is not a valid host name'],
    ['host:', 'no path after "host:"; use [user@]host:/path'],
    ['user@host:', 'no path after "host:"; use [user@]host:/path'],
    ['host::', '"" is not a valid volume name'],
    ['host::a/b', '"a/b" is not a valid volume name'],
    ['host::-x', '"-x" is not a valid volume name'],
    [':', '"" is not a valid volume name'],
    [':a/b', '"a/b" is not a valid volume name'],
    ['::x', '":x" is not a valid volume name'],
    // NUL bytes
    ['/a\0b', 'a path cannot contain a NUL byte'],
    ['rel\0ative', 'a path cannot contain a NUL byte'],
    ['host:/a\0b', 'a path cannot contain a NUL byte'],
    // URLs
    ['ftp://host/x', 'unsupported URL scheme; use a path, file:// or ssh://'],
    ['http://host/x', 'unsupported URL scheme; use a path, file:// or ssh://'],
    ['rsync://host/module', 'unsupported URL scheme; use a path, file:// or ssh://'],
    ['ssh://host', 'the ssh URL has no path; use ssh://[user@]host[:port]/path'],
    ['ssh://host/', 'the ssh URL has no path; use ssh://[user@]host[:port]/path'],
    ['ssh://user@host:2222', 'the ssh URL has no path; use ssh://[user@]host[:port]/path'],
    ['ssh://', 'the ssh URL has no host'],
    ['ssh://host:99999/p', 'not a valid ssh URL; use ssh://[user@]host[:port]/path'],
    ['ssh://host:port/p', 'not a valid ssh URL; use ssh://[user@]host[:port]/path'],
    ['ssh://user:secret@host/p', 'passwords in ssh URLs are not supported; use a key'],
    ['ssh://us%20er@host/p', '"us er" is not a valid user name'],
    ['file://host/x', 'not a valid file URL (File URL host must be "localhost" or empty on linux); use file:///absolute/path'],
    ['file:///a%2Fb', 'not a valid file URL (File URL path must not include encoded / characters); use file:///absolute/path'],
  ];
  for (const [spec, reason] of CASES) {
    it(`${JSON.stringify(spec)}: ${reason}`, () => {
      assert.deepEqual(parseEndpoint(spec, CWD), { ok: false, reason });
    });
  }

  // A malformed %-escape must be a reason, not an exception that escapes the parser.
  for (const spec of ['ssh://host/%zz', 'ssh://host/a%E0%A4', 'ssh://%zz@host/p']) {
    it(`${JSON.stringify(spec)} is rejected, not thrown`, () => {
      let result;
      assert.doesNotThrow(() => {
        result = parseEndpoint(spec, CWD);
      });
      assert.equal((result as ReturnType<typeof parseEndpoint> | undefined)?.ok, false);
    });
  }

  // A NUL byte is refused in every form, also when it arrives %-encoded.
  for (const spec of ['ssh://host/a%00b', 'file:///a%00b']) {
    it(`${JSON.stringify(spec)}: a path cannot contain a NUL byte`, () => {
      assert.deepEqual(parseEndpoint(spec, CWD), { ok: false, reason: 'a path cannot contain a NUL byte' });
    });
  }
});

describe('describeEndpoint', () => {
  // [endpoint, expected]
  const CASES: readonly (readonly [Endpoint, string])[] = [
    [local('/srv/www'), '/srv/www'],
    [local('/'), '/'],
    [ssh('host', '/srv/www'), 'host:/srv/www'],
    [ssh('host', '/srv/www', 'backup'), 'backup@host:/srv/www'],
    [ssh('host', 'relative'), 'host:relative'],
    [ssh('host', '/p', 'user', 2222), 'ssh://user@host:2222/p'],
    [ssh('host', '/p', undefined, 22), 'ssh://host:22/p'],
    [ssh('[::1]', '/p'), '[::1]:/p'],
    [volume('NAME'), ':NAME'],
    [volume('NAME', 'host'), 'host::NAME'],
    [volume('NAME', 'host', 'user'), 'user@host::NAME'],
  ];
  for (const [endpoint, expected] of CASES) {
    it(expected, () => {
      assert.equal(describeEndpoint(endpoint), expected);
    });
  }

  it('gives back a spec that parses to the same endpoint', () => {
    for (const spec of ['/srv/www', 'backup@host:/srv/www', 'host:rel', 'ssh://u@h:2222/p', 'ssh://[::1]:22/p', '[::1]:/p', 'host::v', 'u@h::v', ':v']) {
      const first = parseEndpoint(spec, CWD);
      assert.ok(first.ok, spec);
      assert.deepEqual(parseEndpoint(describeEndpoint(first.endpoint), CWD), first, spec);
    }
  });
});
