/**
 * Bundles the compiled CLI (dist/src/cli/main.js) into dist/bundle/cli/: one file per
 * command loaded on demand, plus shared chunks. A gsyncd process then reads a few files
 * instead of several hundred (execa alone is about a hundred modules): measured on 2 cores,
 * an invocation that fails on a bad flag took 0.45 s of CPU unbundled and 0.23 s bundled;
 * every `gsyncd slave` started over SSH pays the same. dist/bundle/cli/ sits as deep as
 * dist/src/cli/, so the paths the code derives from import.meta.url (package.json, conf/)
 * hold in both. @parcel/watcher stays a package of its own: it loads a native module.
 */
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry a hash of their content: without this, every rebuild would leave the
// previous chunks behind, to be shipped with the package and the image.
rmSync('dist/bundle/cli', { recursive: true, force: true });
await build({
  entryPoints: ['dist/src/cli/main.js'],
  outdir: 'dist/bundle/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@parcel/watcher'],
  // CommonJS dependencies (winston, commander) call require(); ESM output has none of its own.
  banner: { js: "import { createRequire as gsyncdCreateRequire } from 'node:module'; const require = gsyncdCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
