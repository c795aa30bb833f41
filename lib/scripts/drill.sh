#!/bin/sh
# controlplane-backup: restore drill of ONE cluster (POSIX sh: dash, busybox sh). It proves that the newest complete
# backup restores: download, verify, decrypt, restore into scratch space, serve it with a throwaway etcd on
# 127.0.0.1 inside the pod, compare what etcd serves with the backup's metadata, and record the outcome next to the
# backup as <base>.drill.json. It never talks to the cluster's live etcd and needs no node access.
#
# Pod contract: one container of the tools image (etcd, etcdctl[, etcdutl], rclone, age, zstd), the scripts ConfigMap
# (drill.sh AND restore-lib.sh) at one directory: /bin/sh <dir>/drill.sh
#
# Environment
#   CLUSTER_NAME          required, DNS label (object names are <cluster>-<yyyymmddThhmmssZ>.*)
#   SNAPSHOT_DIR          rclone path of the cluster's backup folder ("remote:bucket/prefix/<cluster>", remote
#                         configured by RCLONE_CONFIG_<R>_* env vars) or an absolute local directory
#   SNAPSHOT_NAME         "latest" (default: the newest set with a .sha256 sidecar) or <cluster>-<yyyymmddThhmmssZ>
#   AGE_IDENTITY_FILE     age identity file (as age-keygen writes it) from the drill identity Secret, mounted optional. When
#                         the snapshot is encrypted and this file is missing or empty, the drill verifies the
#                         objects against the checksum sidecar only and reports "verified-not-restored".
#   DRILL_IDENTITY_SECRET name of that Secret, for messages only
#   SCRATCH_DIR           default /var/lib/controlplane-backup/scratch; work dir SCRATCH_DIR/drill-<pid>, removed
#   DRILL_HEALTH_TIMEOUT_SECONDS  120: bound of the throwaway etcd's start (until healthy)
#   DRILL_PORT_BASE       23790: the first candidate client port (peer = client + 1); ports in use are skipped
#   RCLONE_*              passed through (defaults: see restore-lib.sh; AWS_CA_BUNDLE becomes RCLONE_CA_CERT)
#
# Steps: (1) tools + config; (2) resolve the newest complete backup; (3) download the sidecar and <base>.meta.json
# (sha256 checked against the sidecar): the expected revision, key count and size; (4) with a key, or when the
# snapshot is not encrypted: download, sha256 against the sidecar, decrypt, decompress, trailer (restore-lib.sh
# rl_fetch_verified; the PKI bundle too, when the set has one and a key is there); without a key for an encrypted
# snapshot: sha256 of every object against the sidecar, then stop; (5) snapshot restore into scratch (throwaway
# member name, http://127.0.0.1 peer URL, revision NOT bumped); (6) `snapshot status` of the downloaded file;
# (7) etcd on 127.0.0.1:<free port>, bounded, until healthy; (8) compare; (9) stop etcd by PID; (10) report.
#
# Checks (all must hold for "passed"); meta.json values come from `snapshot status` at backup time:
#   snapshot status of the downloaded snapshot: revision == meta etcd.revision, totalKey == meta etcd.totalKeys
#     (both bbolt's total key count, every revision included: like with like), size == meta etcd.dbSize
#   the throwaway etcd serves revision == meta etcd.revision (`endpoint status`), and its live key count
#     (`get "" --prefix --keys-only --limit 1 -w json` count) is at most meta etcd.totalKeys (recorded in the report)
#   A null in meta.json (status failed at backup time) skips that comparison and says so in the message.
#
# Report <SNAPSHOT_DIR>/<base>.drill.json (one line; read by the CLI's snapshots / check):
#   {"apiVersion":"controlplane-backup/v1","kind":"DrillReport","cluster","base","checkedAt","result":"passed"|
#    "failed"|"verified-not-restored","message","expected":{"revision","totalKeys","dbSize"},"observed":{
#    "snapshotRevision","snapshotTotalKeys","dbSize","revision","keys","etcdVersion","verifiedObjects"},
#    "durationsMs":{...}}   (numbers or null; retention removes it together with its backup set)
#
# Output: exactly one JSON result line on stdout ({"status" = the result, "exitCode","stage","message","cluster",
# "snapshot", ..., "result","report","reportUploaded","expected","observed","durationsMs"}); messages on stderr.
# Exit codes: 0 passed; 10 verified-not-restored (encrypted backup, no drill identity: NOT a success, so the Job
# fails and alerts see it); 2 backup invalid (corrupt object, checksum or trailer mismatch, incomplete set, nothing
# complete); 3 missing tool, bad configuration, wrong decryption key; 4 storage unreachable or denied, or the report
# could not be uploaded; 8 the throwaway etcd did not start or become healthy; 9 the restored etcd does not match the
# backup's metadata; 1 other. A failure after the backup was chosen uploads a "failed" report when it can.

set -u
set -f
umask 077

# shellcheck source=restore-lib.sh
. "${0%/*}/restore-lib.sh"

# Commands this script runs beyond restore-lib.sh's RL_TOOLS (zstd|gzip|age as the objects need; etcdutl preferred).
REQUIRED_TOOLS="etcd etcdctl"
# shellcheck disable=SC2034 # read by tests
OPTIONAL_TOOLS="etcdutl zstd gzip age"

T_START=$(now_ms)
CHECKED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
WORK=""
BASE=""
REPORT_KEY=""
REPORT_UPLOADED=false
ETCD_PID=""
ETCD_LOG=""
EXP_REVISION=null
EXP_TOTAL_KEYS=null
EXP_DB_SIZE=null
OBS_SNAP_REVISION=null
OBS_SNAP_TOTAL_KEYS=null
OBS_DB_SIZE=null
OBS_REVISION=null
OBS_KEYS=null
OBS_VERSION=null
VERIFIED=""
RL_FIELDS='"result":"failed","report":null'

log() { rl_log "$*"; }

# number or null
num() { if is_uint "${1:-}"; then printf '%s' "$1"; else printf null; fi; }

# first integer value of "NAME": in a JSON text (stdin)
json_int() { awk -v k="\"$1\":" 'BEGIN { re = k "[0-9]+" } match($0, re) { print substr($0, RSTART + length(k), RLENGTH - length(k)); exit }'; }

expected_json() { printf '{"revision":%s,"totalKeys":%s,"dbSize":%s}' "$EXP_REVISION" "$EXP_TOTAL_KEYS" "$EXP_DB_SIZE"; }

observed_json() {
  _v=""
  for _k in $VERIFIED; do _v="${_v:+$_v,}\"$_k\""; done
  printf '{"snapshotRevision":%s,"snapshotTotalKeys":%s,"dbSize":%s,"revision":%s,"keys":%s,"etcdVersion":%s,"verifiedObjects":[%s]}' \
    "$OBS_SNAP_REVISION" "$OBS_SNAP_TOTAL_KEYS" "$OBS_DB_SIZE" "$OBS_REVISION" "$OBS_KEYS" "$OBS_VERSION" "$_v"
}

# stop the throwaway etcd (by its PID only), bounded: TERM, 15 s, KILL
stop_etcd() {
  [ -n "$ETCD_PID" ] || return 0
  _pid=$ETCD_PID
  ETCD_PID=""
  kill "$_pid" 2>/dev/null || { wait "$_pid" 2>/dev/null; return 0; }
  _i=0
  while kill -0 "$_pid" 2>/dev/null && [ "$_i" -lt 30 ]; do
    sleep 0.5 2>/dev/null || sleep 1
    _i=$((_i + 1))
  done
  if kill -0 "$_pid" 2>/dev/null; then
    log "WARNING: etcd (pid $_pid) did not stop within 15s: killed"
    kill -9 "$_pid" 2>/dev/null
  fi
  wait "$_pid" 2>/dev/null
  log "throwaway etcd (pid $_pid) stopped"
  return 0
}

# shellcheck disable=SC2317 # called through RL_CLEANUP by rl_die, and below
cleanup() {
  stop_etcd
  [ -n "$WORK" ] && [ -d "$WORK" ] && rm -rf "$WORK"
  return 0
}
RL_CLEANUP=cleanup

# upload_report RESULT MESSAGE: <base>.drill.json next to the backup; bounded; 0 when uploaded
upload_report() {
  [ -n "$REPORT_KEY" ] && [ -n "$WORK" ] && [ -d "$WORK" ] || return 1
  _f="$WORK/$REPORT_KEY"
  rl_add_dur total $(($(now_ms) - T_START))
  printf '{"apiVersion":"controlplane-backup/v1","kind":"DrillReport","cluster":%s,"base":%s,"checkedAt":"%s","result":"%s","message":%s,"expected":%s,"observed":%s,"durationsMs":{%s}}\n' \
    "$(json_str "$CLUSTER_NAME")" "$(json_str "$BASE")" "$CHECKED_AT" "$1" "$(json_str "$2")" \
    "$(expected_json)" "$(observed_json)" "$RL_DUR_JSON" >"$_f" || return 1
  : >"$WORK/report.err"
  # a short bound: this also runs on the way out of a failure (or a signal) and must not hold the pod
  _dl=$RL_RCLONE_DEADLINE
  RL_RCLONE_DEADLINE=60
  if rl_rclone "$WORK/report.err" copyto "$_f" "$SNAPSHOT_DIR/$REPORT_KEY"; then
    RL_RCLONE_DEADLINE=$_dl
    REPORT_UPLOADED=true
    log "drill report uploaded: $SNAPSHOT_DIR/$REPORT_KEY ($1)"
    return 0
  fi
  RL_RCLONE_DEADLINE=$_dl
  _s=$(summarize "$WORK/report.err")
  log "WARNING: could not upload the drill report $REPORT_KEY: $_s$(hint "$_s")"
  return 1
}

# finish RESULT CODE MESSAGE: report (when a backup was chosen), the one result line, cleanup, exit CODE.
# A drill whose report cannot be uploaded exits 4 whatever its result: the report is its record.
finish() {
  _res=$1 _code=$2 _msg=$3
  FINISHING=1
  stop_etcd
  _rep=null
  if [ -n "$REPORT_KEY" ]; then
    _rep=$(json_str "$REPORT_KEY")
    if ! upload_report "$_res" "$_msg" && [ "$_code" -eq 0 ]; then
      _code=4
      RL_STAGE=report
      _msg="$_msg; but the drill report $REPORT_KEY could not be uploaded"
    fi
  fi
  RL_FIELDS="\"result\":\"$_res\",\"report\":$_rep,\"reportUploaded\":$REPORT_UPLOADED,\"expected\":$(expected_json),\"observed\":$(observed_json)"
  rl_result "$_res" "$_code" "$_msg"
  cleanup
  exit "$_code"
}

# fail CODE MESSAGE...: a failed drill of the chosen backup
fail() {
  _fc=$1
  shift
  log "ERROR: $*"
  finish failed "$_fc" "$*"
}

FINISHING=0
# shellcheck disable=SC2317 # called by the trap
on_signal() {
  if [ "$FINISHING" = 1 ]; then
    cleanup
    exit 1
  fi
  fail 1 "terminated by signal (activeDeadlineSeconds reached, or the pod was deleted)"
}
trap on_signal HUP INT TERM

# lib_call FUNCTION ARGS...: a restore-lib.sh step in a subshell, so that its rl_die (which prints a result line and
# exits) becomes our failure with the same exit code and message, and the report still gets written.
lib_call() {
  _out=$(
    RL_CLEANUP=""
    "$@"
  )
  _rc=$?
  [ "$_rc" -eq 0 ] && return 0
  _m=$(printf '%s\n' "$_out" | awk '
    match($0, /"message":"([^"\\]|\\.)*"/) {
      s = substr($0, RSTART + 11, RLENGTH - 12); o = ""
      while ((i = index(s, "\\")) > 0) { c = substr(s, i + 1, 1); o = o substr(s, 1, i - 1) (c == "n" ? "\n" : c == "t" ? "\t" : c); s = substr(s, i + 2) }
      print o s; exit
    }')
  _st=$(printf '%s\n' "$_out" | awk 'match($0, /"stage":"[a-z-]*"/) { print substr($0, RSTART + 9, RLENGTH - 10); exit }')
  [ -n "$_st" ] && RL_STAGE=$_st
  # the subshell already logged the error: finish without logging it twice
  finish failed "$_rc" "${_m:-$1 failed (exit $_rc)}"
}

# fetch_checked KEY: download SNAPSHOT_DIR/KEY into WORK and check its sha256 against the sidecar
fetch_checked() {
  _k=$1
  rl_listed "$_k" || fail 2 "$_k is missing from $SNAPSHOT_DIR: $BASE is an incomplete backup"
  _want=$(awk -v k="$_k" '$2 == k && $1 ~ /^[0-9a-f]+$/ && length($1) == 64 { print $1; exit }' "$WORK/$BASE.sha256")
  [ -n "$_want" ] || fail 2 "sidecar $BASE.sha256 does not list $_k"
  : >"$WORK/rclone.err"
  rl_rclone "$WORK/rclone.err" copyto "$SNAPSHOT_DIR/$_k" "$WORK/$_k" || {
    _s=$(summarize "$WORK/rclone.err")
    fail 4 "download of $_k failed: $_s$(hint "$_s")"
  }
  _got=$(sha256_file "$WORK/$_k") || fail 1 "cannot hash $_k"
  [ "$_want" = "$_got" ] || fail 2 "checksum mismatch: $_k (sidecar $_want, downloaded $_got): the object is corrupt"
  VERIFIED="$VERIFIED $_k"
  log "downloaded $_k ($(file_size "$WORK/$_k") bytes), sha256 matches the sidecar"
}

# ports in use on this network namespace (any state), from /proc/net/tcp{,6}
used_ports() {
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$2 ~ /:[0-9A-Fa-f]+$/ {
    h = toupper(substr($2, index($2, ":") + 1)); n = 0
    for (i = 1; i <= length(h); i++) n = n * 16 + index("0123456789ABCDEF", substr(h, i, 1)) - 1
    print n }'
}

# pick_ports: CLIENT_PORT and PEER_PORT (= client + 1), both free, from DRILL_PORT_BASE + 2 * SKIP upwards
pick_ports() {
  _used=$(used_ports)
  _p=$((DRILL_PORT_BASE + 2 * ${1:-0}))
  _lim=$((_p + 400))
  while [ "$_p" -lt "$_lim" ]; do
    if ! printf '%s\n' "$_used" | awk -v a="$_p" -v b="$((_p + 1))" '$0 == a || $0 == b { f = 1 } END { exit !f }'; then
      CLIENT_PORT=$_p
      PEER_PORT=$((_p + 1))
      return 0
    fi
    _p=$((_p + 2))
  done
  return 1
}

ctl() { ETCDCTL_API=3 timeout 20 etcdctl --endpoints="$ENDPOINT" --dial-timeout=3s --command-timeout=10s "$@"; }

# ---------------------------------------------------------------------------------------------------
# 1. tools and configuration (before a backup is chosen, failures have no report)
RL_STAGE=config
# shellcheck disable=SC2086 # tool lists
rl_require $RL_TOOLS $REQUIRED_TOOLS
CLUSTER_NAME=${CLUSTER_NAME:-}
case $CLUSTER_NAME in
  '') rl_die 3 "CLUSTER_NAME is required" ;;
  -* | *- | *[!a-z0-9-]*) rl_die 3 "CLUSTER_NAME must be a DNS label (got '$CLUSTER_NAME')" ;;
esac
SNAPSHOT_NAME=${SNAPSHOT_NAME:-latest}
SCRATCH_DIR=${SCRATCH_DIR:-/var/lib/controlplane-backup/scratch}
AGE_IDENTITY_FILE=${AGE_IDENTITY_FILE:-}
DRILL_IDENTITY_SECRET=${DRILL_IDENTITY_SECRET:-}
DRILL_HEALTH_TIMEOUT_SECONDS=${DRILL_HEALTH_TIMEOUT_SECONDS:-120}
DRILL_PORT_BASE=${DRILL_PORT_BASE:-23790}
case $SCRATCH_DIR in /*) ;; *) rl_die 3 "SCRATCH_DIR must be an absolute path (got '$SCRATCH_DIR')" ;; esac
case $SCRATCH_DIR in *[[:space:]]*) rl_die 3 "SCRATCH_DIR must not contain whitespace" ;; esac
is_uint "$DRILL_HEALTH_TIMEOUT_SECONDS" || rl_die 3 "DRILL_HEALTH_TIMEOUT_SECONDS must be a non-negative integer (got '$DRILL_HEALTH_TIMEOUT_SECONDS')"
{ is_uint "$DRILL_PORT_BASE" && [ "$DRILL_PORT_BASE" -ge 1024 ] && [ "$DRILL_PORT_BASE" -le 64000 ]; } ||
  rl_die 3 "DRILL_PORT_BASE must be an integer 1024..64000 (got '$DRILL_PORT_BASE')"
if command -v etcdutl >/dev/null 2>&1; then STATUS_TOOL=etcdutl; else STATUS_TOOL=etcdctl; fi
WORK="$SCRATCH_DIR/drill-$$"
rm -rf "$WORK"
mkdir -p "$WORK" || rl_die 1 "cannot create the work dir $WORK"
RCLONE_CACHE_DIR="$WORK/.rclone-cache"
export RCLONE_CACHE_DIR

# ---------------------------------------------------------------------------------------------------
# 2. the newest complete backup (exit 2 when there is none: nothing to report on)
rl_resolve_snapshot
BASE=$SNAPSHOT_NAME
REPORT_KEY="$BASE.drill.json"
log "drill of $BASE from $SNAPSHOT_DIR"

# ---------------------------------------------------------------------------------------------------
# 3. sidecar and metadata: what the restored etcd must show
RL_STAGE=fetch
t0=$(now_ms)
rl_list "$WORK/rclone.err"
rl_listed "$BASE.sha256" || fail 2 "no checksum sidecar: $BASE is an incomplete backup"
: >"$WORK/rclone.err"
rl_rclone "$WORK/rclone.err" copyto "$SNAPSHOT_DIR/$BASE.sha256" "$WORK/$BASE.sha256" || {
  s=$(summarize "$WORK/rclone.err")
  fail 4 "download of $BASE.sha256 failed: $s$(hint "$s")"
}
fetch_checked "$BASE.meta.json"
meta=$(cat "$WORK/$BASE.meta.json") || fail 1 "cannot read $BASE.meta.json"
etcd_meta=$(printf '%s\n' "$meta" | awk 'match($0, /"etcd":\{[^}]*\}/) { print substr($0, RSTART, RLENGTH); exit }')
[ -n "$etcd_meta" ] || fail 2 "$BASE.meta.json has no etcd section"
EXP_REVISION=$(num "$(printf '%s\n' "$etcd_meta" | json_int revision)")
EXP_TOTAL_KEYS=$(num "$(printf '%s\n' "$etcd_meta" | json_int totalKeys)")
EXP_DB_SIZE=$(num "$(printf '%s\n' "$etcd_meta" | json_int dbSize)")
SNAP_KEY=$(awk -v b="$BASE" '{ k = $2; s = substr(k, length(b) + 1) } substr(k, 1, length(b)) == b && s ~ /^\.db(\.zst|\.gz)?(\.age)?$/ { print k; exit }' "$WORK/$BASE.sha256")
PKI_KEY=$(awk -v b="$BASE" '{ k = $2; s = substr(k, length(b) + 1) } substr(k, 1, length(b)) == b && s ~ /^\.pki\.tar(\.zst|\.gz)?\.age$/ { print k; exit }' "$WORK/$BASE.sha256")
[ -n "$SNAP_KEY" ] || fail 2 "sidecar $BASE.sha256 lists no snapshot object ($BASE.db[.zst|.gz][.age])"
rl_add_dur metadata $(($(now_ms) - t0))

HAVE_KEY=false
[ -n "$AGE_IDENTITY_FILE" ] && [ -s "$AGE_IDENTITY_FILE" ] && HAVE_KEY=true

# ---------------------------------------------------------------------------------------------------
# 4a. encrypted and no key: verify what can be verified, and say plainly that nothing was restored
case $SNAP_KEY in
  *.age)
    if [ "$HAVE_KEY" = false ]; then
      RL_STAGE=verify
      t0=$(now_ms)
      fetch_checked "$SNAP_KEY"
      rm -f "$WORK/$SNAP_KEY"
      if [ -n "$PKI_KEY" ]; then
        fetch_checked "$PKI_KEY"
        rm -f "$WORK/$PKI_KEY"
      fi
      rl_add_dur verify $(($(now_ms) - t0))
      RL_STAGE="done"
      where=${DRILL_IDENTITY_SECRET:+the Secret $DRILL_IDENTITY_SECRET, key identity.txt, }
      finish verified-not-restored 10 "backup $BASE verified but NOT restored: its snapshot is age-encrypted and no drill identity is mounted (${where:-no identitySecret set in backup.drill, }at ${AGE_IDENTITY_FILE:-<AGE_IDENTITY_FILE unset>}); every object matches its checksum sidecar, but only a restore proves the backup usable"
    fi
    ;;
esac

# ---------------------------------------------------------------------------------------------------
# 4b. download, verify, decrypt, decompress (restore-lib.sh); the PKI bundle too when the set has one and a key is here
WANT_PKI=false
[ -n "$PKI_KEY" ] && [ "$HAVE_KEY" = true ] && WANT_PKI=true
t0=$(now_ms)
lib_call rl_fetch_verified "$WORK/fetch" "$WANT_PKI"
RL_SNAPSHOT_FILE="$WORK/fetch/snapshot.db"
VERIFIED="$VERIFIED $SNAP_KEY"
[ "$WANT_PKI" = true ] && VERIFIED="$VERIFIED $PKI_KEY"
rm -f "$WORK/fetch/pki.tar"
OBS_DB_SIZE=$(num "$(file_size "$RL_SNAPSHOT_FILE")")
rl_add_dur fetch $(($(now_ms) - t0))

# ---------------------------------------------------------------------------------------------------
# 5. restore into scratch as a throwaway single member (the revision is kept: BUMP_REVISION=false)
RL_STAGE=restore
pick_ports 0 || fail 1 "no free port pair from $DRILL_PORT_BASE on 127.0.0.1"
MEMBER=drill
DATA="$WORK/data"
restore_snapshot() {
  INITIAL_CLUSTER="$MEMBER=http://127.0.0.1:$PEER_PORT"
  INITIAL_CLUSTER_TOKEN="$CLUSTER_NAME-drill-$$"
  BUMP_REVISION=false
  export INITIAL_CLUSTER INITIAL_CLUSTER_TOKEN BUMP_REVISION
  _t=$(now_ms)
  lib_call rl_restore_into "$DATA" "$MEMBER" "http://127.0.0.1:$PEER_PORT"
  rl_add_dur restore $(($(now_ms) - _t))
}
restore_snapshot

# ---------------------------------------------------------------------------------------------------
# 6. snapshot status of the downloaded file (after the restore: etcdctl 3.4's status may touch the file)
RL_STAGE=status
st=$(timeout 120 "$STATUS_TOOL" snapshot status -w json "$RL_SNAPSHOT_FILE" 2>"$WORK/status.err") ||
  fail 2 "$STATUS_TOOL snapshot status failed on $SNAP_KEY: $(summarize "$WORK/status.err")"
OBS_SNAP_REVISION=$(num "$(printf '%s\n' "$st" | json_int revision)")
OBS_SNAP_TOTAL_KEYS=$(num "$(printf '%s\n' "$st" | json_int totalKey)")
rm -f "$RL_SNAPSHOT_FILE" # free scratch before etcd starts

# ---------------------------------------------------------------------------------------------------
# 7. the throwaway etcd, loopback only, bounded; a port taken meanwhile: next pair, fresh restore (up to 3 times)
RL_STAGE=start
ETCD_LOG="$WORK/etcd.log"
attempt=0
started=false
t0=$(now_ms)
while [ "$attempt" -lt 3 ] && [ "$started" = false ]; do
  ENDPOINT="http://127.0.0.1:$CLIENT_PORT"
  log "starting a throwaway etcd on $ENDPOINT (peer $PEER_PORT), data in $DATA"
  etcd --name "$MEMBER" --data-dir "$DATA" \
    --listen-client-urls "$ENDPOINT" --advertise-client-urls "$ENDPOINT" \
    --listen-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
    --initial-cluster "$INITIAL_CLUSTER" --initial-cluster-token "$INITIAL_CLUSTER_TOKEN" \
    --logger=zap --log-outputs=stderr --log-level=warn </dev/null >"$ETCD_LOG" 2>&1 &
  ETCD_PID=$!
  waited=0
  while :; do
    if ! kill -0 "$ETCD_PID" 2>/dev/null; then
      wait "$ETCD_PID" 2>/dev/null
      rc=$?
      ETCD_PID=""
      if awk '/address already in use/ { f = 1 } END { exit !f }' "$ETCD_LOG" && [ "$attempt" -lt 2 ]; then
        log "WARNING: port $CLIENT_PORT or $PEER_PORT was taken meanwhile: trying the next pair"
        pick_ports $((attempt + 1)) || fail 1 "no free port pair from $DRILL_PORT_BASE on 127.0.0.1"
        restore_snapshot
        break
      fi
      fail 8 "the throwaway etcd exited (code $rc) before it became healthy: $(summarize "$ETCD_LOG")"
    fi
    if ctl endpoint health >/dev/null 2>&1; then
      started=true
      break
    fi
    [ "$waited" -ge "$DRILL_HEALTH_TIMEOUT_SECONDS" ] &&
      fail 8 "the throwaway etcd was not healthy within ${DRILL_HEALTH_TIMEOUT_SECONDS}s: $(summarize "$ETCD_LOG")"
    sleep 1
    waited=$((waited + 1))
  done
  attempt=$((attempt + 1))
done
[ "$started" = true ] || fail 8 "the throwaway etcd did not start: $(summarize "$ETCD_LOG")"
rl_add_dur start $(($(now_ms) - t0))
log "throwaway etcd healthy on $ENDPOINT (pid $ETCD_PID)"

# ---------------------------------------------------------------------------------------------------
# 8. what the restored etcd serves
RL_STAGE=check
t0=$(now_ms)
es=$(ctl endpoint status -w json 2>"$WORK/ctl.err") || fail 8 "etcdctl endpoint status failed: $(summarize "$WORK/ctl.err")"
OBS_REVISION=$(num "$(printf '%s\n' "$es" | json_int revision)")
v=$(printf '%s\n' "$es" | awk 'match($0, /"version":"[0-9A-Za-z.+-]*"/) { print substr($0, RSTART + 11, RLENGTH - 12); exit }')
[ -n "$v" ] && OBS_VERSION=$(json_str "$v")
kc=$(ctl get "" --prefix --keys-only --limit 1 -w json 2>"$WORK/ctl.err") || fail 8 "etcdctl get (key count) failed: $(summarize "$WORK/ctl.err")"
case $kc in
  *'"count":'*) OBS_KEYS=$(num "$(printf '%s\n' "$kc" | json_int count)") ;;
  *'"header":'*) OBS_KEYS=0 ;; # protobuf JSON leaves out a zero count
esac
stop_etcd
rl_add_dur check $(($(now_ms) - t0))

problems=""
skipped=""
problem() { problems="${problems:+$problems; }$*"; }
if [ "$EXP_REVISION" = null ]; then skipped="$skipped revision"; else
  [ "$OBS_SNAP_REVISION" = "$EXP_REVISION" ] || problem "snapshot revision $OBS_SNAP_REVISION, metadata says $EXP_REVISION"
  [ "$OBS_REVISION" = "$EXP_REVISION" ] || problem "the restored etcd serves revision $OBS_REVISION, metadata says $EXP_REVISION"
fi
if [ "$EXP_TOTAL_KEYS" = null ]; then skipped="$skipped totalKeys"; else
  [ "$OBS_SNAP_TOTAL_KEYS" = "$EXP_TOTAL_KEYS" ] || problem "snapshot holds $OBS_SNAP_TOTAL_KEYS keys (all revisions), metadata says $EXP_TOTAL_KEYS"
  if [ "$OBS_KEYS" = null ]; then problem "the restored etcd did not report a key count"
  elif [ "$OBS_KEYS" -gt "$EXP_TOTAL_KEYS" ]; then problem "the restored etcd serves $OBS_KEYS keys, more than the $EXP_TOTAL_KEYS (all revisions) in the backup"; fi
fi
if [ "$EXP_DB_SIZE" = null ]; then skipped="$skipped dbSize"; else
  [ "$OBS_DB_SIZE" = "$EXP_DB_SIZE" ] || problem "snapshot is $OBS_DB_SIZE bytes, metadata says $EXP_DB_SIZE"
fi
[ "$OBS_REVISION" = null ] && problem "the restored etcd did not report a revision"

RL_STAGE="done"
[ -n "$problems" ] && fail 9 "backup $BASE restored, but the restored etcd does not match its metadata: $problems"
note=""
[ -n "$skipped" ] && note=" (not compared, null in $BASE.meta.json:$skipped)"
summary="backup $BASE restored and served by a throwaway etcd: revision $OBS_REVISION, $OBS_KEYS live keys, $OBS_SNAP_TOTAL_KEYS keys in the snapshot, as recorded$note"
log "$summary"
finish passed 0 "$summary"
