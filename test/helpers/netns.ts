// A network namespace joined to the host by a veth pair, for tests that cut a real link:
// a "remote host" with an address of its own, whose link can go silent and come back.
//
// The cut takes the namespace's end down: the host keeps its connected route (flagged
// linkdown), so packets to the peer are dropped on the spot, as on a dead cable, and never
// follow the default route out of the machine. A fallback `unreachable` route for the
// subnet guards against that too, should the host's end go down.
// Two kinds of cut: 'gone', a host gone from the LAN (once its ARP entry expires, connects
// fail at once with "No route to host"), and 'silent', a black hole further away (the peer's
// MAC stays pinned, so packets leave and nothing answers: connects time out).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { exec, execOk } from './exec.js';
import type { Scope } from './scope.js';
import { pollUntil } from './wait.js';

export interface NetNs {
  name: string;
  /** The veth end on the host side, and the one inside the namespace. */
  hostVeth: string;
  peerVeth: string;
  hostAddress: string;
  peerAddress: string;
  /** Prefix words that run a command inside the namespace. */
  execPrefix: readonly string[];
  /** Takes the namespace's end of the link down. */
  cut(kind: CutKind): Promise<void>;
  /** Brings it up again and waits until the peer's address answers from the host. */
  restore(): Promise<void>;
}

export type CutKind = 'gone' | 'silent';

const IP = 'ip';

/** Why this machine cannot run network namespace tests, or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) {
    return 'needs root (network namespaces and veth pairs)';
  }
  if (spawnSync(IP, ['-V'], { stdio: 'ignore' }).status !== 0) {
    return 'needs the ip command (iproute2)';
  }
  return undefined;
}

let created = 0;

/** 10.213.A.B/30 subnets, starting from one the pid picks, so that parallel runs differ. */
function* candidateSubnets(): Generator<string> {
  const start = (process.pid * 7 + created * 13) % (256 * 64);
  for (let i = 0; i < 64; i += 1) {
    const n = (start + i * 97) % (256 * 64);
    yield `10.213.${Math.floor(n / 64)}.${(n % 64) * 4}`;
  }
}

/** Whether the host already has an address or a route in 10.213.A.B/30. */
async function subnetInUse(base: string): Promise<boolean> {
  const prefix = base.slice(0, base.lastIndexOf('.') + 1);
  const last = Number(base.slice(base.lastIndexOf('.') + 1));
  const mine = (text: string): boolean =>
    [...text.matchAll(/\b10\.213\.(\d+)\.(\d+)\b/g)].some(
      (m) => `10.213.${m[1] ?? ''}.` === prefix && Math.floor(Number(m[2]) / 4) * 4 === last,
    );
  const addresses = await execOk(IP, ['-4', '-o', 'addr', 'show']);
  const routes = await execOk(IP, ['-4', 'route', 'show', 'table', 'all']);
  return mine(addresses.stdout) || mine(routes.stdout);
}

/**
 * Creates the namespace (`gsyncd-test-PID-N`), the veth pair, addresses from a free
 * 10.213.x.y/30, links up (lo too), and registers its removal in `scope`: every process
 * inside is killed, the namespace and the pair deleted, the fallback route removed.
 */
export async function createNetNs(scope: Scope): Promise<NetNs> {
  created += 1;
  const n = created;
  const name = `gsyncd-test-${process.pid}-${n}`;
  // Interface names hold at most 15 bytes.
  const hostVeth = `gs${process.pid}n${n}h`.slice(-15);
  const peerVeth = `gs${process.pid}n${n}p`.slice(-15);
  const inside = [IP, 'netns', 'exec', name];

  let base: string | undefined;
  for (const candidate of candidateSubnets()) {
    if (!(await subnetInUse(candidate))) {
      base = candidate;
      break;
    }
  }
  if (base === undefined) {
    throw new Error('no free 10.213.x.y/30 subnet on this host');
  }
  const prefix = base.slice(0, base.lastIndexOf('.') + 1);
  const last = Number(base.slice(base.lastIndexOf('.') + 1));
  const hostAddress = `${prefix}${last + 1}`;
  const peerAddress = `${prefix}${last + 2}`;
  const subnet = `${base}/30`;

  await execOk(IP, ['netns', 'add', name]);
  scope.defer(() => removeNamespace(name));
  await execOk(IP, ['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', peerVeth]);
  scope.defer(async () => {
    // Deleting the namespace destroys the pair; this is for a pair that never moved in.
    if (existsSync(`/sys/class/net/${hostVeth}`)) {
      await exec(IP, ['link', 'del', hostVeth]);
    }
  });
  await execOk(IP, ['link', 'set', peerVeth, 'netns', name]);
  await execOk(IP, ['addr', 'add', `${hostAddress}/30`, 'dev', hostVeth]);
  await execOk(IP, ['link', 'set', hostVeth, 'up']);
  await execOk(IP, ['route', 'add', 'unreachable', subnet, 'metric', '4000']);
  scope.defer(async () => {
    await exec(IP, ['route', 'del', 'unreachable', subnet, 'metric', '4000']);
  });
  await execOk(IP, ['-n', name, 'addr', 'add', `${peerAddress}/30`, 'dev', peerVeth]);
  await execOk(IP, ['-n', name, 'link', 'set', peerVeth, 'up']);
  await execOk(IP, ['-n', name, 'link', 'set', 'lo', 'up']);

  const netns: NetNs = {
    name,
    hostVeth,
    peerVeth,
    hostAddress,
    peerAddress,
    execPrefix: inside,
    async cut(kind) {
      if (kind === 'silent') {
        await execOk(IP, ['neigh', 'replace', peerAddress, 'lladdr', await macOf(name, peerVeth), 'dev', hostVeth, 'nud', 'permanent']);
      }
      await execOk(IP, ['-n', name, 'link', 'set', peerVeth, 'down']);
    },
    async restore() {
      await execOk(IP, ['-n', name, 'link', 'set', peerVeth, 'up']);
      // Back to ordinary neighbour discovery (a no-op after a 'gone' cut).
      await exec(IP, ['neigh', 'del', peerAddress, 'dev', hostVeth]);
      await waitForCarrier(hostVeth);
    },
  };
  await waitForCarrier(hostVeth);
  return netns;
}

async function macOf(namespace: string, dev: string): Promise<string> {
  const r = await execOk(IP, ['-n', namespace, '-o', 'link', 'show', 'dev', dev]);
  const mac = /link\/ether ([0-9a-f:]{17})/.exec(r.stdout)?.[1];
  if (mac === undefined) {
    throw new Error(`no MAC address for ${dev} in ${namespace}: ${r.stdout}`);
  }
  return mac;
}

/** Waits until the host's end sees the peer up (the veth carrier follows the peer's state). */
async function waitForCarrier(hostVeth: string): Promise<void> {
  await pollUntil(
    async () => {
      const r = await exec(IP, ['-o', 'link', 'show', 'dev', hostVeth]);
      return /[<,]LOWER_UP[,>]/.test(r.stdout) ? true : undefined;
    },
    () => `the link ${hostVeth} to come up`,
    { timeoutMs: 10_000, intervalMs: 50 },
  );
}

/** Kills what still runs inside (the test started all of it), then deletes the namespace. */
async function removeNamespace(name: string): Promise<void> {
  for (let round = 0; round < 50; round += 1) {
    const r = await exec(IP, ['netns', 'pids', name]);
    const pids = r.stdout.split(/\s+/).filter((w) => /^\d+$/.test(w)).map(Number);
    if (r.code !== 0 || pids.length === 0) {
      break;
    }
    for (const pid of pids) {
      try {
        process.kill(pid, round < 10 ? 'SIGTERM' : 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await delay(100);
  }
  await execOk(IP, ['netns', 'del', name]);
}
