/** Small waits and message helpers shared by the session's parts. */

/** Resolves after `ms`, or at once when `signal` aborts. */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });

/** The first lines of a program's messages, on one line (ssh ends its lines with \r\n). */
export const firstLines = (text: string, n = 5): string =>
  text
    .replace(/\r/g, '')
    .trim()
    .split('\n')
    .slice(0, n)
    .join(' | ');
