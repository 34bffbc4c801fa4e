#!/usr/bin/env bash
# Makes sure what gsyncd and its tests need is here: Node.js 20+, rsync, OpenSSH, the npm
# packages. Installs what is missing with apt-get when run as root on Debian or Ubuntu;
# otherwise says exactly what to install. Usage: scripts/ensure-deps.sh [--runtime|--bench]
#   --runtime  only what a mirror needs (no sshd)
#   --bench    also lsyncd, the peer the benchmark compares against
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'ensure-deps: %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi

# command → Debian package
declare -A pkg=([rsync]=rsync [ssh]=openssh-client)
[ "${1:-}" = --runtime ] || pkg[/usr/sbin/sshd]=openssh-server
[ "${1:-}" = --bench ] && pkg[lsyncd]=lsyncd

missing=()
for cmd in "${!pkg[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg[$cmd]}")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "missing: ${missing[*]}; install them (e.g. sudo apt-get install ${missing[*]}) and run again"
    exit 1
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
