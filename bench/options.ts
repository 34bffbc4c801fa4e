// The bench's flags, parsed into a typed object before anything runs.
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';

export const PEERS = ['floor', 'lsyncd', 'gsyncd', 'lsyncd15', 'lsyncdcm'] as const;
export type PeerName = (typeof PEERS)[number];
// lsyncdcm (lsyncd given an SSH master connection) is opt-in: not what users run.
const DEFAULT_PEERS: readonly PeerName[] = ['floor', 'lsyncd', 'gsyncd', 'lsyncd15'];

export interface BenchOptions {
  readonly work: string;
  readonly files: number;
  readonly samples: number;
  readonly slowSamples: number;
  readonly burst: number;
  readonly restartChanges: number;
  readonly reps: number;
  readonly idleSeconds: number;
  readonly pollMs: number;
  readonly timeoutSeconds: number;
  readonly only: ReadonlySet<PeerName>;
  readonly json: string | undefined;
  readonly keep: boolean;
  readonly verbose: boolean;
  readonly restart: boolean;
  readonly verify: boolean;
  readonly remoteGsyncd: string | undefined; // undefined: let gsyncd use its default
  readonly gsyncdArgs: readonly string[];
}

export const USAGE = `usage: node dist/bench/run.js [options]

  --work DIR            where the tree, slaves and logs go (default: ${tmpdir()})
  --files N             files in the tree, 100 a directory, 50 top-level folders (default 100000)
  --samples N           single-file latency samples per daemon (default 20)
  --slow-samples N      latency samples for lsyncd with its default delay = 15 (default 5; 0 skips it)
  --burst N             new files in the burst (default 1000; 0 skips it)
  --restart-changes N   changes made while the daemon is stopped, then timed from its
                        relaunch until the slave has them all (default 1000; 0 skips it)
  --reps N              repetitions of each floor rsync (default 3)
  --idle-seconds N      window for the idle CPU figure (default 10; BENCH.md says 60; 0 skips it)
  --poll-ms N           slave polling interval (default 3)
  --timeout SECONDS     longest wait for live, or for one latency sample (default 120)
  --only LIST           comma list of: ${PEERS.join(', ')}
                        (default: ${DEFAULT_PEERS.join(',')}; lsyncdcm is lsyncd with ssh ControlMaster)
  --json FILE           also write the results as JSON
  --no-restart          skip the "start, slave already in sync" figure
  --no-verify           skip the final checksum comparison of slave and master
  --remote-gsyncd CMD   passed to gsyncd (default: this checkout's bin/gsyncd; "default" passes nothing)
  --gsyncd-args 'ARGS'  extra arguments for gsyncd, split on spaces
  --keep                keep the work directory (tree, logs) afterwards
  --verbose             echo the daemons' log lines and each sample
`;

function int(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer >= ${min}, got "${value}"`);
  return n;
}

export function parseOptions(argv: readonly string[], defaultRemote: string): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      work: { type: 'string' },
      files: { type: 'string' },
      samples: { type: 'string' },
      'slow-samples': { type: 'string' },
      burst: { type: 'string' },
      'restart-changes': { type: 'string' },
      reps: { type: 'string' },
      'idle-seconds': { type: 'string' },
      'poll-ms': { type: 'string' },
      timeout: { type: 'string' },
      only: { type: 'string' },
      json: { type: 'string' },
      'no-restart': { type: 'boolean' },
      'no-verify': { type: 'boolean' },
      'remote-gsyncd': { type: 'string' },
      'gsyncd-args': { type: 'string' },
      keep: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const only = new Set<PeerName>();
  for (const name of (values.only ?? DEFAULT_PEERS.join(',')).split(',')) {
    const peer = PEERS.find((p) => p === name.trim());
    if (peer === undefined) throw new Error(`--only: unknown "${name}", expected some of ${PEERS.join(', ')}`);
    only.add(peer);
  }
  const remote = values['remote-gsyncd'] ?? defaultRemote;
  return {
    work: values.work ?? tmpdir(),
    files: int('files', values.files, 100_000, 1),
    samples: int('samples', values.samples, 20),
    slowSamples: int('slow-samples', values['slow-samples'], 5),
    burst: int('burst', values.burst, 1000),
    restartChanges: int('restart-changes', values['restart-changes'], 1000),
    reps: int('reps', values.reps, 3, 1),
    idleSeconds: int('idle-seconds', values['idle-seconds'], 10),
    pollMs: int('poll-ms', values['poll-ms'], 3, 1),
    timeoutSeconds: int('timeout', values.timeout, 120, 1),
    only,
    json: values.json,
    keep: values.keep ?? false,
    verbose: values.verbose ?? false,
    restart: values['no-restart'] !== true,
    verify: values['no-verify'] !== true,
    remoteGsyncd: remote === 'default' ? undefined : remote,
    gsyncdArgs: (values['gsyncd-args'] ?? '').split(' ').filter((a) => a !== ''),
  };
}
