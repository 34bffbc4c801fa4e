/**
 * The remote shell rsync runs (`-e`) when its stream goes through the slave channel: it
 * joins the running session on its socket and becomes the pipe. rsync calls it as it calls
 * ssh, `rsh-join SOCKET [-l USER] HOST rsync --server …`; the session has the slave gsyncd
 * run that command (checked there) and carries its bytes. No shell and no SSH session start.
 * Kept to Node's own modules: its start-up is every batch's (about 40 ms).
 */
import { connect } from 'node:net';
import { FRAME, FrameReader } from './rsh-frames.js';

const [socket, ...args] = process.argv.slice(2);
const skip = args[0] === '-l' ? 2 : 0;
const words = args.slice(skip + 1);
if (socket === undefined || words.length === 0) {
  process.stderr.write('rsh-join: usage: rsh-join SOCKET [-l USER] HOST COMMAND...\n');
  process.exit(255);
}
const conn = connect(socket);
let exited = false;
conn.on('error', (e) => {
  process.stderr.write(`gsyncd: cannot join the session for an rsync run: ${e.message}\n`);
  process.exit(255);
});
conn.write(`${JSON.stringify({ words })}\n`);
const reader = new FrameReader();
conn.on('data', (d: Buffer) => {
  reader.push(d, (kind, payload) => {
    if (kind === FRAME.ready) process.stdin.pipe(conn);
    else if (kind === FRAME.stdout) {
      if (!process.stdout.write(payload)) {
        conn.pause();
        process.stdout.once('drain', () => conn.resume());
      }
    } else if (kind === FRAME.stderr) process.stderr.write(payload);
    else if (kind === FRAME.exit) {
      exited = true;
      const code = Number(payload.toString());
      // Everything rsync's remote end said is written before the status.
      process.stdout.write('', () => process.exit(Number.isInteger(code) ? code : 255));
    }
  });
});
conn.on('close', () => {
  if (!exited) process.exit(255);
});
