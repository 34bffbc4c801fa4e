// Names as bytes end to end: files and directories whose names are not valid UTF-8 or hold a
// newline are made, renamed, edited and deleted, live and while gsyncd is stopped; the slave
// ends with the same names, bytes for bytes, and the same contents. The inotify watcher and
// the listings give such a name exactly (sync/names.ts): the batch sends it by itself, not
// by its directory, and deletes it on the slave by its directory only when a rule would have
// to name it.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { waitForMirror } from '../helpers/compare.js';
import { startGsyncd, stopAndAssertClean } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { bytePath, INVALID_UTF8_DIR, INVALID_UTF8_NAME } from '../helpers/tree.js';

const named = (...parts: (string | Buffer)[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));

describe('names as bytes', () => {
  it('mirrors renames, edits and deletes of names that are not UTF-8 or hold a newline, live and across a restart', { timeout: 120_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'byte-names');
    const state = path.join(layout.outside, 'state');
    const m = layout.master;
    const dir = bytePath(m, INVALID_UTF8_DIR);
    mkdirSync(dir);
    writeFileSync(bytePath(m, named(INVALID_UTF8_DIR, '/', INVALID_UTF8_NAME)), 'one\n');
    writeFileSync(path.join(m, 'line\nbreak'), 'two\n');
    const args = ['--session', 'bytes', m, layout.slave];
    const g = await startGsyncd(args, { stateDir: state });
    t.after(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 30_000);
    await waitForMirror(m, layout.slave, 30_000);

    // Live: a file renamed within its odd directory and edited, the directory renamed, a new
    // odd file made and one deleted.
    renameSync(bytePath(m, named(INVALID_UTF8_DIR, '/', INVALID_UTF8_NAME)), bytePath(m, named(INVALID_UTF8_DIR, '/', INVALID_UTF8_NAME, '\n2')));
    writeFileSync(bytePath(m, named(INVALID_UTF8_DIR, '/', INVALID_UTF8_NAME, '\n2')), 'one, edited\n');
    renameSync(dir, bytePath(m, named(INVALID_UTF8_DIR, '-moved')));
    writeFileSync(bytePath(m, named('new-', INVALID_UTF8_NAME)), 'three\n');
    rmSync(path.join(m, 'line\nbreak'));
    await waitForMirror(m, layout.slave, 30_000);
    await stopAndAssertClean(g);

    // While stopped: the same kinds of change, found by the History Crawl.
    renameSync(bytePath(m, named(INVALID_UTF8_DIR, '-moved')), bytePath(m, named('back\n', INVALID_UTF8_DIR)));
    renameSync(bytePath(m, named('new-', INVALID_UTF8_NAME)), bytePath(m, named('renamed-', INVALID_UTF8_NAME)));
    rmSync(bytePath(m, named('back\n', INVALID_UTF8_DIR, '/', INVALID_UTF8_NAME, '\n2')));
    const g2 = await startGsyncd(args, { stateDir: state });
    t.after(() => g2.dispose());
    await g2.waitForLog('History Crawl started', 30_000);
    await waitForMirror(m, layout.slave, 30_000);
    await stopAndAssertClean(g2);
    // The restart read its saved snapshot, odd names and all.
    assert.equal(g2.findLog('Full Crawl'), -1);
  });
});
