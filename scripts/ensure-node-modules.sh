#!/usr/bin/env bash
# Installs the npm dependencies from package-lock.json when they are missing or older than the lock file,
# so that the README's commands work on a fresh clone without a separate `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ensure-node-modules: running npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
