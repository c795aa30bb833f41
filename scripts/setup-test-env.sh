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
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-test-env: missing packages ${pkgs[*]} and not root: install them with apt-get" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
echo "setup-test-env: installed ${pkgs[*]}"
