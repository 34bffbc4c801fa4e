/**
 * Every rsync exit status → what it means for the paths of that run (invariant 6).
 * Meanings are rsync's own (errcode.h / the man page's EXIT VALUES).
 */

export type RsyncOutcome =
  | 'ok' //         everything listed is on the slave
  | 'vanished' //   some sources vanished: fine, their delete events follow
  | 'partial' //    some paths failed: retry those, with backoff
  | 'max-delete' // --max-delete stopped deletions: the user asked for it; report, do not loop
  | 'connection' // the link or the remote side failed: reconnect with backoff, keep the queue
  | 'usage' //      gsyncd or the user gave rsync something it refuses: a configuration error
  | 'fatal'; //     anything else: Faulty, retry later; never a reason to exit

/** What an outcome means for the paths of the run, whether they are retried, and how it is logged. */
export interface OutcomeAction {
  readonly paths: string;
  readonly retry: 'no' | 'failed paths' | 'after reconnecting' | 'the run, until it works';
  readonly level: 'info' | 'warn' | 'error';
}

export const ACTIONS: Readonly<Record<RsyncOutcome, OutcomeAction>> = {
  ok: { paths: 'all on the slave', retry: 'no', level: 'info' },
  vanished: { paths: 'all on the slave but those gone from the master, whose deletes follow', retry: 'no', level: 'info' },
  partial: { paths: 'on the slave but those named by rsync (every path of the run when it names none)', retry: 'failed paths', level: 'error' },
  'max-delete': { paths: 'on the slave; some deletes were held back as asked', retry: 'no', level: 'warn' },
  connection: { paths: 'unknown: all are sent again', retry: 'after reconnecting', level: 'warn' },
  usage: { paths: 'none sent', retry: 'the run, until it works', level: 'error' },
  fatal: { paths: 'unknown: all are sent again', retry: 'the run, until it works', level: 'error' },
};

export interface RsyncExit {
  readonly code: number;
  readonly meaning: string;
  readonly outcome: RsyncOutcome;
}

const TABLE: ReadonlyMap<number, readonly [string, RsyncOutcome]> = new Map([
  [0, ['success', 'ok']],
  [1, ['syntax or usage error', 'usage']],
  [2, ['protocol incompatibility', 'usage']],
  [3, ['errors selecting input/output files, dirs', 'partial']],
  [4, ['requested action not supported', 'usage']],
  [5, ['error starting client-server protocol', 'connection']],
  [6, ['daemon unable to append to log-file', 'fatal']],
  [10, ['error in socket I/O', 'connection']],
  [11, ['error in file I/O', 'partial']],
  [12, ['error in rsync protocol data stream', 'connection']],
  [13, ['errors with program diagnostics', 'fatal']],
  [14, ['error in IPC code', 'fatal']],
  [15, ['sibling process crashed', 'fatal']],
  [16, ['sibling process terminated abnormally', 'fatal']],
  [19, ['received SIGUSR1', 'fatal']],
  [20, ['received SIGINT, SIGTERM, or SIGHUP', 'fatal']],
  [21, ['some error returned by waitpid()', 'fatal']],
  [22, ['error allocating core memory buffers', 'fatal']],
  [23, ['partial transfer due to error', 'partial']],
  [24, ['partial transfer due to vanished source files', 'vanished']],
  [25, ['the --max-delete limit stopped deletions', 'max-delete']],
  [30, ['timeout in data send/receive', 'connection']],
  [35, ['timeout waiting for daemon connection', 'connection']],
  [124, ['remote shell failed', 'connection']],
  [125, ['remote shell killed', 'connection']],
  [126, ['remote shell could not be run', 'usage']],
  [127, ['remote shell or remote rsync not found', 'usage']],
  [255, ['ssh failed (connection, authentication or remote command)', 'connection']],
]);

export function rsyncExit(code: number): RsyncExit {
  const row = TABLE.get(code);
  return row ? { code, meaning: row[0], outcome: row[1] } : { code, meaning: `unknown exit status ${code}`, outcome: 'fatal' };
}
