#!/usr/bin/env bash
# The root filesystem the moto server of the tests runs in (S3 with versioning and Object Lock, IAM, STS
# AssumeRoleWithWebIdentity): Debian trixie's python3-moto, built by mmdebstrap (called by setup-test-roots.sh;
# idempotent: rebuilt only when the package list changes). test/support/moto.ts starts `moto_server` in it with
# `unshare --root`, so nothing of it is installed on the host.
#
#   .tmp/test-world/roots/moto/      the root; .tmp/test-world/roots/moto.key holds the package list it was built from
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
world=$repo/.tmp/test-world
mirror=${MIRROR:-http://deb.debian.org/debian}
root=$world/roots/moto
# moto_server is moto's Flask app: flask and flask-cors are only Recommends of python3-moto, which mmdebstrap skips.
packages=python3-moto,python3-flask,python3-flask-cors,python3-openssl,ca-certificates
key="trixie $packages"
if [ -x "$root/usr/bin/moto_server" ] && [ "$(cat "$root.key" 2>/dev/null)" = "$key" ]; then exit 0; fi
bash "$repo/scripts/setup-image-tools.sh"
rm -rf "$root.new"
mkdir -p "$world/roots"
start=$(date +%s)
mmdebstrap --quiet --variant=essential --include="$packages" trixie "$root.new" "$mirror" >&2
"$(command -v unshare)" --root="$root.new" /usr/bin/python3 -c 'import moto, flask; print(moto.__version__)' >/dev/null
rm -rf "$root"
mv "$root.new" "$root"
printf '%s\n' "$key" >"$root.key"
echo "setup-moto-root: moto $(unshare --root="$root" /usr/bin/python3 -c 'import moto; print(moto.__version__)') from trixie in $root ($(( $(date +%s) - start )) s)"
