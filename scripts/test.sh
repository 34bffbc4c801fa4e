#!/usr/bin/env bash
# The whole suite, as CI runs it: build, lint, then every test with Node's test runner.
#   1. tsc builds src/ and the tests into dist/, and esbuild bundles the CLI (scripts/bundle.ts);
#   2. eslint starts beside the tests (its CPU overlaps their waits); its report follows theirs;
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
rm -rf dist
npx tsc -p tsconfig.json && node dist/scripts/bundle.js || exit 1
if $unit_only; then
  exec node --test --test-reporter=spec dist/test/unit/
fi

lint_log=$(mktemp)
trap 'rm -f "$lint_log"' EXIT
npx eslint . >"$lint_log" 2>&1 &
lint=$!

status=0
node --test --test-reporter=spec dist/test/serial/ || status=1
node --test --test-concurrency=5 --test-reporter=spec dist/test/container/ dist/test/differential/ dist/test/e2e/ dist/test/unit/ || status=1

if ! wait "$lint"; then
  echo "eslint found problems:" >&2
  cat "$lint_log" >&2
  status=1
fi
exit "$status"
