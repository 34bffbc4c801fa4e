#!/usr/bin/env bash
# The README's quick start: a live mirror of a demo tree, outside this checkout. Makes (or
# takes) DIR/master with a few files, mirrors it into DIR/slave, keeps the session's state
# in DIR/state, says where each is, and runs in the foreground until Ctrl-C.
# Usage: npm run demo [-- DIR]   (default DIR: /tmp/gsyncd-demo)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd -P)"
refuse() { printf 'demo: %s\n' "$*" >&2; exit 2; }
dir="${1:-/tmp/gsyncd-demo}"
case "$dir" in *:*) refuse "$dir: a ':' would make the slave an SSH address; choose a plain directory" ;; esac
dir="$(realpath -m -- "$dir")"
case "$dir/" in "$here"/*) refuse "$dir is inside this checkout; choose a directory outside it" ;; esac
mkdir -p "$dir"
# The demo's own directory only: never a tree someone keeps there (the slave side is mirrored over).
if [ -n "$(ls -A "$dir")" ] && [ ! -e "$dir/.gsyncd-demo" ]; then
  refuse "$dir holds files the demo did not make; choose an empty or new directory"
fi
touch "$dir/.gsyncd-demo"
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
