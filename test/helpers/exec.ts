// Running a helper command (rsync, diff, ssh, ssh-keygen, ss) to completion, never
// through a shell: arguments are passed as they are, whatever bytes the names hold.
import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  timeoutMs?: number;
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function exec(command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const { timeoutMs = 60_000, input, env, cwd } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: env ?? process.env,
      cwd,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = {
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      };
      if (timedOut) {
        reject(new Error(`${command} ${args.join(' ')}: killed after ${timeoutMs} ms\n${result.stderr}`));
      } else {
        resolve(result);
      }
    });
    if (input !== undefined && child.stdin) {
      child.stdin.end(input);
    }
  });
}

/** Like `exec`, but a non-zero exit is an error carrying the command's stderr. */
export async function execOk(command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const result = await exec(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${String(result.code ?? result.signal)}\n${result.stderr}${result.stdout}`,
    );
  }
  return result;
}
