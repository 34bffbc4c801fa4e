/** Reads rsync's --stats block (printed with --no-human-readable). Pure. */

export interface RsyncStats {
  /** Regular files whose data was sent. */
  readonly filesTransferred: number;
  readonly filesCreated: number;
  readonly filesDeleted: number;
  /** Bytes of file data transferred. */
  readonly bytes: number;
  /** Of those, the bytes sent as they are (not matched in the slave's copy): the delta's weight. */
  readonly literal: number;
}

const field = (text: string, label: string): number => {
  const m = new RegExp(`^${label}: ([\\d,]+)`, 'm').exec(text);
  return m?.[1] ? Number(m[1].replace(/,/g, '')) : 0;
};

export function parseRsyncStats(stdout: string): RsyncStats {
  return {
    filesTransferred: field(stdout, 'Number of regular files transferred'),
    filesCreated: field(stdout, 'Number of created files'),
    filesDeleted: field(stdout, 'Number of deleted files'),
    bytes: field(stdout, 'Total transferred file size'),
    literal: field(stdout, 'Literal data'),
  };
}

/** rsync's output without the stats block, for the log. */
export function withoutStats(stdout: string): string {
  return stdout
    .split('\n')
    .filter((l) => l !== '' && !/^(Number of|Total |Literal data|Matched data|File list|sent \d|total size is)/.test(l))
    .join('\n');
}
