// Waiting on conditions instead of sleeping: every wait is bounded and says what it
// waited for when it gives up.
import { setTimeout as delay } from 'node:timers/promises';

export interface PollOptions {
  timeoutMs: number;
  intervalMs?: number;
}

/**
 * Calls `probe` until it returns something other than `undefined`, and returns that.
 * On timeout, throws with `describe()` (called then, so it can report the last state).
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  describe: () => string,
  { timeoutMs, intervalMs = 100 }: PollOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}`);
    }
    await delay(intervalMs);
  }
}

/** Resolves with the promise's value, or rejects with `message` after `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${timeoutMs} ms: ${message}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
