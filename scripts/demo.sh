#!/usr/bin/env bash
# The README's quick start: a live mirror of a demo tree, outside this checkout. Makes (or
# takes) DIR/master with a few files, mirrors it into DIR/slave, keeps the session's state
# in DIR/state, says where each is, and runs in the foreground until Ctrl-C.
# Usage: npm run demo [-- DIR]   (default DIR: /tmp/gsyncd-demo)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-/tmp/gsyncd-demo}"
case "$dir" in
  "$here" | "$here"/*) printf 'demo: %s is inside this checkout; choose a directory outside it\n' "$dir" >&2; exit 2 ;;
esac
master="$dir/master" slave="$dir/slave" state="$dir/state"
mkdir -p "$master" "$slave" "$state"
if [ -z "$(ls -A "$master")" ]; then
  mkdir -p "$master/docs" "$master/photos/2026"
  printf 'Edit me: the slave follows.\n' > "$master/README.txt"
  printf 'notes\n' > "$master/docs/notes.txt"
  head -c 200000 /dev/urandom > "$master/photos/2026/beach.jpg"
fi
cat >&2 <<MSG
demo: master (edit files here): $master
demo: slave  (watch it follow): $slave
demo: state  (gsyncd status --state-dir $state): $state
demo: Ctrl-C stops it cleanly; run it again to resume where it stopped.
MSG
exec node "$here/bin/gsyncd" --state-dir "$state" --session demo "$master" "$slave"
