// The built `gsyncd slave` replaying entry operations over its channel (stdin and stdout,
// as ssh gives them): its hello lists the operations it replays, a rename keeps the inode,
// a request through a symlink that leads out of the root is refused and writes nothing, and
// the answers come back in the order asked.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { gsyncdBin } from '../helpers/gsyncd.js';

describe('gsyncd slave: entry operations', () => {
  for (const restrict of [false, true]) {
    it(`renames inside the root and refuses a way out${restrict ? ' (forced-command mode)' : ''}`, { timeout: 30_000 }, async (t) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'gsyncd-slave-entry-'));
      t.after(() => {
        rmSync(dir, { recursive: true, force: true });
      });
      const root = path.join(dir, 'root');
      const outside = path.join(dir, 'outside');
      mkdirSync(path.join(root, 'big'), { recursive: true });
      mkdirSync(outside);
      writeFileSync(path.join(root, 'big/1'), 'one');
      writeFileSync(path.join(root, 'f'), 'file');
      symlinkSync(outside, path.join(root, 'out'));
      const before = lstatSync(path.join(root, 'big')).ino;
      const args = [gsyncdBin, 'slave', '--log-file', path.join(dir, 'slave.log'), ...(restrict ? ['--restrict', '--root', root] : [])];
      const env = { ...process.env, ...(restrict ? { SSH_ORIGINAL_COMMAND: 'gsyncd slave' } : {}) };
      const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      t.after(() => child.kill('SIGKILL'));
      const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const ask = async (m: object): Promise<Record<string, unknown>> => {
        child.stdin.write(`${JSON.stringify(m)}\n`);
        const r = await replies.next();
        assert.equal(r.done, false, 'the slave closed the channel');
        return JSON.parse(r.value) as Record<string, unknown>;
      };
      const hello = await ask({ type: 'hello', protocol: 1, version: 'test', root });
      assert.deepEqual(hello['entry_ops'], ['rename', 'link']);
      assert.deepEqual(await ask({ type: 'entry', id: 1, op: 'rename', from: 'big', to: 'big2' }), { type: 'entry', id: 1, result: 'done' });
      assert.equal(lstatSync(path.join(root, 'big2')).ino, before);
      const out = await ask({ type: 'entry', id: 2, op: 'rename', from: 'f', to: 'out/f' });
      assert.equal(out['result'], 'refused');
      assert.match(String(out['reason']), /out is a symlink on the slave/);
      const up = await ask({ type: 'entry', id: 3, op: 'rename', from: 'f', to: '../outside/f' });
      assert.equal(up['result'], 'refused');
      assert.deepEqual(await ask({ type: 'entry', id: 4, op: 'rename', from: 'gone', to: 'x' }), { type: 'entry', id: 4, result: 'fallback', reason: 'gone does not exist on the slave' });
      assert.deepEqual(readdirSync(outside), []);
      assert.deepEqual(readdirSync(root).sort(), ['big2', 'f', 'out']);
      child.stdin.end();
      const code = await new Promise((resolve) => child.once('exit', resolve));
      assert.equal(code, 0);
    });
  }
});
