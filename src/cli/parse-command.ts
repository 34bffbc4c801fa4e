/**
 * Runs commander's parse for one command and turns its errors into gsyncd's: --help and
 * --version end with exit 0, a usage mistake is one line and exit 2 (CLI.md).
 */
import { CommanderError, type Command } from 'commander';
import { ExitCode, GsyncdError, usageError } from '../errors.js';

export function parseCommand(cmd: Command, argv: readonly string[], prefix = ''): void {
  try {
    cmd.exitOverride().parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) throw new GsyncdError('', ExitCode.ok);
      throw usageError(`${prefix}${e.message.replace(/^error: /, '').replace(/\n/g, ' ')}`);
    }
    throw e;
  }
}
