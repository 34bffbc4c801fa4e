// A steady stream of changes to a master directory while a fault is injected: new files,
// rewrites of one file, deletes, new directories with content, and renames, so that every
// kind of change has to survive the fault. `counter.txt` holds the number of the last step,
// which tells how far the slave has caught up.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export const COUNTER_FILE = 'counter.txt';

const fileName = (n: number): string => `f-${String(n).padStart(5, '0')}.txt`;

export class ChangeStream {
  /** Steps made so far. */
  count = 0;
  #stopped = false;
  #error: Error | undefined;
  readonly #done: Promise<void>;

  /** Starts changing `dir` (which must exist) every `intervalMs`. */
  constructor(
    private readonly dir: string,
    intervalMs: number,
  ) {
    this.#done = (async () => {
      try {
        while (!this.#stopped) {
          this.#step(this.count);
          this.count += 1;
          await delay(intervalMs);
        }
      } catch (error: unknown) {
        // Kept for `stop`: a rejection nobody awaits yet would end the whole test run.
        this.#error = error instanceof Error ? error : new Error(String(error));
      }
    })();
  }

  #step(n: number): void {
    const at = (name: string): string => path.join(this.dir, name);
    writeFileSync(at(fileName(n)), `file ${n}\n`.repeat(1 + (n % 7)));
    writeFileSync(at(COUNTER_FILE), `${n}\n`);
    if (n % 5 === 4) {
      rmSync(at(fileName(n - 3)));
    }
    if (n % 10 === 9) {
      mkdirSync(at(`d-${n}/inner`), { recursive: true });
      writeFileSync(at(`d-${n}/inner/x.txt`), `${n}\n`);
    }
    if (n % 10 === 6 && n >= 10) {
      // A renamed directory: a delete and a new subtree at once.
      renameSync(at(`d-${n - 7}`), at(`d-${n - 7}-moved`));
    }
  }

  /** Stops the stream; throws if a step failed. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
    if (this.#error !== undefined) {
      throw this.#error;
    }
  }
}
