#!/usr/bin/env bash
# Builds the tools image of the backup, restore and drill pods as an OCI image archive, from Debian trixie packages
# (mmdebstrap) and the agent bundled into one file (esbuild), packed with umoci. Byte-identical from run to run with the
# same mirror content: SOURCE_DATE_EPOCH is fixed, the root and the archive are sorted tars without times or owners
# of this machine, and no step writes a random id.
#
#   bash images/tools/build.sh            (npm run image)  -> .tmp/image/controlplane-backup-tools.oci.tar
#   bash images/tools/build.sh --key      prints the cache key of the build's inputs (this recipe, the agent bundle)
#
# Environment: OUT_DIR (default .tmp/image), MIRROR (default http://deb.debian.org/debian; a snapshot.debian.org URL
# pins the package versions for reproducing an old build), SOURCE_DATE_EPOCH (default below). Needs root (mmdebstrap
# installs the packages with their maintainer scripts in a chroot) and the Debian packages mmdebstrap and umoci
# (scripts/setup-image-tools.sh installs them).
# mmdebstrap runs each hook with $1 set to the root being built: the single quotes are meant.
# shellcheck disable=SC2016
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out_dir=${OUT_DIR:-$repo/.tmp/image}
mirror=${MIRROR:-http://deb.debian.org/debian}
suite=trixie
# 2026-01-01T00:00:00Z: every timestamp in the image and the archive. Change it only with the recipe.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
export TZ=UTC LC_ALL=C.UTF-8
name=controlplane-backup-tools
archive=$out_dir/$name.oci.tar
uid=65532

# What the agent needs: node for the bundle, etcd/etcdctl/etcdutl 3.5 (snapshot save/restore, the drill's etcd),
# zstd and age for the data path, CA certificates for TLS to object stores.
PACKAGES=(nodejs etcd-server etcd-client zstd age ca-certificates)

mkdir -p "$out_dir/debs"
work=$(mktemp -d "$out_dir/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. The agent, one file: node shebang, no cdk8s or synthesis code (lib/agent/bin.ts imports the agent only).
bundle=$work/controlplane-backup
version=$(node -p 'require(process.argv[1]).version' "$repo/package.json")
"$repo/node_modules/.bin/esbuild" "$repo/lib/agent/bin.ts" --bundle --platform=node --target=node20 --format=cjs \
  --legal-comments=none --log-level=warning --banner:js='#!/usr/bin/node' --outfile="$bundle"
# The inputs of the image besides the mirror's packages: the tests rebuild the image when this key changes.
key=$(cat "$here"/* "$bundle" | sha256sum | cut -c1-16)
if [ "${1:-}" = --key ]; then
  echo "$key"
  exit 0
fi

for tool in mmdebstrap umoci mmtarfilter; do
  command -v "$tool" >/dev/null || { echo "build: $tool is missing: run scripts/setup-image-tools.sh (as root)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "build: run as root (mmdebstrap installs packages in a chroot)" >&2; exit 1; }

# 2. The root filesystem. Variant essential: packages are installed with their maintainer scripts (ca-certificates
# builds its bundle, etcd-server adds its user), which needs dpkg and a shell at build time; the custom variant needs
# the same (dpkg and /bin/sh for the scripts) and the extract variant skips the maintainer scripts. Docs, man pages
# and translations are not installed. Downloaded .debs are kept in OUT_DIR/debs for the next build.
include=$(IFS=,; echo "${PACKAGES[*]}")
hooks=(
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives'
  --setup-hook="sync-in '$out_dir/debs' /var/cache/apt/archives"
  --customize-hook="sync-out /var/cache/apt/archives '$out_dir/debs'"
  --customize-hook="upload '$bundle' /usr/local/bin/controlplane-backup"
  --customize-hook='chmod 0755 "$1"/usr/local/bin/controlplane-backup'
  # The pods' user (Kubernetes gives it by number; a name keeps tools that look it up quiet).
  --customize-hook="echo 'nonroot:x:$uid:$uid:nonroot:/nonexistent:/usr/sbin/nologin' >> \"\$1\"/etc/passwd"
  --customize-hook="echo 'nonroot:x:$uid:' >> \"\$1\"/etc/group"
  # The same bytes on every host: mmdebstrap copies the host's resolv.conf and hostname.
  --customize-hook='rm -f "$1"/etc/resolv.conf "$1"/etc/hostname'
)
# Nothing in the pods needs a shell: the agent runs them. Remove every shell (the essential set brings dash and bash
# for the maintainer scripts).
hooks+=(--customize-hook='rm -f "$1"/bin/sh "$1"/usr/bin/sh "$1"/usr/bin/dash "$1"/usr/bin/bash "$1"/usr/bin/rbash "$1"/usr/bin/sh.distrib')
mmdebstrap --quiet --mode=root --variant=essential --include="$include" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --skip=essential/unlink "${hooks[@]}" \
  "$suite" "$work/root-dev.tar" "$mirror"
# Device nodes are the runtime's business, not the image's.
mmtarfilter --path-exclude='/dev/*' <"$work/root-dev.tar" >"$work/root.tar"
rm "$work/root-dev.tar"

# 3. The OCI image: one layer, the pods' user, the agent as entrypoint, fixed times, no extra history.
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
layout=$work/oci
umoci init --layout "$layout"
umoci new --image "$layout:latest"
umoci raw add-layer --image "$layout:latest" --history.created "$created" \
  --history.created_by "mmdebstrap --variant=essential $suite ($include) + controlplane-backup" "$work/root.tar"
umoci config --image "$layout:latest" --no-history --created "$created" --architecture amd64 --os linux \
  --config.user "$uid:$uid" --config.workingdir / --config.entrypoint /usr/local/bin/controlplane-backup \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.label org.opencontainers.image.title=controlplane-backup-tools \
  --config.label "org.opencontainers.image.version=$version"
umoci gc --layout "$layout"

# 4. The archive (skopeo's oci-archive: a tar of the layout): sorted, fixed times and owners.
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --format=gnu \
  -C "$layout" -cf "$work/image.tar" .
mv "$work/image.tar" "$archive"
echo "$key" >"$archive.key"

digest=$(sha256sum "$archive" | cut -d' ' -f1)
size=$(stat -c %s "$archive")
manifest=$(tar -xOf "$archive" ./index.json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).manifests[0].digest))')
echo "image: $archive"
echo "archive sha256: $digest"
echo "archive size: $size bytes ($((size / 1024 / 1024)) MiB)"
echo "manifest digest: $manifest (the registry digest after skopeo copy: reference the image by it)"
