// An RsyncPlan with nothing switched on, for tests of the argv and of batches: -a, no
// filters, no remote shell, the given ends.
import type { RsyncPlan } from '../../src/sync/rsync-argv.js';

export function rsyncPlan(o: Partial<RsyncPlan> = {}): RsyncPlan {
  return {
    flags: new Set(),
    bwlimit: undefined,
    timeout: undefined,
    extra: [],
    filters: [],
    ignoreDeletes: false,
    maxDelete: undefined,
    rsh: undefined,
    rsyncPath: undefined,
    source: '/srv/master/',
    dest: '/srv/slave/',
    ...o,
  };
}
