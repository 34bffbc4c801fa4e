// conf/gsyncd@.service passes `systemd-analyze verify` without a warning, as an instance
// (gsyncd@web.service), with ExecStart pointed at this checkout's gsyncd (verify insists that
// the program exists). Skipped where systemd-analyze is not installed.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { exec } from '../helpers/exec.js';
import { gsyncdBin, repoRoot } from '../helpers/gsyncd.js';
import { scopeFor } from '../helpers/scope.js';

const UNIT = path.join(repoRoot, 'conf', 'gsyncd@.service');

describe('the systemd template unit', () => {
  it('passes systemd-analyze verify with no warning, and runs one session per instance', async (t) => {
    const which = await exec('sh', ['-c', 'command -v systemd-analyze']);
    if (which.code !== 0) {
      t.skip('systemd-analyze is not installed');
      return;
    }
    const text = readFileSync(UNIT, 'utf8');
    assert.match(text, /^ExecStart=\/usr\/local\/bin\/gsyncd .*--session %i/m);
    assert.match(text, /^Restart=on-failure$/m);
    assert.match(text, /^RestartPreventExitStatus=2$/m);
    assert.match(text, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    const dir = await scopeFor(t).tempDir('unit');
    const instance = path.join(dir, 'gsyncd@web.service');
    writeFileSync(instance, text.replace('/usr/local/bin/gsyncd', gsyncdBin));
    const r = await exec('systemd-analyze', ['verify', instance]);
    assert.equal(r.code, 0, r.stderr);
    // verify only warns about what it cannot parse: a warning is a defect of the unit.
    assert.equal(r.stderr.split('\n').filter((l) => l.includes('gsyncd@web.service')).join('\n'), '');
  });

  it('a broken line is caught: the check above can fail', async (t) => {
    const which = await exec('sh', ['-c', 'command -v systemd-analyze']);
    if (which.code !== 0) {
      t.skip('systemd-analyze is not installed');
      return;
    }
    const dir = await scopeFor(t).tempDir('unit-bad');
    const instance = path.join(dir, 'gsyncd@bad.service');
    writeFileSync(instance, readFileSync(UNIT, 'utf8').replace('/usr/local/bin/gsyncd', gsyncdBin).replace('Restart=on-failure', 'Restart=sometimes'));
    const r = await exec('systemd-analyze', ['verify', instance]);
    assert.match(r.stderr, /gsyncd@bad\.service:\d+: Failed to parse service restart specifier/);
  });
});
