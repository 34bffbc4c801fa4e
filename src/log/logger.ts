/**
 * The logger interface the core talks to, and its winston adapter: the one place that
 * knows about winston. Text lines are meant to be grepped; JSON lines to be shipped.
 */
import winston from 'winston';
import type { LogLevel } from '../config/options.js';

export type Fields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  error(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  debug(message: string, fields?: Fields): void;
  /** Flushes and closes files. */
  close(): Promise<void>;
  /** Opens the log file afresh (after logrotate moved it); nothing for stderr. */
  reopen(): void;
}

const LEVELS: Readonly<Record<LogLevel, string>> = { ERROR: 'error', WARNING: 'warn', INFO: 'info', DEBUG: 'debug' };
const SHOWN: Readonly<Record<string, string>> = { error: 'ERROR', warn: 'WARNING', info: 'INFO', debug: 'DEBUG' };

const fieldText = (value: unknown): string => {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return /^[^\s"=]*$/.test(s) ? s : JSON.stringify(s);
};

const textFormat = winston.format.printf((info) => {
  const { level, message, timestamp, ...rest } = info;
  const fields = Object.entries(rest)
    .filter(([k, v]) => v !== undefined && typeof k === 'string')
    .map(([k, v]) => `${k}=${fieldText(v)}`)
    .join(' ');
  const lvl = SHOWN[level] ?? level.toUpperCase();
  return `${String(timestamp)} ${lvl.padEnd(7)} ${String(message)}${fields ? ` ${fields}` : ''}`;
});

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: 'text' | 'json';
  /** undefined: stderr; `-`: stdout (a container's log). */
  readonly file: string | undefined;
  /** Added to every line, e.g. the session name. */
  readonly context?: Fields;
}

export function createLogger(o: LoggerOptions): Logger {
  const format =
    o.format === 'json'
      ? winston.format.combine(
          winston.format.timestamp(),
          winston.format((info) => ({ ...info, level: SHOWN[info.level] ?? info.level }))(),
          winston.format.json(),
        )
      : winston.format.combine(winston.format.timestamp(), textFormat);
  const file = o.file === '-' ? undefined : o.file;
  let transport = file !== undefined
    ? new winston.transports.File({ filename: file })
    : new winston.transports.Stream({ stream: o.file === '-' ? process.stdout : process.stderr });
  const w = winston.createLogger({
    level: LEVELS[o.level],
    format,
    defaultMeta: o.context ?? {},
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- winston's own transports; the rule trips on winston-transport's two type copies
    transports: [transport],
  });
  const at =
    (level: string) =>
    (message: string, fields?: Fields): void => {
      w.log(level, message, fields ?? {});
    };
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    reopen: () => {
      if (file === undefined) return;
      // The new file first: no line is lost between the two.
      const fresh = new winston.transports.File({ filename: file });
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- as above
      w.add(fresh);
      const old = transport;
      transport = fresh;
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- as above
      w.remove(old);
      old.close?.();
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (file === undefined) {
          resolve();
          return;
        }
        w.on('finish', () => {
          resolve();
        });
        w.end();
      }),
  };
}

/** Records lines in memory: for unit tests of modules that log. */
export function memoryLogger(lines: string[] = []): Logger & { lines: string[] } {
  const at =
    (lvl: string) =>
    (m: string, f?: Fields): void => {
      lines.push(`${lvl} ${m}${f ? ` ${JSON.stringify(f)}` : ''}`);
    };
  return { lines, error: at('ERROR'), warn: at('WARNING'), info: at('INFO'), debug: at('DEBUG'), close: () => Promise.resolve(), reopen: () => undefined };
}
