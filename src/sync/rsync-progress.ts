/**
 * rsync's `--info=progress2` lines → numbers. Pure. rsync rewrites one line with \r:
 *
 *        8683520  43%    7.85MB/s    0:00:01
 *       20000000 100%    7.84MB/s    0:00:02 (xfr#1, to-chk=0/1)
 *
 * (bytes so far, percent of the total known so far, rate, elapsed or remaining time, then the
 * files transferred and those left to check; `ir-chk` while the file list is still growing).
 */
export interface RsyncProgress {
  readonly bytes: number;
  readonly percent: number;
  readonly rate: string;
  readonly time: string;
  readonly files?: number;
  readonly toCheck?: number;
  readonly total?: number;
  /** The total is not final yet (incremental recursion still scanning). */
  readonly scanning?: boolean;
}

const LINE = /^\s*(\d+)\s+(\d+)%\s+(\S+\/s)\s+(\d+:\d\d:\d\d)(?:\s+\(xfr#(\d+), (to|ir)-chk=(\d+)\/(\d+)\))?\s*$/;

export function parseProgress(line: string): RsyncProgress | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, bytes = '0', percent = '0', rate = '', time = '', files, kind, toCheck, total] = m;
  return {
    bytes: Number(bytes),
    percent: Number(percent),
    rate,
    time,
    ...(files === undefined ? {} : { files: Number(files), toCheck: Number(toCheck), total: Number(total), scanning: kind === 'ir' }),
  };
}

/** One line for a person: `8683520 bytes (43%), 7.85MB/s, 12 files sent, 88 of 200 left to check`. */
export function describeProgress(p: RsyncProgress): string {
  const files = p.files === undefined ? '' : `, ${p.files} files sent, ${p.toCheck ?? 0} of ${p.total ?? 0}${p.scanning === true ? '+' : ''} left to check`;
  return `${p.bytes} bytes (${p.percent}%), ${p.rate}${files}`;
}
