/**
 * Where a session's renames are replayed: directly under a local slave's root, or by the
 * slave gsyncd over its channel when its hello reply says it replays them. A slave with
 * rsync only (--remote-gsyncd none) replays none: its renames are sent as data.
 */
import { applyEntryOp } from '../slave/entry-ops.js';
import type { ReplayOp } from './entry-replay.js';
import type { SessionParts } from './parts.js';

export interface ReplayTarget {
  /** Whether renames are replayed now (a remote slave says so once reached). */
  readonly replayable: () => boolean;
  readonly replay: () => ReplayOp | undefined;
}

export function replayTarget(p: Pick<SessionParts, 'slave' | 'link'>): ReplayTarget {
  const slave = p.slave;
  if (slave.kind === 'local') {
    const op: ReplayOp = (o) => applyEntryOp(slave.path, o);
    return { replayable: () => true, replay: () => op };
  }
  const link = p.link;
  const replayable = (): boolean => link?.reply?.entry_ops?.includes('rename') === true;
  return {
    replayable,
    replay: () => {
      const channel = link?.current();
      if (channel === undefined || !replayable()) return undefined;
      return async (o) => {
        const r = await channel.request({ type: 'entry', id: channel.newId(), ...o });
        if (r.type !== 'entry') throw new Error(`the slave answered a rename with a ${r.type} reply`);
        return r.result === 'done' ? { result: 'done' } : { result: r.result, reason: r.reason };
      };
    },
  };
}
