#!/usr/bin/env bash
# The whole suite, as CI runs it: build, lint, then every test with Node's test runner.
#   1. eslint starts first, beside everything else (it reads the sources, not dist/); its
#      report follows the tests';
#   2. tsc builds src/ and the tests into dist/, and esbuild bundles the CLI (scripts/bundle.ts);
#   3. test/serial/ runs alone: it changes something machine-wide for a moment (the kernel's
#      inotify event queue length) that other tests' watchers would feel;
#   4. the rest runs five files at a time (half of the time they wait on sessions, ssh and
#      rsync), in path order, which puts the longest first: container/ (the image),
#      differential/ (gsyncd against rsync on every rule set), then e2e/ and unit/.
# As root it mounts filesystems, makes network and user namespaces and builds the container
# image; elsewhere those tests are skipped with a message. Usage: scripts/test.sh [--unit]
#   --unit  only build and run test/unit/ (under a minute)
set -uo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  "") unit_only=false ;;
  --unit) unit_only=true ;;
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "scripts/test.sh: unknown argument '$1' (usage: scripts/test.sh [--unit])" >&2; exit 2 ;;
esac

scripts/ensure-deps.sh || exit 1
if ! $unit_only; then
  lint_log=$(mktemp)
  trap 'rm -f "$lint_log"' EXIT
  npx eslint . >"$lint_log" 2>&1 &
  lint=$!
fi
rm -rf dist
npx tsc -p tsconfig.json && node dist/scripts/bundle.js || exit 1

# Where TLS goes through an intercepting proxy, NODE_EXTRA_CA_CERTS names its CA, and node
# reads that bundle at every start (0.04 s of CPU for 144 certificates, measured), even in
# processes that open no TLS connection, which is all of them but the image build's npm ci.
# The suite starts about 600 node processes: the image test alone gets the variable back.
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  export GSYNCD_TEST_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"
  unset NODE_EXTRA_CA_CERTS
fi
if $unit_only; then
  exec node --test --test-reporter=spec dist/test/unit/
fi

status=0
node --test --test-reporter=spec dist/test/serial/ || status=1
node --test --test-concurrency=5 --test-reporter=spec dist/test/container/ dist/test/differential/ dist/test/e2e/ dist/test/unit/ || status=1

if ! wait "$lint"; then
  echo "eslint found problems:" >&2
  cat "$lint_log" >&2
  status=1
fi
exit "$status"
