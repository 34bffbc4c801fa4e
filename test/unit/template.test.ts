/** src/config/template.ts: the commented template, rendered from the tunables table. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderTemplate } from '../../src/config/template.js';
import { TUNABLES, envName } from '../../src/config/tunables.js';
import { parseConfig } from '../../src/config/file.js';

// Compiled to dist/test/unit/; the committed template lives in conf/ at the top of the repository.
const COMMITTED = fileURLToPath(new URL('../../../conf/gsyncd_template.conf', import.meta.url));

describe('renderTemplate', () => {
  const text = renderTemplate();
  const textLines = text.split('\n');

  it('has a commented line for every tunable that is not flag-only, with its default', () => {
    for (const t of TUNABLES) {
      if (t.flagOnly) continue;
      const shown = t.default === undefined || typeof t.default === 'object' ? '' : String(t.default);
      const line = `#${t.name}: ${shown}`.trimEnd();
      const at = textLines.indexOf(line);
      assert.ok(at > 0, `no line ${JSON.stringify(line)}`);
      assert.equal(textLines[at - 1], `# ${t.help} [${envName(t)}]`, `help of ${t.name}`);
    }
  });

  it('shows defaults as a config file writes them', () => {
    for (const line of ['#sync-jobs: 3', '#batch-delay: 1', '#delete: true', '#once: false', '#watcher: inotify', '#log-level: INFO', '#ssh-command: ssh', '#exclude:', '#session:']) {
      assert.ok(textLines.includes(line), line);
    }
  });

  it('has no line for a flag-only tunable', () => {
    for (const t of TUNABLES.filter((x) => x.flagOnly)) {
      assert.ok(!textLines.some((l) => l.startsWith(`#${t.name}:`)), t.name);
    }
  });

  it('parses as a config file that sets nothing', () => {
    const c = parseConfig(text, 'gsyncd_template.conf');
    assert.deepEqual(c.problems, []);
    assert.deepEqual(c.defaults, {});
    assert.equal(c.sessions.size, 0);
  });

  it('gives back every default when its lines are uncommented', () => {
    // Up to the example session, whose values are not the defaults.
    const uncommented = textLines
      .slice(0, textLines.indexOf('#[session web]'))
      .filter((l) => /^#[a-z-]+: \S/.test(l))
      .map((l) => l.slice(1))
      .join('\n');
    const c = parseConfig(uncommented, 'uncommented.conf');
    assert.deepEqual(c.problems, []);
    for (const t of TUNABLES) {
      if (t.flagOnly || t.default === undefined || Array.isArray(t.default) || t.default === '') continue;
      assert.equal(c.defaults[t.name], t.default, t.name);
    }
  });

  it('ends with the example session, which parses', () => {
    const at = textLines.indexOf('#[session web]');
    assert.ok(at > 0);
    const example = textLines.slice(at).filter((l) => l.startsWith('#')).map((l) => l.slice(1)).join('\n');
    const c = parseConfig(example, 'example.conf');
    assert.deepEqual(c.problems, []);
    assert.deepEqual(c.sessions.get('web'), { 'sync-jobs': 4, 'filter-rules': ['exclude=*.tmp'] });
  });
});

describe('conf/gsyncd_template.conf', () => {
  it('is exactly what renderTemplate() gives', () => {
    assert.ok(
      existsSync(COMMITTED),
      `${COMMITTED} does not exist: generate it from renderTemplate() (src/config/template.ts) and commit it`,
    );
    assert.equal(
      readFileSync(COMMITTED, 'utf8'),
      renderTemplate(),
      'conf/gsyncd_template.conf differs from renderTemplate(): regenerate it from src/config/template.ts',
    );
  });
});
