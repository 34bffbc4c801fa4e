/**
 * `gsyncd verify` against an SSH slave: the slave's gsyncd walks its tree and sends it a
 * page at a time over the channel, in the order the local walk uses.
 */
import type { RemoteLister } from '../cli/verify.js';
import { VERSION } from '../cli/version.js';
import { describeEndpoint } from '../endpoint/parse.js';
import { ExitCode, GsyncdError } from '../errors.js';
import { createLogger } from '../log/logger.js';
import { SlaveLink } from '../session/slave-link.js';
import type { TreeEntry } from '../verify/entry.js';
import { SshMaster } from './ssh-master.js';
import { splitWords } from './shell-words.js';

export const remoteTree: RemoteLister = (slave, o) => ({
  async *[Symbol.asyncIterator](): AsyncGenerator<TreeEntry> {
    const ssh = new SshMaster({ rsh: splitWords(o.rsh), endpoint: slave });
    // Quiet: verify's own output is the differences; failures come back as one error line.
    const logger = createLogger({ level: 'ERROR', format: 'text', file: undefined });
    const label = describeEndpoint(slave);
    try {
      try {
        await ssh.start();
      } catch (e) {
        throw new GsyncdError(`slave ${label} unreachable: ${e instanceof Error ? e.message : String(e)}`, ExitCode.unreachable);
      }
      const link = new SlaveLink(ssh, { remoteGsyncd: o.remoteGsyncd, root: slave.path, slaveTimeout: 120, version: VERSION, label, logger, readOnly: true });
      await link.connectFirst();
      try {
        const channel = link.current();
        if (!channel) throw new GsyncdError(`slave ${label}: the channel closed`, ExitCode.unreachable);
        for await (const entry of channel.list(o.checksum)) yield entry as TreeEntry;
      } finally {
        await link.close();
      }
    } finally {
      await ssh.close();
      await logger.close();
    }
  },
});
