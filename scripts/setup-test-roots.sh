#!/usr/bin/env bash
# The root filesystems the test pods run in, and the etcd the tests start (called by test/global-setup.ts, so by every
# vitest run; idempotent, about a second when nothing changed):
#
#   .tmp/test-world/roots/tools-<key>/   the tools image as `npm run image` builds it, unpacked from its OCI archive;
#                                        rebuilt when the recipe or the agent bundle changes (<key>: build.sh --key)
#   .tmp/test-world/roots/etcd-3.5/      stands for registry.k8s.io/etcd: only /usr/local/bin/etcd, etcdctl, etcdutl
#                                        from Debian trixie's etcd 3.5 packages, the loader and libc.so.6 (no shell)
#   .tmp/test-world/etcd-3.5/usr/bin/    the same etcd binaries for the etcd servers of the tests (they run on this
#                                        host: they need nothing newer than glibc 2.34)
#   .tmp/test-world/roots/moto/          Debian trixie's moto server (S3, STS) for test/support/moto.ts (setup-moto-root.sh)
#   .tmp/test-world/roots.json           where each is, read by test/support/roots.ts
#
# The trixie packages are fetched with `apt-get download` and a private sources list, and unpacked with `dpkg -x`:
# nothing is installed on the host and its apt sources stay as they are.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
world=$repo/.tmp/test-world
mirror=${MIRROR:-http://deb.debian.org/debian}
mkdir -p "$world/roots"

# --- etcd 3.5 from trixie ---
etcd_pkgs=(etcd-server etcd-client libc6)
etcd_dir=$world/etcd-3.5
etcd_root=$world/roots/etcd-3.5
if [ ! -x "$etcd_dir/usr/bin/etcdutl" ] || [ ! -x "$etcd_root/usr/local/bin/etcd" ]; then
  apt_dir=$world/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
  echo "deb $mirror trixie main" >"$apt_dir/sources.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root -o Debug::NoLocking=1)
  apt-get "${apt_opts[@]}" update -qq
  (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download -qq "${etcd_pkgs[@]}")
  rm -rf "$etcd_dir.new" "$etcd_root.new"
  for deb in "$apt_dir"/debs/*.deb; do dpkg -x "$deb" "$etcd_dir.new"; done
  "$etcd_dir.new/usr/bin/etcdutl" version >/dev/null
  # The distroless root: the binaries where the upstream image has them, the loader where they ask for it.
  mkdir -p "$etcd_root.new/usr/local/bin" "$etcd_root.new/lib64" "$etcd_root.new/usr/lib/x86_64-linux-gnu"
  cp "$etcd_dir.new"/usr/bin/etcd "$etcd_dir.new"/usr/bin/etcdctl "$etcd_dir.new"/usr/bin/etcdutl "$etcd_root.new/usr/local/bin/"
  cp "$etcd_dir.new/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$etcd_root.new/lib64/"
  cp "$etcd_dir.new/usr/lib/x86_64-linux-gnu/libc.so.6" "$etcd_root.new/usr/lib/x86_64-linux-gnu/"
  chmod 0755 "$etcd_root.new"
  rm -rf "$etcd_dir" "$etcd_root"
  mv "$etcd_dir.new" "$etcd_dir"
  mv "$etcd_root.new" "$etcd_root"
  echo "setup-test-roots: etcd $("$etcd_dir/usr/bin/etcdutl" version | head -1 | cut -d' ' -f3) from trixie in $etcd_dir and $etcd_root"
fi

# --- the tools image ---
key=$(bash "$repo/images/tools/build.sh" --key)
archive=$repo/.tmp/image/controlplane-backup-tools.oci.tar
if [ ! -f "$archive" ] || [ "$(cat "$archive.key" 2>/dev/null)" != "$key" ]; then
  echo "setup-test-roots: building the tools image (inputs changed or no image yet)"
  bash "$repo/scripts/setup-image-tools.sh"
  bash "$repo/images/tools/build.sh" >&2
fi
tools_root=$world/roots/tools-$key
if [ ! -d "$tools_root" ]; then
  rm -rf "$world"/roots/tools-*
  json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(eval("JSON.parse(s)"+process.argv[1])))' "$1"; }
  manifest=$(tar -xOf "$archive" ./index.json | json '.manifests[0].digest')
  layer=$(tar -xOf "$archive" "./blobs/sha256/${manifest#sha256:}" | json '.layers[0].digest')
  mkdir -p "$tools_root.new"
  tar -xOf "$archive" "./blobs/sha256/${layer#sha256:}" | tar -xz --numeric-owner -C "$tools_root.new"
  mv "$tools_root.new" "$tools_root"
  echo "setup-test-roots: tools image unpacked in $tools_root"
fi

printf '{"tools":"%s","etcd":"%s","etcdBin":"%s","archive":"%s"}\n' "$tools_root" "$etcd_root" "$etcd_dir/usr/bin" "$archive" >"$world/roots.json"

# --- moto (S3 + STS) from trixie, for the workload identity and Object Lock tests ---
bash "$repo/scripts/setup-moto-root.sh"
