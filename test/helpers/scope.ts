// Cleanup that runs even when a test fails: every resource a test creates registers its
// disposal here, and the scope undoes them in reverse order from an `after` hook.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

type Cleanup = () => Promise<void> | void;

export class Scope {
  readonly #cleanups: Cleanup[] = [];

  defer(cleanup: Cleanup): void {
    this.#cleanups.push(cleanup);
  }

  /** A fresh directory under the system temp dir, removed when the scope closes. */
  async tempDir(label: string): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), `gsyncd-e2e-${label}-`));
    this.defer(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  async close(): Promise<void> {
    const errors: unknown[] = [];
    for (const cleanup of this.#cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error: unknown) {
        errors.push(error);
      }
    }
    if (errors.length > 0) {
      throw new AggregateError(errors, 'cleanup failed');
    }
  }
}

/** A scope closed by `t.after`, for resources that live as long as one test. */
export function scopeFor(t: TestContext): Scope {
  const scope = new Scope();
  t.after(() => scope.close());
  return scope;
}

export interface Layout {
  base: string;
  master: string;
  slave: string;
  /** A sibling of master on the same filesystem, for moves into and out of the tree. */
  outside: string;
}

/** base/{master,slave,outside}, all created, removed with the scope. */
export async function makeLayout(scope: Scope, label: string): Promise<Layout> {
  const base = await scope.tempDir(label);
  const layout = {
    base,
    master: path.join(base, 'master'),
    slave: path.join(base, 'slave'),
    outside: path.join(base, 'outside'),
  };
  await Promise.all([mkdir(layout.master), mkdir(layout.slave), mkdir(layout.outside)]);
  return layout;
}
