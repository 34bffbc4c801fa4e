/**
 * `node snapshot-child.js write|diff ROOT FILE [IGNORE...]`: the watcher's snapshot of ROOT,
 * written or compared with the tree, in a process of its own. In the process that watches
 * ROOT, @parcel/watcher answers from its live tree, which misses files written into a new
 * directory before its watch was in place (measured: 367 of 5,000 deletes lost after a
 * restart), and events it dropped under load; a separate process scans the tree afresh
 * (0 of 5,000). `diff` prints one JSON event per line.
 */
import watcher from '@parcel/watcher';

const [mode, root, file, ...ignore] = process.argv.slice(2);
const options = { ignore, ...(process.platform === 'linux' ? { backend: 'inotify' as const } : {}) };

async function main(): Promise<void> {
  if ((mode !== 'write' && mode !== 'diff') || root === undefined || file === undefined) {
    throw new Error('usage: snapshot-child write|diff ROOT FILE [IGNORE...]');
  }
  if (mode === 'write') {
    await watcher.writeSnapshot(root, file, options);
    return;
  }
  const events = await watcher.getEventsSince(root, file, options);
  // Written in pieces: a million events must not become one string.
  for (let i = 0; i < events.length; i += 10_000) {
    const chunk = events.slice(i, i + 10_000).map((e) => `${JSON.stringify({ path: e.path, type: e.type })}\n`).join('');
    if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
