// The bench's composition root: gsyncd against lsyncd and plain rsync on one tree, one
// loopback sshd and one page cache, so that the ratios mean something on a noisy machine.
// See bench/README.md for what each figure is; the project's benchmark notes (BENCH.md) for why.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runFloor } from './floor.js';
import { gsyncdBin, gsyncdPeer, repoRoot } from './gsyncd.js';
import { lsyncdPeer } from './lsyncd.js';
import { parseOptions, USAGE, type BenchOptions } from './options.js';
import { runPeer, type PeerPlan, type PeerResult } from './peer.js';
import { runBench } from './entry.js';
import { killAll, run } from './proc.js';
import { computeRatios, renderText, type BenchResults } from './report.js';
import { makeWorkDir } from './workdir.js';
import { startSshd, type Sshd } from './sshd.js';
import { createTree, shapeFor } from './tree.js';


const log = (msg: string): void => {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
};

async function versionOf(cmd: string, args: string[], re: RegExp): Promise<string> {
  try {
    const r = await run(cmd, args);
    return re.exec(r.stdout + r.stderr)?.[1] ?? '?';
  } catch {
    return 'not installed';
  }
}

async function main(opts: BenchOptions): Promise<number> {
  const dir = makeWorkDir(opts.work, 'gsyncd-bench-', opts.keep, log);
  const work = dir.path;
  let sshd: Sshd | undefined;

  try {
    const socket = join(work, 'ssh', 'cm');
    if (socket.length > 100) throw new Error(`--work path too long for an ssh control socket: ${socket}`);
    const shape = shapeFor(opts.files);
    log(`creating ${shape.dirs * shape.filesPerDir} files in ${work}/master`);
    const t0 = performance.now();
    const tree = createTree(join(work, 'master'), shape);
    const createSeconds = (performance.now() - t0) / 1000;
    log(`tree created in ${createSeconds.toFixed(1)} s`);

    const results: BenchResults = {
      meta: {
        date: new Date().toISOString(),
        tree: { files: tree.files, dirs: shape.dirs, topDirs: shape.topDirs, bytes: tree.bytes, createSeconds },
        machine: {
          cpus: availableParallelism(),
          node: process.version,
          rsync: await versionOf('rsync', ['--version'], /version\s+(\S+)/),
          lsyncd: await versionOf('lsyncd', ['--version'], /Version:\s*(\S+)/),
          ssh: await versionOf('ssh', ['-V'], /^(OpenSSH_\S+)/),
        },
        options: { ...opts, only: [...opts.only] },
      },
      peers: {},
    };

    sshd = await startSshd(join(work, 'ssh'), log);
    dir.sshd = sshd;
    const ctx = { tree, work, echo: opts.verbose, log };
    const timeoutMs = opts.timeoutSeconds * 1000;
    const plan: PeerPlan = {
      restart: opts.restart,
      idleSeconds: opts.idleSeconds,
      samples: opts.samples,
      burstFiles: opts.burst,
      restartChanges: opts.restartChanges,
      pollMs: opts.pollMs,
      liveTimeoutMs: timeoutMs,
      sampleTimeoutMs: timeoutMs,
      verify: opts.verify,
    };

    if (opts.only.has('floor')) {
      try {
        results.floor = await runFloor(tree, sshd, {
          work,
          reps: opts.reps,
          burstFiles: Math.max(1, opts.burst),
          restartChanges: opts.restartChanges,
          socket,
          log,
        });
      } catch (err) {
        results.floorError = err instanceof Error ? err.message : String(err);
        log(`floor: FAILED: ${results.floorError}`);
      }
    }
    if (opts.only.has('lsyncd')) {
      results.peers.lsyncd = await runPeer(lsyncdPeer('lsyncd', 0, sshd), plan, ctx);
    }
    if (opts.only.has('gsyncd')) {
      if (existsSync(join(repoRoot, 'dist/bundle/cli/main.js'))) {
        const spec = gsyncdPeer(sshd, { remoteGsyncd: opts.remoteGsyncd, extraArgs: opts.gsyncdArgs });
        results.peers.gsyncd = await runPeer(spec, plan, ctx);
      } else {
        const msg = `${gsyncdBin}: dist/bundle/cli/main.js is not built (npm run build)`;
        log(`gsyncd: skipped: ${msg}`);
        results.peers.gsyncd = { name: 'gsyncd', errors: [msg], logFile: '-' };
      }
    }
    if (opts.only.has('lsyncdcm')) {
      results.peers.lsyncdcm = await runPeer(lsyncdPeer('lsyncdcm', 0, sshd, { controlPath: join(work, 'ssh', 'lsyncd-cm') }), plan, ctx);
    }
    if (opts.only.has('lsyncd15') && opts.slowSamples > 0) {
      // Its default delay: each sample waits out the 15 s aggregation window, so only a
      // few samples and the start figure; no restart, idle, burst or restart after changes.
      const slowPlan: PeerPlan = {
        ...plan,
        restart: false,
        idleSeconds: 0,
        burstFiles: 0,
        restartChanges: 0,
        samples: opts.slowSamples,
        sampleTimeoutMs: Math.max(timeoutMs, 60_000),
      };
      results.peers.lsyncd15 = await runPeer(lsyncdPeer('lsyncd15', 15, sshd), slowPlan, ctx);
    }

    results.ratios = computeRatios(results);
    console.log(renderText(results));
    if (opts.json !== undefined) {
      writeFileSync(opts.json, `${JSON.stringify(results, null, 2)}\n`);
      log(`results written to ${opts.json}`);
    }
    const failed = results.floorError !== undefined || Object.values(results.peers).some((p: PeerResult) => p.errors.length > 0);
    return failed ? 1 : 0;
  } finally {
    await sshd?.stop();
    killAll();
    if (opts.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

runBench('bench', USAGE, (argv) => parseOptions(argv, gsyncdBin), main);
