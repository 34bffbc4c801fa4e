// lsyncd 2.2.3 as the peer: `default.rsyncssh` (rsync for transfers, ssh for moves and
// deletes) against the same loopback sshd. Its config keys are the ones 2.2.3's built-in
// default-rsyncssh.lua checks: `ssh = { port, identityFile, options }`, each option
// becoming `-o K=V` for both its ssh calls and rsync's `--rsh`. Without an sshd, the slave
// is local and the peer is `default.rsync`: rsyncssh needs a host. default.rsync has no move
// action, so lsyncd sends a move as a delete and a create.
import { writeFileSync } from 'node:fs';
import { Daemon, run } from './proc.js';
import type { Sshd } from './sshd.js';
import type { PeerSpec } from './peer.js';

const lua = (s: string): string => JSON.stringify(s); // a double-quoted Lua string for plain paths

export interface LsyncdExtras {
  /** A ControlMaster socket for its ssh calls (the lsyncdcm peer); over ssh only. */
  readonly controlPath?: string;
  /** Added to every rsync it runs (`_extra`), e.g. `--stats`, to read from its output what rsync sent. */
  readonly rsyncExtra?: readonly string[];
}

const SETTINGS = `settings {
  nodaemon = true,
  insist = false,
}
`;

function rsyncTable(extra: readonly string[] | undefined): string {
  return extra === undefined || extra.length === 0 ? '{ archive = true }' : `{ archive = true, _extra = { ${extra.map(lua).join(', ')} } }`;
}

export function lsyncdConfig(opts: { source: string; targetdir: string; delay: number; sshd: Sshd | undefined } & LsyncdExtras): string {
  if (opts.sshd === undefined) {
    return `${SETTINGS}sync {
  default.rsync,
  source = ${lua(opts.source)},
  target = ${lua(opts.targetdir)},
  delay = ${opts.delay},
  rsync = ${rsyncTable(opts.rsyncExtra)},
}
`;
  }
  // Not lsyncd's default, but what a tuned setup would add: its ssh calls and rsync's
  // --rsh then share one connection, as gsyncd's do.
  const multiplex: Record<string, string> =
    opts.controlPath === undefined ? {} : { ControlMaster: 'auto', ControlPath: opts.controlPath, ControlPersist: '600' };
  const sshOptions = Object.entries({ ...opts.sshd.options, ...multiplex })
    .map(([k, v]) => `${k} = ${lua(v)}`)
    .join(', ');
  return `${SETTINGS}sync {
  default.rsyncssh,
  source = ${lua(opts.source)},
  host = ${lua(opts.sshd.host)},
  targetdir = ${lua(opts.targetdir)},
  delay = ${opts.delay},
  rsync = ${rsyncTable(opts.rsyncExtra)},
  ssh = {
    port = ${opts.sshd.port},
    identityFile = ${lua(opts.sshd.keyFile)},
    options = { ${sshOptions} },
  },
}
`;
}

export function lsyncdPeer(name: string, delay: number, sshd: Sshd | undefined, extras: LsyncdExtras = {}): PeerSpec {
  return {
    name,
    // lsyncd logs this once its recursive startup rsync has run; watches are in place
    // before it starts, so it is live from here.
    liveRe: /Normal: Startup of .* finished/,
    start({ master, slave, stateDir, logFile, echo }) {
      const config = `${stateDir}/lsyncd.conf.lua`;
      writeFileSync(config, lsyncdConfig({ source: master, targetdir: slave, delay, sshd, ...extras }));
      return new Daemon(name, 'lsyncd', ['-nodaemon', config], logFile, echo);
    },
    async afterStop() {
      // ControlPersist's master detaches from lsyncd's process group: end it by its socket.
      if (extras.controlPath !== undefined && sshd !== undefined) {
        await run('ssh', ['-o', `ControlPath=${extras.controlPath}`, '-O', 'exit', sshd.host]);
      }
    },
    transfers(lines) {
      // With the default log level lsyncd announces each rsync it starts.
      return { runs: lines.filter((l) => l.includes('Calling rsync with filter-list')).length };
    },
    catchUpReport(lines) {
      // It keeps no state: every start rsyncs the whole tree, which is how it catches up.
      const full = lines.some((l) => l.includes('recursive startup rsync'));
      return { crawl: full ? 'full rsync' : 'no full rsync', note: full ? 'full rsync of the tree at startup' : 'no full rsync at startup' };
    },
    startReport(lines) {
      const full = lines.some((l) => l.includes('recursive startup rsync'));
      return { fullTreeSync: full, note: full ? 'full rsync of the tree' : 'no full rsync' };
    },
  };
}
