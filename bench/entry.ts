// A bench's command line: its options parsed (a bad one: the message, the usage, exit 2),
// --help, then its run, with every daemon it started killed should the run throw (exit 1).
import { killAll } from './proc.js';

export function runBench<O>(name: string, usage: string, parse: (argv: readonly string[]) => O | 'help', main: (o: O) => Promise<number>): void {
  let parsed: O | 'help';
  try {
    parsed = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    process.exit(2);
  }
  if (parsed === 'help') {
    console.log(usage);
    return;
  }
  main(parsed).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      killAll();
      console.error(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exitCode = 1;
    },
  );
}
