#!/usr/bin/env bash
# Installs the Debian packages that build the tools image (mmdebstrap, umoci; mmtarfilter comes with mmdebstrap),
# only when a command is missing. Idempotent; the host's apt sources are left as they are (both are bookworm packages).
set -euo pipefail
missing=()
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
command -v umoci >/dev/null 2>&1 || missing+=(umoci)
[ "${#missing[@]}" -eq 0 ] && exit 0
exec bash "$(dirname "$0")/apt-install.sh" setup-image-tools "${missing[@]}"
