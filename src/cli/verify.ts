/**
 * `gsyncd verify [OPTIONS] MASTER SLAVE`: compares the two whole trees as streams, prints
 * each difference as `rsync -ani --delete --out-format='%i %n%L'` would, and exits 0 when
 * they are identical, 1 when not (CLI.md). A local slave is walked here; an ssh slave's
 * entries come from the remote gsyncd through `remote`.
 */
import { stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { findTunable, envName } from '../config/tunables.js';
import { describeEndpoint, parseEndpoint, type SshEndpoint } from '../endpoint/parse.js';
import { ExitCode, GsyncdError, usageError } from '../errors.js';
import { diffTrees } from '../verify/diff.js';
import type { TreeEntry } from '../verify/entry.js';
import { charsetOf, itemize } from '../verify/itemize.js';
import { ReadError } from '../verify/stat-path.js';
import { walkTree } from '../verify/walk.js';
import { checkMaster } from './prepare.js';
import { parseCommand } from './parse-command.js';

/** The slave's tree, walked by the gsyncd on the slave host (in compareKeys order). */
export type RemoteLister = (slave: SshEndpoint, o: { checksum: boolean; rsh: string; remoteGsyncd: string }) => AsyncIterable<TreeEntry>;

export interface VerifyArgs {
  readonly masterSpec: string;
  readonly slaveSpec: string;
  readonly checksum: boolean;
  readonly quiet: boolean;
  readonly rsh: string;
  readonly remoteGsyncd: string;
}

const fromEnv = (env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const t = findTunable(name);
  return t === undefined ? undefined : env[envName(t)];
};

export function parseVerifyArgs(argv: readonly string[], env: NodeJS.ProcessEnv, out: NodeJS.WritableStream = process.stdout): VerifyArgs {
  const cmd = new Command('gsyncd verify')
    .usage('[OPTIONS] MASTER SLAVE')
    .description(
      'Compare the MASTER and SLAVE trees; print each difference as the line\n' +
        "rsync -ani --delete --out-format='%i %n%L' MASTER/ SLAVE/ prints for it.\n" +
        'Exit status: 0 identical, 1 different, 2 usage error, 3 slave unreachable.\n\n' +
        'MASTER: /path, file:///path\n' +
        'SLAVE:  /path, file:///path, [user@]host:/path, ssh://[user@]host[:port]/path',
    )
    .argument('<MASTER>', 'the master directory')
    .argument('<SLAVE>', 'its mirror')
    .option('--checksum', 'compare the content of files too (sha256), not only their size and mtime')
    .option('-q, --quiet', 'print nothing; only the exit status tells')
    .addOption(new Option('-e, --rsh <COMMAND>', "remote shell, as rsync's -e ('ssh -p 2222 -i key')").default(fromEnv(env, 'ssh-command') ?? 'ssh'))
    .addOption(new Option('--ssh-command <COMMAND>').hideHelp())
    .addOption(new Option('--remote-gsyncd <PATH [OPTIONS]>', 'gsyncd on the slave host').default(fromEnv(env, 'remote-gsyncd') ?? 'gsyncd'))
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({ writeOut: (text) => out.write(text), writeErr: () => undefined })
    .showSuggestionAfterError(true)
    .allowExcessArguments(false);
  parseCommand(cmd, argv, 'verify: ');
  const o = cmd.opts<{ checksum?: boolean; quiet?: boolean; rsh: string; sshCommand?: string; remoteGsyncd: string }>();
  const [masterSpec = '', slaveSpec = ''] = cmd.args;
  return {
    masterSpec,
    slaveSpec,
    checksum: o.checksum === true,
    quiet: o.quiet === true,
    rsh: o.sshCommand ?? o.rsh,
    remoteGsyncd: o.remoteGsyncd,
  };
}

/** A walk whose read failures name the side and its root. */
async function* walkSide(side: 'MASTER' | 'SLAVE', root: string, checksum: boolean): AsyncGenerator<TreeEntry> {
  try {
    yield* walkTree(root, { checksum });
  } catch (e) {
    if (e instanceof ReadError) throw new GsyncdError(`${side} ${root}: ${e.message}`, ExitCode.failure, { cause: e });
    throw e;
  }
}

/** The local slave's tree; an absent slave directory is an empty tree, as rsync would create it. */
async function localSlave(path: string, checksum: boolean): Promise<AsyncIterable<TreeEntry>> {
  try {
    if (!(await stat(path)).isDirectory()) throw usageError(`SLAVE ${path}: exists and is not a directory`);
  } catch (e) {
    if (e instanceof GsyncdError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return (async function* () {})();
    throw new GsyncdError(`SLAVE ${path}: cannot open (${code ?? 'error'})`, ExitCode.failure);
  }
  return walkSide('SLAVE', path, checksum);
}

/**
 * Writes latin1 lines in large chunks, waiting when the pipe is full. A reader that goes
 * away (`gsyncd verify … | head`) ends the output, not the run: its error is kept, and a
 * listener stays on so that a late write cannot crash the process.
 */
class LineWriter {
  #chunk: string[] = [];
  #size = 0;
  #error: NodeJS.ErrnoException | undefined;

  constructor(readonly out: NodeJS.WritableStream) {
    out.on('error', (e: NodeJS.ErrnoException) => {
      this.#error ??= e;
    });
  }

  get error(): NodeJS.ErrnoException | undefined {
    return this.#error;
  }

  async line(text: string): Promise<void> {
    this.#chunk.push(text, '\n');
    this.#size += text.length + 1;
    if (this.#size >= 64 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#size === 0 || this.#error !== undefined) return;
    const data = Buffer.from(this.#chunk.join(''), 'latin1');
    this.#chunk = [];
    this.#size = 0;
    if (this.out.write(data)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.out.off('drain', done);
        this.out.off('error', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('error', done);
      this.out.on('close', done);
    });
  }
}

export async function runVerify(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  remote?: RemoteLister,
  out: NodeJS.WritableStream = process.stdout,
): Promise<ExitCode> {
  const a = parseVerifyArgs(argv, env, out);
  const masterParsed = parseEndpoint(a.masterSpec, process.cwd());
  if (!masterParsed.ok) throw usageError(`MASTER ${a.masterSpec}: ${masterParsed.reason}`);
  const slaveParsed = parseEndpoint(a.slaveSpec, process.cwd());
  if (!slaveParsed.ok) throw usageError(`SLAVE ${a.slaveSpec}: ${slaveParsed.reason}`);
  const master = await checkMaster(masterParsed.endpoint);
  const slave = slaveParsed.endpoint;

  let slaveTree: AsyncIterable<TreeEntry>;
  switch (slave.kind) {
    case 'volume':
      throw usageError(`SLAVE ${describeEndpoint(slave)}: verify needs the slave's path: give /path or host:/path`);
    case 'local':
      slaveTree = await localSlave(slave.path, a.checksum);
      break;
    case 'ssh':
      if (a.remoteGsyncd.trim() === 'none') throw usageError('--remote-gsyncd none: verifying a remote slave needs gsyncd on the slave host');
      if (remote === undefined) {
        throw new GsyncdError(`SLAVE ${describeEndpoint(slave)}: remote verify needs the slave channel, which this build does not have`, ExitCode.unreachable);
      }
      slaveTree = remote(slave, { checksum: a.checksum, rsh: a.rsh, remoteGsyncd: a.remoteGsyncd });
      break;
  }

  const differences = diffTrees(walkSide('MASTER', master.path, a.checksum), slaveTree);
  if (a.quiet) {
    // The first difference decides; return() stops both walks.
    const first = await differences.next();
    await differences.return(undefined);
    return first.done === true ? ExitCode.ok : ExitCode.failure;
  }
  const charset = charsetOf(env);
  const writer = new LineWriter(out);
  let found = false;
  try {
    for await (const d of differences) {
      found = true;
      await writer.line(itemize(d, { charset }));
      // Nobody reads any more: the exit status is all that is left to say.
      if (writer.error !== undefined) break;
    }
  } finally {
    // What was found before a failure is still worth seeing.
    await writer.flush();
  }
  const error = writer.error;
  if (error !== undefined && error.code !== 'EPIPE') {
    throw new GsyncdError(`cannot write the differences: ${error.code ?? error.message}`, ExitCode.failure, { cause: error });
  }
  return found ? ExitCode.failure : ExitCode.ok;
}
