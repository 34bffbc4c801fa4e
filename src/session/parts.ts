/** What the composition root (cli/mirror.ts) hands a session: its endpoints, options and effects. */
import type { Options } from '../config/options.js';
import type { Endpoint, LocalEndpoint } from '../endpoint/parse.js';
import type { Matcher } from '../filter/matcher.js';
import type { Logger } from '../log/logger.js';
import type { RsyncPlan } from '../sync/rsync-argv.js';
import type { RunRsync } from '../sync/rsync-runner.js';
import type { SessionMetrics } from '../status/metrics.js';
import type { SshMaster } from '../transport/ssh-master.js';
import type { ChangeSource } from '../watch/change-source.js';
import type { SavedState } from './saved-state.js';
import type { SlaveLink } from './slave-link.js';
import type { StatusWriter } from './status-writer.js';

export interface SessionParts {
  readonly name: string;
  readonly master: LocalEndpoint;
  readonly slave: Endpoint;
  readonly options: Options;
  readonly matcher: Matcher;
  readonly plan: RsyncPlan;
  readonly logger: Logger;
  readonly status: StatusWriter;
  readonly runRsync: RunRsync;
  /** undefined for a local slave. */
  readonly ssh: SshMaster | undefined;
  /** The channel to `gsyncd slave`; undefined for a local slave or --remote-gsyncd none. */
  readonly link: SlaveLink | undefined;
  /** undefined with --once: nothing to watch. */
  readonly source: ChangeSource | undefined;
  /** The session's state directory (checkpoint and pause requests arrive there). */
  readonly sessionDir: string;
  /** What survives restarts (snapshot, marker, pending set); undefined with --once. */
  readonly saved: SavedState | undefined;
  /** A terminal for the Full Crawl's progress line, when the log goes to that terminal too. */
  readonly progressTty?: NodeJS.WriteStream | undefined;
  /** Batches' rsync may go through the slave channel: perl runs its stand-in (rsh-join.ts). */
  readonly rshJoin?: boolean;
  /** Prometheus metrics, with --http-listen. */
  readonly metrics?: SessionMetrics | undefined;
}
