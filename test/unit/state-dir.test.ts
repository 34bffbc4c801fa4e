/** src/cli/state-dir.ts: session names derived from MASTER and SLAVE. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SESSION_NAME, defaultSessionName } from '../../src/cli/state-dir.js';

describe('defaultSessionName', () => {
  // [master, slave (as describeEndpoint shows it), expected]
  const CASES: readonly (readonly [string, string, string])[] = [
    ['/srv/www', 'backup@host:/srv/www', 'srv-www__backup@host-srv-www'],
    ['/srv/www', '/mnt/backup/www', 'srv-www__mnt-backup-www'],
    ['/srv/www', 'ssh://user@host:2222/p', 'srv-www__user@host-2222-p'],
    ['/srv/www', 'host::vol', 'srv-www__host-vol'],
    ['/srv/www', ':vol', 'srv-www__vol'],
    ['/', '/', 'root__root'],
    ['/data/My Files', 'h:/a b', 'data-My-Files__h-a-b'],
    ['/srv/www.v2', 'h:/x_y', 'srv-www.v2__h-x_y'],
    ['/srv/日本', '/x', 'srv__x'],
  ];
  for (const [master, slave, expected] of CASES) {
    it(`${master} ${slave} → ${expected}`, () => {
      const name = defaultSessionName(master, slave);
      // The readable part, then a hash of the exact pair.
      assert.equal(name.slice(0, -9), expected);
      assert.match(name.slice(-9), /^-[0-9a-f]{8}$/);
      assert.match(name, SESSION_NAME);
    });
  }

  it('shortens a long name to 80 readable characters plus the hash, which tells names apart', () => {
    const master = `/srv/${'a'.repeat(100)}`;
    const one = defaultSessionName(master, '/backup/one');
    const two = defaultSessionName(master, '/backup/two');
    assert.equal(one.length, 89);
    assert.notEqual(one, two);
    assert.match(one, /^srv-a{76}-[0-9a-f]{8}$/);
    assert.match(one, SESSION_NAME);
    assert.equal(defaultSessionName(master, '/backup/one'), one);
  });

  // Two sessions that share a name share a state directory: the saved snapshot and pending
  // set of one would be replayed for the other.
  it('gives different MASTER and SLAVE pairs different names', () => {
    const pairs: readonly (readonly [string, string])[] = [
      ['/srv/www', '/backup'],
      ['/srv-www', '/backup'],
      ['/srv/www ', '/backup'],
      ['/a__b', '/c'],
      ['/a', '/b__c'],
    ];
    const names = pairs.map(([m, s]) => defaultSessionName(m, s));
    assert.equal(new Set(names).size, pairs.length, names.join(' '));
  });
});
