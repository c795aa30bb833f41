#!/bin/sh
# controlplane-backup: upload stage of the etcd + PKI backup pod (POSIX sh: dash, busybox sh).
#
# Pod contract
#   init container "snapshot" (etcd image, exec form, no shell):
#     etcdctl --endpoints=<ONE endpoint> --cacert=<ca> --cert=<crt> --key=<key> --dial-timeout=10s
#             --command-timeout=<N>s snapshot save /var/lib/controlplane-backup/scratch/snapshot.db
#   container "upload" (tools image): /bin/sh /opt/controlplane-backup/backup.sh
#     The scripts ConfigMap (backup.sh AND retention.awk) is mounted at /opt/controlplane-backup.
#
# Environment
#   CLUSTER_NAME          required, DNS label; object base name is <cluster>-<yyyymmddThhmmssZ> (UTC)
#   SNAPSHOT_FILE         default /var/lib/controlplane-backup/scratch/snapshot.db; its directory is scratch
#   MIN_SNAPSHOT_BYTES    integer, default 0; a smaller snapshot fails with exit 2
#   COMPRESSION           zstd (default) | gzip | none;  COMPRESSION_LEVEL optional integer
#   SNAPSHOT_ENCRYPTION   none (default) | age;  AGE_RECIPIENTS_FILE: age recipients, one per line, # comments
#   PKI_BACKUP            true | false (default); PKI_PATHS space-separated absolute paths (files or dirs;
#                         Secret volume "..data" symlink farms are archived once, as real files)
#   ENCRYPTION_CONFIG_FILE optional file added to the PKI bundle. The PKI bundle is ALWAYS age-encrypted:
#                         PKI_BACKUP=true without recipients is a config error (exit 3).
#   DESTINATIONS          the destination table itself (the pod spec sets this: the kubelet expands $(VAR)
#                         references in it, e.g. a bucket name from an ObjectBucketClaim's ConfigMap), or
#   DESTINATIONS_FILE     a file with that table; one destination per line, # comments, whitespace-separated columns:
#                           name remote_dir keep_last max_age_hours hourly daily weekly monthly ca_file
#                         remote_dir: rclone path ("remote:bucket/dir", remote configured by RCLONE_CONFIG_<R>_*
#                         env vars) or an absolute local directory. 0 = rule not set. ca_file: PEM bundle or "-".
#                         rclone's --ca-cert REPLACES the system roots, so the CA file is passed per destination
#                         (RCLONE_CA_CERT for that destination's rclone calls only); "-" uses the global
#                         RCLONE_CA_CERT / AWS_CA_BUNDLE if set, else the system roots. AWS_CA_BUNDLE is unset
#                         for rclone (it breaks rclone's S3 backend).
#   NODE_NAME, ETCD_ENDPOINT  recorded in metadata; with ETCDCTL_CACERT/ETCDCTL_CERT/ETCDCTL_KEY the etcd server
#                         version is asked (best effort, bounded; "unknown" otherwise)
#   BACKUP_REQUEST        optional on-demand request name, recorded in metadata
#   RETENTION_AWK         default: retention.awk next to this script
#   RCLONE_*              passed through; defaults set here when unset: RCLONE_CONTIMEOUT=10s RCLONE_TIMEOUT=60s
#                         RCLONE_RETRIES=2 RCLONE_LOW_LEVEL_RETRIES=3 RCLONE_S3_NO_CHECK_BUCKET=true
#                         (a missing bucket is an error, never created) RCLONE_CONFIG="" (env-only config)
#
# Objects per destination, inside remote_dir, upload order as listed:
#   <base>.db[.zst|.gz][.age]          snapshot, streamed: compress | encrypt | tee into one `rclone rcat` per
#                                      destination at once (never a copy in scratch: scratch peak = snapshot + PKI)
#   <base>.pki.tar[.zst|.gz].age       PKI bundle (PKI_BACKUP=true) } one `rclone copy` per destination, while the
#   <base>.meta.json                   metadata                     } destination is listed (snapshot size check)
#   <base>.sha256                      sha256sum-format sidecar of all the above, written LAST = complete set, only
#                                      after the stored snapshot's size matched the bytes produced
# Retention (retention.awk) runs per destination only after that destination's set is complete, on that listing.
# The snapshot is verified (size, sha256 trailer) before the stream starts: nothing leaves the pod before.
#
# Output: exactly one JSON result line on stdout; human messages on stderr prefixed "controlplane-backup:".
# Exit codes: 0 ok; 1 other error; 2 invalid snapshot (missing, too small, truncated, bad sha256 trailer);
#             3 missing tool or invalid configuration; 4 upload failed (at least one destination);
#             5 retention failed (backup itself complete everywhere).

set -u
set -f # no globbing: lists below are split on whitespace only
umask 077

PROG=controlplane-backup
# shellcheck source=common.sh
. "${0%/*}/common.sh"
# Every external command this script runs. The tools image must provide all of them (checked by tests).
REQUIRED_TOOLS="awk cat cut date find head mkdir mkfifo od rclone rm sha256sum sort tail tar tee timeout tr wc"
# Needed depending on configuration: zstd|gzip (COMPRESSION), age (encryption, PKI), etcdutl|etcdctl (status);
# openssl when present hashes faster than sha256sum (common.sh).
# shellcheck disable=SC2034 # read by test/scripts/tools-image.test.ts
OPTIONAL_TOOLS="zstd gzip age etcdutl etcdctl openssl"

RESULT_EMITTED=0
STAGE=init
BASE=""
DEST_JSON=""
OBJ_JSON=""
DB_SIZE=0
REVISION=null
TOTAL_KEYS=null
DELETED_TOTAL=0
DUR_JSON=""
SCRATCH=""
WORK=""
BG_PIDS=""

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }



add_dur() { DUR_JSON="${DUR_JSON:+$DUR_JSON,}\"$1\":$2"; }

emit_result() {
  # $1 status, $2 exit code, $3 message
  [ "$RESULT_EMITTED" = 1 ] && return 0
  RESULT_EMITTED=1
  printf '{"status":"%s","exitCode":%s,"stage":"%s","message":%s,"cluster":%s,"base":%s,"dbSize":%s,"revision":%s,"totalKeys":%s,"objects":[%s],"destinations":[%s],"deleted":%s,"durationsMs":{%s}}\n' \
    "$1" "$2" "$STAGE" "$(json_str "$3")" "$(json_str "${CLUSTER_NAME:-}")" "$(json_str "$BASE")" \
    "$DB_SIZE" "$REVISION" "$TOTAL_KEYS" "$OBJ_JSON" "$DEST_JSON" "$DELETED_TOTAL" "$DUR_JSON"
}

cleanup() {
  # shellcheck disable=SC2086 # pids
  [ -n "$BG_PIDS" ] && kill $BG_PIDS 2>/dev/null
  [ -n "$WORK" ] && [ -d "$WORK" ] && rm -rf "$WORK"
  return 0
}

die() {
  # $1 exit code, rest: message
  _code=$1
  shift
  log "ERROR: $*"
  emit_result failed "$_code" "$*"
  cleanup
  exit "$_code"
}

trap 'log "ERROR: terminated by signal"; emit_result failed 1 "terminated by signal"; cleanup; exit 1' HUP INT TERM



sha256_of() { sha256_file "$1"; }



# ---------------------------------------------------------------------------------------------------
# 1. tools and configuration
STAGE=config
missing=""
for t in $REQUIRED_TOOLS; do
  command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done

CLUSTER_NAME=${CLUSTER_NAME:-}
SNAPSHOT_FILE=${SNAPSHOT_FILE:-/var/lib/controlplane-backup/scratch/snapshot.db}
MIN_SNAPSHOT_BYTES=${MIN_SNAPSHOT_BYTES:-0}
COMPRESSION=${COMPRESSION:-zstd}
COMPRESSION_LEVEL=${COMPRESSION_LEVEL:-}
SNAPSHOT_ENCRYPTION=${SNAPSHOT_ENCRYPTION:-none}
AGE_RECIPIENTS_FILE=${AGE_RECIPIENTS_FILE:-}
PKI_BACKUP=${PKI_BACKUP:-false}
PKI_PATHS=${PKI_PATHS:-}
ENCRYPTION_CONFIG_FILE=${ENCRYPTION_CONFIG_FILE:-}
DESTINATIONS=${DESTINATIONS:-}
DESTINATIONS_FILE=${DESTINATIONS_FILE:-}
NODE_NAME=${NODE_NAME:-}
ETCD_ENDPOINT=${ETCD_ENDPOINT:-}
BACKUP_REQUEST=${BACKUP_REQUEST:-}
RETENTION_AWK=${RETENTION_AWK:-${0%/*}/retention.awk}

case $COMPRESSION in
  zstd) missing_c=zstd ;;
  gzip) missing_c=gzip ;;
  none) missing_c="" ;;
  *) die 3 "COMPRESSION must be zstd, gzip or none (got '$COMPRESSION')" ;;
esac
[ -n "$missing_c" ] && { command -v "$missing_c" >/dev/null 2>&1 || missing="$missing $missing_c"; }
case $SNAPSHOT_ENCRYPTION in
  age | none) ;;
  *) die 3 "SNAPSHOT_ENCRYPTION must be age or none (got '$SNAPSHOT_ENCRYPTION')" ;;
esac
case $PKI_BACKUP in
  true | false) ;;
  *) die 3 "PKI_BACKUP must be true or false (got '$PKI_BACKUP')" ;;
esac
if [ "$SNAPSHOT_ENCRYPTION" = age ] || [ "$PKI_BACKUP" = true ]; then
  command -v age >/dev/null 2>&1 || missing="$missing age"
fi
if command -v etcdutl >/dev/null 2>&1; then
  STATUS_TOOL=etcdutl
elif command -v etcdctl >/dev/null 2>&1; then
  STATUS_TOOL=etcdctl
else
  missing="$missing etcdutl|etcdctl"
fi
[ -n "$missing" ] && die 3 "missing required tool(s):$missing"

case $CLUSTER_NAME in
  '') die 3 "CLUSTER_NAME is required" ;;
  -* | *- | *[!a-z0-9-]*) die 3 "CLUSTER_NAME must be a DNS label (got '$CLUSTER_NAME')" ;;
esac
[ "${#CLUSTER_NAME}" -le 63 ] || die 3 "CLUSTER_NAME must be at most 63 characters"
is_uint "$MIN_SNAPSHOT_BYTES" || die 3 "MIN_SNAPSHOT_BYTES must be a non-negative integer (got '$MIN_SNAPSHOT_BYTES')"
if [ -n "$COMPRESSION_LEVEL" ]; then
  is_uint "$COMPRESSION_LEVEL" || die 3 "COMPRESSION_LEVEL must be an integer (got '$COMPRESSION_LEVEL')"
  case $COMPRESSION in
    zstd) { [ "$COMPRESSION_LEVEL" -ge 1 ] && [ "$COMPRESSION_LEVEL" -le 19 ]; } || die 3 "COMPRESSION_LEVEL for zstd must be 1..19" ;;
    gzip) { [ "$COMPRESSION_LEVEL" -ge 1 ] && [ "$COMPRESSION_LEVEL" -le 9 ]; } || die 3 "COMPRESSION_LEVEL for gzip must be 1..9" ;;
  esac
fi
[ -r "$RETENTION_AWK" ] || die 3 "retention program not found: $RETENTION_AWK"

RECIPIENTS=0
if [ -n "$AGE_RECIPIENTS_FILE" ]; then
  [ -r "$AGE_RECIPIENTS_FILE" ] || die 3 "AGE_RECIPIENTS_FILE not readable: $AGE_RECIPIENTS_FILE"
  RECIPIENTS=$(awk '{ sub(/^[ \t]+/, "") } $0 != "" && substr($0, 1, 1) != "#" { n++ } END { print n + 0 }' "$AGE_RECIPIENTS_FILE")
fi
if [ "$SNAPSHOT_ENCRYPTION" = age ] && [ "$RECIPIENTS" -eq 0 ]; then
  die 3 "SNAPSHOT_ENCRYPTION=age but no age recipients (AGE_RECIPIENTS_FILE='$AGE_RECIPIENTS_FILE')"
fi
if [ "$PKI_BACKUP" = true ] && [ "$RECIPIENTS" -eq 0 ]; then
  die 3 "refusing PKI backup without encryption: PKI_BACKUP=true needs age recipients in AGE_RECIPIENTS_FILE (got '$AGE_RECIPIENTS_FILE')"
fi
if [ "$RECIPIENTS" -gt 0 ] && { [ "$SNAPSHOT_ENCRYPTION" = age ] || [ "$PKI_BACKUP" = true ]; }; then
  age -R "$AGE_RECIPIENTS_FILE" </dev/null >/dev/null 2>&1 || die 3 "AGE_RECIPIENTS_FILE holds an invalid age recipient: $AGE_RECIPIENTS_FILE"
fi
if [ "$PKI_BACKUP" = true ]; then
  [ -n "$PKI_PATHS" ] || die 3 "PKI_BACKUP=true but PKI_PATHS is empty"
  for p in $PKI_PATHS; do
    case $p in /*) ;; *) die 3 "PKI_PATHS entries must be absolute paths (got '$p')" ;; esac
    [ -e "$p" ] || die 3 "PKI path does not exist: $p"
  done
  if [ -n "$ENCRYPTION_CONFIG_FILE" ]; then
    case $ENCRYPTION_CONFIG_FILE in /*) ;; *) die 3 "ENCRYPTION_CONFIG_FILE must be an absolute path" ;; esac
    [ -r "$ENCRYPTION_CONFIG_FILE" ] || die 3 "ENCRYPTION_CONFIG_FILE not readable: $ENCRYPTION_CONFIG_FILE"
  fi
fi

if [ -n "$DESTINATIONS" ]; then
  DEST_SOURCE="DESTINATIONS"
else
  [ -n "$DESTINATIONS_FILE" ] || die 3 "DESTINATIONS (or DESTINATIONS_FILE) is required"
  [ -r "$DESTINATIONS_FILE" ] || die 3 "DESTINATIONS_FILE not readable: $DESTINATIONS_FILE"
  DEST_SOURCE="DESTINATIONS_FILE $DESTINATIONS_FILE"
  DESTINATIONS=$(cat "$DESTINATIONS_FILE") || die 3 "DESTINATIONS_FILE not readable: $DESTINATIONS_FILE"
fi
# Normalize: strip comments/blank lines, validate each line. Output: 9 columns per line.
DESTS=$(awk '
  { sub(/#.*/, "") }
  NF == 0 { next }
  NF != 9 { printf "line %d: expected 9 columns (name remote_dir keep_last max_age_hours hourly daily weekly monthly ca_file), got %d\n", NR, NF > "/dev/stderr"; bad = 1; next }
  $1 !~ /^[A-Za-z0-9_.-]+$/ { printf "line %d: invalid destination name %s\n", NR, $1 > "/dev/stderr"; bad = 1; next }
  ($1 in seen) { printf "line %d: duplicate destination name %s\n", NR, $1 > "/dev/stderr"; bad = 1; next }
  $2 !~ /^\// && $2 !~ /^[A-Za-z0-9_-]+:/ { printf "line %d: remote_dir must be an absolute path or remote:path, got %s\n", NR, $2 > "/dev/stderr"; bad = 1; next }
  { for (i = 3; i <= 8; i++) if ($i !~ /^[0-9]+$/) { printf "line %d: column %d must be a non-negative integer, got %s\n", NR, i, $i > "/dev/stderr"; bad = 1; next } }
  { seen[$1] = 1; sub(/\/+$/, "", $2); print }
  END { if (bad) exit 1 }
' 2>&1 <<EOF_DESTINATIONS
$DESTINATIONS
EOF_DESTINATIONS
) || die 3 "invalid $DEST_SOURCE: $(printf '%s' "$DESTS" | awk '{ s = s (NR > 1 ? "; " : "") $0 } END { print s }')"
[ -n "$DESTS" ] || die 3 "$DEST_SOURCE lists no destination"
# CA files must exist
for ca in $(printf '%s\n' "$DESTS" | awk '$9 != "-" { print $9 }'); do
  [ -r "$ca" ] || die 3 "destination CA file not readable: $ca"
done

# rclone defaults (env, so RCLONE_* from the pod spec win); AWS_CA_BUNDLE breaks rclone's S3 backend.
GLOBAL_CA=${RCLONE_CA_CERT:-${AWS_CA_BUNDLE:-}}
unset AWS_CA_BUNDLE RCLONE_CA_CERT
: "${RCLONE_CONFIG=}"
: "${RCLONE_CONTIMEOUT:=10s}"
: "${RCLONE_TIMEOUT:=60s}"
: "${RCLONE_RETRIES:=2}"
: "${RCLONE_RETRIES_SLEEP:=1s}"
: "${RCLONE_LOW_LEVEL_RETRIES:=3}"
: "${RCLONE_S3_NO_CHECK_BUCKET:=true}"
: "${RCLONE_STATS_LOG_LEVEL:=DEBUG}"
export RCLONE_CONFIG RCLONE_CONTIMEOUT RCLONE_TIMEOUT RCLONE_RETRIES RCLONE_RETRIES_SLEEP RCLONE_LOW_LEVEL_RETRIES \
  RCLONE_S3_NO_CHECK_BUCKET RCLONE_STATS_LOG_LEVEL

case $SNAPSHOT_FILE in /*) ;; *) die 3 "SNAPSHOT_FILE must be an absolute path" ;; esac
case $SNAPSHOT_FILE in *[[:space:]]*) die 3 "SNAPSHOT_FILE must not contain whitespace" ;; esac
SCRATCH=${SNAPSHOT_FILE%/*}
[ -n "$SCRATCH" ] || SCRATCH=/
WORK="$SCRATCH/.work.$$"
mkdir -p "$WORK" || die 1 "cannot create work dir in scratch $SCRATCH"
RCLONE_CACHE_DIR=${RCLONE_CACHE_DIR:-$WORK/rclone-cache}
export RCLONE_CACHE_DIR

TS=$(date -u +%Y%m%dT%H%M%SZ) || die 1 "date failed"
BASE="$CLUSTER_NAME-$TS"
CREATED_AT=$(printf '%s' "$TS" | awk '{ printf "%s-%s-%sT%s:%s:%sZ", substr($0,1,4), substr($0,5,2), substr($0,7,2), substr($0,10,2), substr($0,12,2), substr($0,14,2) }')
T_START=$(now_ms)

# ---------------------------------------------------------------------------------------------------
# 2. verify the snapshot before anything leaves the node
STAGE=verify
t0=$(now_ms)
[ -f "$SNAPSHOT_FILE" ] || die 2 "snapshot file missing: $SNAPSHOT_FILE (did the snapshot init container run?)"
DB_SIZE=$(file_size "$SNAPSHOT_FILE") || die 2 "cannot read snapshot $SNAPSHOT_FILE"
is_uint "$DB_SIZE" || die 2 "cannot determine snapshot size of $SNAPSHOT_FILE"
[ "$DB_SIZE" -ge "$MIN_SNAPSHOT_BYTES" ] || die 2 "snapshot too small: $DB_SIZE bytes < MIN_SNAPSHOT_BYTES=$MIN_SNAPSHOT_BYTES ($SNAPSHOT_FILE)"
[ "$DB_SIZE" -gt 32 ] || die 2 "snapshot truncated: only $DB_SIZE bytes ($SNAPSHOT_FILE)"
[ $((DB_SIZE % 512)) -eq 32 ] || die 2 "snapshot truncated or corrupt: size $DB_SIZE is not 512*n+32 ($SNAPSHOT_FILE)"
# `snapshot status` (revision, key count) and the etcd server version run in the background while the trailer is
# hashed: the DB is read twice at once instead of one read after the other. Neither is an integrity check; the
# trailer is, and nothing leaves the pod before it matches.
timeout 60 "$STATUS_TOOL" snapshot status -w json "$SNAPSHOT_FILE" >"$WORK/status.json" 2>"$WORK/status.err" </dev/null &
STATUS_PID=$!
BG_PIDS="$STATUS_PID"
VERSION_PID=""
if [ -n "$ETCD_ENDPOINT" ] && command -v etcdctl >/dev/null 2>&1; then
  timeout 15 etcdctl --endpoints="$ETCD_ENDPOINT" --dial-timeout=5s --command-timeout=8s endpoint status -w json \
    >"$WORK/version.json" 2>/dev/null </dev/null &
  VERSION_PID=$!
  BG_PIDS="$BG_PIDS $VERSION_PID"
fi
trailer=$(tail -c 32 "$SNAPSHOT_FILE" | od -An -v -tx1 | tr -d ' \n') || die 2 "cannot read snapshot trailer"
body_sha=$(head -c $((DB_SIZE - 32)) "$SNAPSHOT_FILE" | sha256_stdin) || die 2 "cannot hash snapshot"
[ "${#trailer}" -eq 64 ] || die 2 "snapshot trailer unreadable ($SNAPSHOT_FILE)"
[ "$trailer" = "$body_sha" ] || die 2 "snapshot corrupt: sha256 trailer mismatch ($SNAPSHOT_FILE: trailer $trailer, content $body_sha)"

# revision and key count (best effort, bounded)
if wait "$STATUS_PID"; then
  status_json=$(cat "$WORK/status.json")
else
  log "WARNING: $STATUS_TOOL snapshot status failed: $(summarize "$WORK/status.err")"
  status_json=""
fi
BG_PIDS="$VERSION_PID"
if [ -n "$status_json" ]; then
  REVISION=$(printf '%s' "$status_json" | awk 'match($0, /"revision":[0-9]+/) { print substr($0, RSTART + 11, RLENGTH - 11); exit }')
  TOTAL_KEYS=$(printf '%s' "$status_json" | awk 'match($0, /"totalKey":[0-9]+/) { print substr($0, RSTART + 11, RLENGTH - 11); exit }')
fi
is_uint "${REVISION:-}" || REVISION=null
is_uint "${TOTAL_KEYS:-}" || TOTAL_KEYS=null
add_dur verify $(($(now_ms) - t0))
log "snapshot $SNAPSHOT_FILE verified: $DB_SIZE bytes, revision $REVISION, $TOTAL_KEYS keys"

# ---------------------------------------------------------------------------------------------------
# 3. PKI bundle (small: built into scratch, uploaded from there)
compress_cmd() {
  case $COMPRESSION in
    zstd) zstd -q -c -T0 ${COMPRESSION_LEVEL:+"-$COMPRESSION_LEVEL"} ;;
    gzip) gzip -c -n ${COMPRESSION_LEVEL:+"-$COMPRESSION_LEVEL"} ;;
    none) cat ;;
  esac
}
case $COMPRESSION in zstd) CEXT=.zst ;; gzip) CEXT=.gz ;; none) CEXT="" ;; esac

# $1 output file, $2 label; stdin: the bundle (tar). Compress + encrypt, each stage's status captured (no pipefail in sh).
pack() {
  _st="$WORK/pack.status"
  : >"$_st"
  { compress_cmd || echo "$COMPRESSION exited $?" >>"$_st"; } |
    { age -R "$AGE_RECIPIENTS_FILE" -o "$1" || echo "age exited $?" >>"$_st"; }
  if [ -s "$_st" ]; then
    log "ERROR: $2: $(awk '{ s = s (NR > 1 ? ", " : "") $0 } END { print s }' "$_st")"
    return 1
  fi
  [ -s "$1" ] || { log "ERROR: $2: empty output"; return 1; }
  return 0
}

SNAP_EXT=".db$CEXT"
[ "$SNAPSHOT_ENCRYPTION" = age ] && SNAP_EXT="$SNAP_EXT.age"
SNAP_KEY="$BASE$SNAP_EXT"
PKI_KEY=""
PKI_FILES=0
if [ "$PKI_BACKUP" = true ]; then
  STAGE=pki
  t0=$(now_ms)
  PKI_KEY="$BASE.pki.tar$CEXT.age"
  PKI_OUT="$WORK/$PKI_KEY"
  list="$WORK/pki.list"
  : >"$list"
  for p in $PKI_PATHS $ENCRYPTION_CONFIG_FILE; do
    # skip Secret-volume internals (..data, ..2024_...): the top-level symlinks point into them
    find "$p" -name '..?*' -prune -o \( -type f -o -type l \) -print >>"$list" 2>"$WORK/find.err" ||
      die 1 "cannot list PKI path $p: $(summarize "$WORK/find.err")"
  done
  sort -u "$list" | awk '{ sub(/^\/+/, ""); print }' >"$list.rel" || die 1 "cannot sort PKI file list"
  PKI_FILES=$(awk 'END { print NR }' "$list.rel")
  [ "$PKI_FILES" -gt 0 ] || die 3 "PKI_PATHS contain no files: $PKI_PATHS"
  _tst="$WORK/tar.status"
  : >"$_tst"
  { tar -c -h -f - -C / -T "$list.rel" 2>"$WORK/tar.err" || echo "tar exited $?" >>"$_tst"; } |
    pack "$PKI_OUT" "building the PKI bundle" || { rm -f "$PKI_OUT"; die 1 "PKI bundle failed"; }
  [ -s "$_tst" ] && die 1 "PKI bundle failed: $(cat "$_tst"): $(summarize "$WORK/tar.err")"
  add_dur pki $(($(now_ms) - t0))
  log "PKI bundle: $PKI_FILES files"
fi

# ---------------------------------------------------------------------------------------------------
# 4. the snapshot: compress | encrypt | tee into every destination's upload at once (no copy in scratch)
#
# One producer, one `rclone rcat` per destination, fed through a FIFO by `tee`, which also feeds sha256sum and
# wc -c (the artifact's sha256 and size for the sidecar and meta.json). Scratch holds the snapshot and the small PKI
# bundle only, whatever the number of destinations. Each stage's status is captured (no pipefail in sh); an
# upload that fails keeps draining its FIFO, so one bad destination never stops the stream to the others.
# `rclone rcat` uploads whatever arrives and exits 0 when the producer dies: a producer failure fails the run
# (exit 1) and this run's objects are removed everywhere; every destination's object size is checked against the
# bytes produced before its sidecar is written.
# rclone for one destination: CA per destination ($DEST_CA), messages to $DERR
drclone() {
  if [ -n "$DEST_CA" ]; then
    RCLONE_CA_CERT=$DEST_CA timeout "$RCLONE_DEADLINE" rclone "$@" 2>>"$DERR"
  else
    timeout "$RCLONE_DEADLINE" rclone "$@" 2>>"$DERR"
  fi
}
RCLONE_DEADLINE=${RCLONE_DEADLINE:-900}
# set remote keep_last max_age hourly daily weekly monthly DEST_CA of destination $1
dest_conf() {
  # shellcheck disable=SC2046 # word splitting of one validated line is intended
  set -- $(printf '%s\n' "$DESTS" | awk -v n="$1" '$1 == n { print; exit }')
  remote=$2 keep_last=$3 max_age=$4 hourly=$5 daily=$6 weekly=$7 monthly=$8
  DEST_CA=""
  if [ "$9" != - ]; then DEST_CA=$9; elif [ -n "$GLOBAL_CA" ]; then DEST_CA=$GLOBAL_CA; fi
}
encrypt_cmd() {
  if [ "$SNAPSHOT_ENCRYPTION" = age ]; then age -R "$AGE_RECIPIENTS_FILE"; else cat; fi
}
# best-effort removal of this run's objects from destination $1 (never a sidecar: none was written there)
remove_partial() {
  # shellcheck disable=SC2086
  printf '%s\n' $SNAP_KEY $PKI_KEY "$BASE.meta.json" >"$WORK/partial.list"
  drclone delete --files-from-raw "$WORK/partial.list" "$remote" >/dev/null 2>&1 ||
    log "WARNING: destination $1: could not remove partial objects of $BASE"
}

STAGE=upload
DNAMES=$(printf '%s\n' "$DESTS" | awk '{ print $1 }')
t0=$(now_ms)
FIFOS=""
PIDS=""
i=0
for dname in $DNAMES; do
  i=$((i + 1))
  dest_conf "$dname"
  DERR="$WORK/d$i.err"
  : >"$DERR"
  mkfifo "$WORK/d$i.fifo" || die 1 "cannot create a FIFO in scratch $WORK"
  { drclone rcat "$remote/$SNAP_KEY" || { echo "rclone rcat exited $?" >"$WORK/d$i.failed"; cat >/dev/null; }; } <"$WORK/d$i.fifo" &
  PIDS="$PIDS $!"
  BG_PIDS="$BG_PIDS $!"
  FIFOS="$FIFOS $WORK/d$i.fifo"
done
mkfifo "$WORK/hash.fifo" || die 1 "cannot create a FIFO in scratch $WORK"
sha256_stdin <"$WORK/hash.fifo" >"$WORK/hash.out" &
PIDS="$PIDS $!"
BG_PIDS="$BG_PIDS $!"
_st="$WORK/stream.status"
: >"$_st"
# shellcheck disable=SC2086 # FIFOS: paths without whitespace (SNAPSHOT_FILE is checked)
{ compress_cmd <"$SNAPSHOT_FILE" || echo "$COMPRESSION exited $?" >>"$_st"; } |
  { encrypt_cmd || echo "age exited $?" >>"$_st"; } |
  { tee "$WORK/hash.fifo" $FIFOS || echo "tee exited $?" >>"$_st"; } |
  { wc -c >"$WORK/size.out" || echo "wc exited $?" >>"$_st"; }
for p in $PIDS; do wait "$p"; done
BG_PIDS="$VERSION_PID"
tstream=$(($(now_ms) - t0))
SNAP_SIZE=$(tr -d ' \t\n' <"$WORK/size.out" 2>/dev/null)
SNAP_SHA=$(cut -c1-64 "$WORK/hash.out" 2>/dev/null)
if [ ! -s "$_st" ]; then
  is_uint "$SNAP_SIZE" && [ "$SNAP_SIZE" -gt 0 ] || echo "empty output" >>"$_st"
  [ "${#SNAP_SHA}" -eq 64 ] || echo "sha256sum failed" >>"$_st"
fi
if [ -s "$_st" ]; then
  STAGE="compress"
  log "ERROR: compressing/encrypting the snapshot: $(awk '{ s = s (NR > 1 ? ", " : "") $0 } END { print s }' "$_st")"
  for dname in $DNAMES; do
    dest_conf "$dname"
    DERR=/dev/null
    remove_partial "$dname"
  done
  die 1 "compression/encryption of the snapshot failed ($COMPRESSION, encryption $SNAPSHOT_ENCRYPTION)"
fi
add_dur compress "$tstream" # compress + encrypt + upload of the snapshot: one stream
# free scratch: the snapshot is no longer needed (best effort; it may belong to another user)
rm -f "$SNAPSHOT_FILE" 2>/dev/null || true

# etcd server version (best effort, bounded; asked in the background during verification)
ETCD_VERSION=unknown
if [ -n "$VERSION_PID" ] && wait "$VERSION_PID"; then
  v=$(awk 'match($0, /"version":"[^"]*"/) { print substr($0, RSTART + 11, RLENGTH - 12); exit }' "$WORK/version.json")
  case $v in '' | *[!0-9A-Za-z.+-]*) ;; *) ETCD_VERSION=$v ;; esac
fi
BG_PIDS=""

# ---------------------------------------------------------------------------------------------------
# 5. metadata and sidecar (built once, identical for every destination)
STAGE=metadata
OBJS="{\"key\":\"$SNAP_KEY\",\"size\":$SNAP_SIZE,\"sha256\":\"$SNAP_SHA\"}"
printf '%s  %s\n' "$SNAP_SHA" "$SNAP_KEY" >"$WORK/sidecar.part"
if [ -n "$PKI_KEY" ]; then
  sz=$(file_size "$PKI_OUT") || die 1 "cannot stat $PKI_OUT"
  sh=$(sha256_of "$PKI_OUT") || die 1 "cannot hash $PKI_OUT"
  OBJS="$OBJS,{\"key\":\"$PKI_KEY\",\"size\":$sz,\"sha256\":\"$sh\"}"
  printf '%s  %s\n' "$sh" "$PKI_KEY" >>"$WORK/sidecar.part"
fi
OBJ_JSON=$OBJS
META_KEY="$BASE.meta.json"
META="$WORK/$META_KEY"
REQ_JSON=null
[ -n "$BACKUP_REQUEST" ] && REQ_JSON=$(json_str "$BACKUP_REQUEST")
{
  printf '{"apiVersion":"controlplane-backup/v1","cluster":%s,"createdAt":"%s","base":"%s","request":%s,' \
    "$(json_str "$CLUSTER_NAME")" "$CREATED_AT" "$BASE" "$REQ_JSON"
  printf '"etcd":{"revision":%s,"totalKeys":%s,"dbSize":%s,"serverVersion":%s,"endpoint":%s,"statusTool":"%s"},' \
    "$REVISION" "$TOTAL_KEYS" "$DB_SIZE" "$(json_str "$ETCD_VERSION")" "$(json_str "$ETCD_ENDPOINT")" "$STATUS_TOOL"
  printf '"node":%s,"compression":{"algorithm":"%s","level":%s},' \
    "$(json_str "$NODE_NAME")" "$COMPRESSION" "${COMPRESSION_LEVEL:-null}"
  printf '"encryption":{"snapshot":"%s","pki":"%s","recipients":%s},' \
    "$SNAPSHOT_ENCRYPTION" "$([ "$PKI_BACKUP" = true ] && echo age || echo none)" "$RECIPIENTS"
  printf '"pki":{"included":%s,"files":%s},"objects":[%s],"durationsMs":{%s}}\n' \
    "$PKI_BACKUP" "$PKI_FILES" "$OBJS" "$DUR_JSON"
} >"$META" || die 1 "cannot write metadata"
printf '%s  %s\n' "$(sha256_of "$META")" "$META_KEY" >>"$WORK/sidecar.part"
SIDECAR_KEY="$BASE.sha256"
SIDECAR="$WORK/$SIDECAR_KEY"
cat "$WORK/sidecar.part" >"$SIDECAR" || die 1 "cannot write sidecar"
# the small objects, uploaded by one rclone call per destination (the sidecar comes after, in its own call)
# shellcheck disable=SC2086
printf '%s\n' $PKI_KEY "$META_KEY" >"$WORK/small.list"
SMALL_KEYS=$(awk '{ s = s (NR > 1 ? ", " : "") $0 } END { print s }' "$WORK/small.list")

# ---------------------------------------------------------------------------------------------------
# 6. per destination: the small objects and the listing at once, the snapshot's size checked in that listing, the
#    sidecar LAST, then retention from the same listing (plus the sidecar just written)
upload_failed=0
retention_failed=0
i=0
for dname in $DNAMES; do
  i=$((i + 1))
  dest_conf "$dname"
  DERR="$WORK/d$i.err"
  t0=$(now_ms)
  dstatus=ok
  derr=""
  ddeleted=0
  if [ -e "$WORK/d$i.failed" ]; then
    derr=$(summarize "$DERR")
    derr="upload of $SNAP_KEY failed: $derr$(hint "$derr")"
    dstatus=upload-failed
  else
    : >"$DERR"
    : >"$WORK/d$i.lerr"
    drclone copy --files-from-raw "$WORK/small.list" --no-traverse --no-check-dest "$WORK" "$remote" &
    cpid=$!
    BG_PIDS=$cpid
    DERR="$WORK/d$i.lerr" # the copy in the background keeps its own
    drclone lsf --files-only --max-depth 1 --format sp "$remote" >"$WORK/listing.sp"
    lrc=$?
    DERR="$WORK/d$i.err"
    if ! wait "$cpid"; then
      dstatus=upload-failed
      derr=$(summarize "$DERR")
      derr="upload of $SMALL_KEYS failed: $derr$(hint "$derr")"
    elif [ "$lrc" -ne 0 ]; then
      dstatus=upload-failed
      derr="cannot verify the upload of $SNAP_KEY: listing failed: $(summarize "$WORK/d$i.lerr")"
    else
      got=$(awk -v k="$SNAP_KEY" '{ p = index($0, ";") } p && substr($0, p + 1) == k { print substr($0, 1, p - 1); exit }' "$WORK/listing.sp")
      if [ "$got" != "$SNAP_SIZE" ]; then
        dstatus=upload-failed
        derr="upload of $SNAP_KEY failed: stored size ${got:-none}, $SNAP_SIZE bytes produced"
      elif ! drclone copyto --no-check-dest "$SIDECAR" "$remote/$SIDECAR_KEY"; then
        dstatus=upload-failed
        derr=$(summarize "$DERR")
        derr="upload of $SIDECAR_KEY failed: $derr$(hint "$derr")"
      fi
    fi
    BG_PIDS=""
  fi
  tup=$(($(now_ms) - t0))
  if [ "$dstatus" != ok ]; then
    upload_failed=1
    log "ERROR: destination $dname ($remote): $derr"
    remove_partial "$dname"
  else
    log "destination $dname ($remote): uploaded $BASE (snapshot streamed in ${tstream}ms, then ${tup}ms)"
    # retention: the listing taken above plus the sidecar, one batched delete
    t1=$(now_ms)
    : >"$DERR"
    { awk '{ p = index($0, ";") } p { print substr($0, p + 1) }' "$WORK/listing.sp" && printf '%s\n' "$SIDECAR_KEY"; } >"$WORK/listing"
    if ! awk -v cluster="$CLUSTER_NAME" -v current="$BASE" -v keep_last="$keep_last" -v max_age_hours="$max_age" \
      -v hourly="$hourly" -v daily="$daily" -v weekly="$weekly" -v monthly="$monthly" \
      -f "$RETENTION_AWK" "$WORK/listing" >"$WORK/delete.list"; then
      dstatus=retention-failed
      derr="retention decision failed"
    else
      ddeleted=$(awk 'END { print NR }' "$WORK/delete.list")
      if [ "$ddeleted" -gt 0 ] && ! drclone delete --files-from-raw "$WORK/delete.list" "$remote"; then
        dstatus=retention-failed
        derr="delete failed: $(summarize "$DERR")"
        ddeleted=0
      fi
    fi
    tret=$(($(now_ms) - t1))
    if [ "$dstatus" != ok ]; then
      retention_failed=1
      log "ERROR: destination $dname ($remote): retention: $derr"
    else
      log "destination $dname: retention removed $ddeleted object(s) in ${tret}ms"
      DELETED_TOTAL=$((DELETED_TOTAL + ddeleted))
    fi
  fi
  DEST_JSON="${DEST_JSON:+$DEST_JSON,}{\"name\":$(json_str "$dname"),\"remote\":$(json_str "$remote"),\"status\":\"$dstatus\",\"error\":$(json_str "$derr"),\"uploadMs\":$tup,\"deleted\":$ddeleted}"
done
add_dur total $(($(now_ms) - T_START))

if [ "$upload_failed" = 1 ]; then
  STAGE=upload
  die 4 "upload failed for at least one destination (see destinations in the result line)"
fi
if [ "$retention_failed" = 1 ]; then
  STAGE=retention
  die 5 "backup $BASE complete, but retention failed for at least one destination"
fi
STAGE="done"
log "backup $BASE complete: $(printf '%s\n' "$DNAMES" | awk 'END { print NR }') destination(s), $DELETED_TOTAL object(s) removed by retention"
emit_result ok 0 "backup complete"
cleanup
exit 0
