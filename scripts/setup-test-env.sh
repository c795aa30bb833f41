#!/usr/bin/env bash
# Installs the OS packages the tests need (Debian/Ubuntu), only when a command is missing. Idempotent.
# Run as root (CI, fresh dev machine). Prints what it installed.
set -euo pipefail

# command -> Debian package
declare -A PKG=(
  [etcd]=etcd-server [etcdctl]=etcd-client [shellcheck]=shellcheck [busybox]=busybox [dash]=dash
  [age]=age [age-keygen]=age [rclone]=rclone [zstd]=zstd [openssl]=openssl [unshare]=util-linux
  [nsenter]=util-linux [ip]=iproute2 [gzip]=gzip [tar]=tar [sha256sum]=coreutils [od]=coreutils
  [timeout]=coreutils [awk]=mawk [find]=findutils [curl]=curl [promtool]=prometheus
)
missing=()
for cmd in "${!PKG[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG[$cmd]}")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-test-env: all test tools present"
  exit 0
fi
mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
exec bash "$(dirname "$0")/apt-install.sh" setup-test-env "${pkgs[@]}"
