#!/usr/bin/env bash
# Installs the Debian packages that build the tools image (mmdebstrap, umoci; mmtarfilter comes with mmdebstrap),
# only when a command is missing. Idempotent; the host's apt sources are left as they are (both are bookworm packages).
set -euo pipefail
missing=()
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
command -v umoci >/dev/null 2>&1 || missing+=(umoci)
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-image-tools: missing packages ${missing[*]} and not root: install them with apt-get" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-image-tools: installed ${missing[*]}"
