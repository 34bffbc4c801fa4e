/**
 * How far a long Full Crawl is: a line that rsync's progress rewrites in place on a terminal,
 * and an INFO log line every interval otherwise (a log file, a container's stdout).
 */
import type { Logger } from '../log/logger.js';
import { describeProgress, type RsyncProgress } from '../sync/rsync-progress.js';

export class ProgressReporter {
  private lastLogged = 0;
  private shown = false;

  /** `tty`: a terminal to draw on, when the log goes to one too. */
  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly tty: NodeJS.WriteStream | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.lastLogged = now();
  }

  update(p: RsyncProgress): void {
    const text = describeProgress(p);
    if (this.tty) {
      // Erase to the end of the line: the new text may be shorter.
      this.tty.write(`\r${text}\u001b[K`);
      this.shown = true;
      return;
    }
    const t = this.now();
    if (t - this.lastLogged < this.intervalMs) return;
    this.lastLogged = t;
    this.logger.info('Full Crawl progress', {
      bytes: p.bytes,
      percent: p.percent,
      rate: p.rate,
      ...(p.files === undefined ? {} : { files: p.files, to_check: p.toCheck, of: p.total }),
    });
  }

  /** The run ended: leave the terminal on a fresh line. */
  end(): void {
    if (this.shown) this.tty?.write('\n');
    this.shown = false;
  }
}
