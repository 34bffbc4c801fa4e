// What the session owners' unit tests hand them in place of a log and a status: a logger
// that keeps every line with its fields, and a status record to open a StatusWriter with.
import type { Fields, Logger } from '../../src/log/logger.js';
import type { StatusRecord } from '../../src/status/status.js';

export interface Line {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly message: string;
  readonly fields: Fields;
}

/** Keeps every line it is given, with its fields. */
export class RecordingLogger implements Logger {
  readonly lines: Line[] = [];
  error(message: string, fields: Fields = {}): void {
    this.lines.push({ level: 'error', message, fields });
  }
  warn(message: string, fields: Fields = {}): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  info(message: string, fields: Fields = {}): void {
    this.lines.push({ level: 'info', message, fields });
  }
  debug(message: string, fields: Fields = {}): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  reopen(): void {
    return undefined;
  }
  /** The lines with this message. */
  said(message: string): Line[] {
    return this.lines.filter((l) => l.message === message);
  }
}

/** A live session's status record (totals come from StatusWriter.open), with `over` on top. */
export function statusBase(over: Partial<Omit<StatusRecord, 'totals'>> = {}): Omit<StatusRecord, 'totals'> {
  return {
    session: 'web',
    master: '/srv/master',
    slave: '/srv/slave',
    status: 'Active',
    crawl_status: 'Changelog Crawl',
    last_synced: null,
    pending: 0,
    failures: 0,
    checkpoint: { time: null, completed: false, completion_time: null },
    ...over,
  };
}
