/** Capped exponential backoff with jitter, so that many sessions do not retry in step. Pure. */
export function backoffMs(attempt: number, baseMs = 1000, capMs = 60_000, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  // Between half and all of the ceiling.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
