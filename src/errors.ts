/**
 * The one error type that reaches the process edge. Expected failures inside the core are
 * data (tagged unions); they become a GsyncdError only where the CLI decides to stop.
 */

/** Exit statuses of CLI.md. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  unreachable: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class GsyncdError extends Error {
  override readonly name = 'GsyncdError';
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const usageError = (message: string): GsyncdError => new GsyncdError(message, ExitCode.usage);
