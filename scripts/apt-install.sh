#!/usr/bin/env bash
# Installs Debian packages for a setup script, as root only: `apt-install.sh WHO PACKAGE...` (WHO names the caller in
# its messages). The host's apt sources are left as they are.
set -euo pipefail
who=$1
shift
if [ "$(id -u)" -ne 0 ]; then
  echo "$who: missing packages $* and not root: install them with apt-get" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$@" >/dev/null
echo "$who: installed $*"
