/**
 * Checkpoints: `gsyncd checkpoint SESSION [now|TIME]` writes the time into the session's
 * directory; the running session completes it once everything changed on the master before
 * it is on the slave, and records that in its status. Pure parsing plus two small file I/Os.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from './atomic-write.js';

const FILE = 'checkpoint.json';

/** `now` or a date the way people write it (ISO 8601, or anything Date understands). */
export function parseCheckpointTime(text: string, now: Date = new Date()): Date | undefined {
  if (text === 'now') return now;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : new Date(t);
}

export async function readCheckpoint(sessionDir: string): Promise<string | undefined> {
  try {
    const v = JSON.parse(await readFile(path.join(sessionDir, FILE), 'utf8')) as { time?: unknown };
    return typeof v.time === 'string' && !Number.isNaN(Date.parse(v.time)) ? v.time : undefined;
  } catch {
    return undefined;
  }
}

export async function writeCheckpoint(sessionDir: string, time: Date): Promise<void> {
  await writeAtomic(path.join(sessionDir, FILE), `${JSON.stringify({ time: time.toISOString() })}\n`);
}
