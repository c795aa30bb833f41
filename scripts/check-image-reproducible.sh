#!/usr/bin/env bash
# Builds the tools image a second time, in a separate output folder with its own package cache, and fails unless the
# archive is byte-identical to the one `npm run image` built (CI runs it after the tests, which built the first).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
first=$repo/.tmp/image/controlplane-backup-tools.oci.tar
[ -f "$first" ] || bash "$repo/images/tools/build.sh"
again=$repo/.tmp/image-again
rm -rf "$again"
OUT_DIR=$again bash "$repo/images/tools/build.sh"
a=$(sha256sum "$first" | cut -d' ' -f1)
b=$(sha256sum "$again/controlplane-backup-tools.oci.tar" | cut -d' ' -f1)
echo "first build:  sha256:$a"
echo "second build: sha256:$b"
if [ "$a" != "$b" ]; then
  echo "check-image-reproducible: the two builds differ" >&2
  exit 1
fi
rm -rf "$again"
echo "check-image-reproducible: byte-identical"
