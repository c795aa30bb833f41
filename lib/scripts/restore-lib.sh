# shellcheck shell=sh
# controlplane-backup: functions shared by every restore script (POSIX sh: dash, busybox sh). Sourced:
#   . "${0%/*}/restore-lib.sh"
# Sourcing only defines functions and sets rclone defaults; nothing runs.
#
# Inputs read from the environment (by the functions that need them):
#   CLUSTER_NAME, RESTORE_ID                  recorded in every result line
#   SNAPSHOT_DIR, SNAPSHOT_NAME               rl_resolve_snapshot, rl_fetch_verified
#   AGE_IDENTITY_FILE                         rl_fetch_verified (only when an object is age-encrypted)
#   INITIAL_CLUSTER, INITIAL_CLUSTER_TOKEN, BUMP_REVISION   rl_restore_into
#   RCLONE_*                                  passed through; defaults below (bounded, env-only config)
#   RL_RCLONE_DEADLINE (900), RL_RESTORE_TIMEOUT (600)      seconds, outer bounds of one rclone / restore call
# State the sourcing script may set or read:
#   RL_STAGE          stage recorded in the result line (set it before each step)
#   RL_FIELDS         extra JSON members for every result line, e.g. "\"member\":\"n1\"" (no leading comma)
#   RL_CLEANUP        name of a function rl_die (and the signal trap) calls before exiting
#   RL_SNAPSHOT_FILE, RL_PKI_FILE   set by rl_fetch_verified (OUTDIR/snapshot.db, OUTDIR/pki.tar)
#   RL_REVISION_BUMPED              set by rl_restore_into (true|false)
#   rl_add_dur NAME MS              adds to "durationsMs" of the result line
#
# Result line (stdout, exactly one): {"status","exitCode","stage","message","cluster","restoreId","snapshot",
#   "revisionBumped", <RL_FIELDS>, <fields given to rl_result_ok>, "durationsMs":{...}}
# Exit codes used here: 2 snapshot invalid (checksum, trailer, missing sidecar or object, nothing complete);
#   3 missing tool, bad configuration, missing/wrong decryption key; 4 storage unreachable or denied; 1 other.

# shellcheck source=common.sh
. "${0%/*}/common.sh"

RL_PROG=controlplane-backup
# Commands the functions below run (the restore scripts add their own). zstd|gzip|age only when an object needs them.
# shellcheck disable=SC2034 # read by the restore scripts and tests
RL_TOOLS="awk cat cp cut date find head mkdir mktemp mv od rclone rm sha256sum sleep sort tail tar timeout tr wc"
RL_STAGE=init
RL_FIELDS=""
RL_CLEANUP=""
RL_RESULT_EMITTED=0
RL_DUR_JSON=""
RL_SNAPSHOT_FILE=""
RL_PKI_FILE=""
RL_REVISION_BUMPED=false
RL_LISTING=""
RL_LISTING_OF=""

rl_log() { printf '%s: %s\n' "$RL_PROG" "$*" >&2; }



rl_add_dur() { RL_DUR_JSON="${RL_DUR_JSON:+$RL_DUR_JSON,}\"$1\":$2"; }

# rl_result STATUS EXIT_CODE MESSAGE [EXTRA_JSON_FIELDS]: the one result line (printed once)
rl_result() {
  [ "$RL_RESULT_EMITTED" = 1 ] && return 0
  RL_RESULT_EMITTED=1
  _rl_snap=null
  case ${SNAPSHOT_NAME:-} in '' | latest) ;; *) _rl_snap=$(json_str "$SNAPSHOT_NAME") ;; esac
  printf '{"status":"%s","exitCode":%s,"stage":"%s","message":%s,"cluster":%s,"restoreId":%s,"snapshot":%s,"revisionBumped":%s%s%s,"durationsMs":{%s}}\n' \
    "$1" "$2" "$RL_STAGE" "$(json_str "$3")" "$(json_str "${CLUSTER_NAME:-}")" "$(json_str "${RESTORE_ID:-}")" \
    "$_rl_snap" "$RL_REVISION_BUMPED" "${RL_FIELDS:+,$RL_FIELDS}" "${4:+,$4}" "$RL_DUR_JSON"
}

# rl_result_ok [EXTRA_JSON_FIELDS] [MESSAGE]
rl_result_ok() { rl_result ok 0 "${2:-restore complete}" "${1:-}"; }

# rl_die CODE MESSAGE...: log, result line with status failed, cleanup hook, exit CODE
rl_die() {
  _rl_code=$1
  shift
  rl_log "ERROR: $*"
  rl_result failed "$_rl_code" "$*"
  if [ -n "$RL_CLEANUP" ]; then
    _rl_c=$RL_CLEANUP
    RL_CLEANUP="" # never twice (a failing cleanup must not loop)
    "$_rl_c" || true
  fi
  exit "$_rl_code"
}

# Signals (activeDeadlineSeconds, pod deletion): still one result line.
rl_trap_signals() {
  trap 'rl_die 1 "terminated by signal"' HUP INT TERM
}

# rl_require TOOL...: exit 3 naming every missing tool; "a|b" accepts either
rl_require() {
  _rl_missing=""
  for _rl_t in "$@"; do
    _rl_ok=0
    _rl_ifs=$IFS
    IFS='|'
    for _rl_alt in $_rl_t; do
      command -v "$_rl_alt" >/dev/null 2>&1 && _rl_ok=1
    done
    IFS=$_rl_ifs
    [ "$_rl_ok" = 1 ] || _rl_missing="$_rl_missing $_rl_t"
  done
  [ -z "$_rl_missing" ] || rl_die 3 "missing required tool(s):$_rl_missing"
}





# rclone defaults: bounded, env-only config, never creates a bucket; AWS_CA_BUNDLE breaks rclone's S3 backend.
: "${RCLONE_CA_CERT:=${AWS_CA_BUNDLE:-}}"
[ -n "$RCLONE_CA_CERT" ] && export RCLONE_CA_CERT
[ -z "$RCLONE_CA_CERT" ] && unset RCLONE_CA_CERT
unset AWS_CA_BUNDLE
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
: "${RL_RCLONE_DEADLINE:=900}"
: "${RL_RESTORE_TIMEOUT:=600}"

# rl_rclone ERRFILE ARGS...: one bounded rclone call, stderr appended to ERRFILE
rl_rclone() {
  _rl_err=$1
  shift
  timeout "$RL_RCLONE_DEADLINE" rclone "$@" 2>>"$_rl_err"
}

# rl_list ERRFILE [rm]: file names directly in SNAPSHOT_DIR into RL_LISTING (once per SNAPSHOT_DIR); exit 4 on
# failure. With "rm", ERRFILE is removed afterwards.
rl_list() {
  [ "$RL_LISTING_OF" = "$SNAPSHOT_DIR" ] && return 0
  if ! RL_LISTING=$(rl_rclone "$1" lsf --files-only --max-depth 1 "$SNAPSHOT_DIR"); then
    _rl_s=$(summarize "$1")
    [ "${2:-}" = rm ] && rm -f "$1"
    rl_die 4 "cannot list $SNAPSHOT_DIR: $_rl_s$(hint "$_rl_s")"
  fi
  [ "${2:-}" = rm ] && rm -f "$1"
  RL_LISTING_OF=$SNAPSHOT_DIR
}

# rl_listed NAME: is NAME in RL_LISTING
rl_listed() {
  printf '%s\n' "$RL_LISTING" | awk -v k="$1" '$0 == k { f = 1 } END { exit !f }'
}

# rl_resolve_snapshot: validates SNAPSHOT_DIR / SNAPSHOT_NAME; "latest" becomes the newest complete backup
# (a <cluster>-<yyyymmddThhmmssZ> base name with a .sha256 sidecar) found by ONE listing of SNAPSHOT_DIR.
rl_resolve_snapshot() {
  RL_STAGE=resolve
  [ -n "${SNAPSHOT_DIR:-}" ] || rl_die 3 "SNAPSHOT_DIR is required (rclone path of the backup folder, e.g. s3_main:bucket/etcd/<cluster>)"
  case $SNAPSHOT_DIR in
    /* | [A-Za-z0-9_-]*:*) ;;
    *) rl_die 3 "SNAPSHOT_DIR must be an absolute path or remote:path (got '$SNAPSHOT_DIR')" ;;
  esac
  case $SNAPSHOT_DIR in *[[:space:]]*) rl_die 3 "SNAPSHOT_DIR must not contain whitespace (got '$SNAPSHOT_DIR')" ;; esac
  SNAPSHOT_DIR=${SNAPSHOT_DIR%/}
  SNAPSHOT_NAME=${SNAPSHOT_NAME:-}
  case $SNAPSHOT_NAME in
    '') rl_die 3 "SNAPSHOT_NAME is required: <cluster>-<yyyymmddThhmmssZ> or latest" ;;
    latest) ;;
    "$CLUSTER_NAME"-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z) return 0 ;;
    *) rl_die 3 "SNAPSHOT_NAME must be latest or $CLUSTER_NAME-<yyyymmddThhmmssZ> (got '$SNAPSHOT_NAME')" ;;
  esac
  _rl_e=$(mktemp) || rl_die 1 "mktemp failed"
  rl_list "$_rl_e" rm
  SNAPSHOT_NAME=$(printf '%s\n' "$RL_LISTING" | awk -v c="$CLUSTER_NAME" '
    { n = $0; sub(/\.sha256$/, "", n) }
    $0 == n ".sha256" && substr(n, 1, length(c) + 1) == c "-" && substr(n, length(c) + 2) ~ /^[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z$/ { print n }
  ' | sort | tail -n 1)
  if [ -z "$SNAPSHOT_NAME" ]; then
    SNAPSHOT_NAME=latest
    rl_die 2 "no complete backup of $CLUSTER_NAME in $SNAPSHOT_DIR (no $CLUSTER_NAME-<yyyymmddThhmmssZ>.sha256 sidecar)"
  fi
  rl_log "latest complete backup in $SNAPSHOT_DIR: $SNAPSHOT_NAME"
}

# rl_check_snapshot FILE: size % 512 == 32 and the embedded sha256 trailer (same method as backup.sh); exit 2
rl_check_snapshot() {
  _rl_sz=$(file_size "$1") || rl_die 2 "cannot read snapshot of $SNAPSHOT_NAME"
  is_uint "$_rl_sz" || rl_die 2 "cannot determine the snapshot size of $SNAPSHOT_NAME"
  [ "$_rl_sz" -gt 32 ] || rl_die 2 "snapshot of $SNAPSHOT_NAME truncated: only $_rl_sz bytes"
  [ $((_rl_sz % 512)) -eq 32 ] || rl_die 2 "snapshot of $SNAPSHOT_NAME truncated or corrupt: size $_rl_sz is not 512*n+32"
  _rl_trailer=$(tail -c 32 "$1" | od -An -v -tx1 | tr -d ' \n') || rl_die 2 "cannot read the snapshot trailer of $SNAPSHOT_NAME"
  _rl_body=$(head -c $((_rl_sz - 32)) "$1" | sha256_stdin) || rl_die 2 "cannot hash the snapshot of $SNAPSHOT_NAME"
  [ "${#_rl_trailer}" -eq 64 ] || rl_die 2 "snapshot trailer of $SNAPSHOT_NAME unreadable"
  [ "$_rl_trailer" = "$_rl_body" ] || rl_die 2 "snapshot of $SNAPSHOT_NAME corrupt: sha256 trailer mismatch (trailer $_rl_trailer, content $_rl_body)"
}

# rl_decode IN OUT WORKDIR: age-decrypt (.age) and decompress (.zst/.gz) IN into OUT, streaming; exit 3 / 2
rl_decode() {
  _rl_in=$1 _rl_outf=$2 _rl_w=$3
  _rl_k=${_rl_in##*/}
  _rl_st="$_rl_w/decode.status"
  : >"$_rl_st"
  : >"$_rl_w/age.err"
  : >"$_rl_w/decompress.err"
  _rl_plain=$_rl_in
  case $_rl_in in *.age) _rl_plain=${_rl_in%.age} ;; esac
  {
    case $_rl_in in
      *.age) age -d -i "$AGE_IDENTITY_FILE" "$_rl_in" 2>"$_rl_w/age.err" || echo age >>"$_rl_st" ;;
      *) cat "$_rl_in" || echo read >>"$_rl_st" ;;
    esac
  } | {
    case $_rl_plain in
      *.zst) zstd -d -q -c >"$_rl_outf" 2>"$_rl_w/decompress.err" || echo decompress >>"$_rl_st" ;;
      *.gz) gzip -d -c >"$_rl_outf" 2>"$_rl_w/decompress.err" || echo decompress >>"$_rl_st" ;;
      *) cat >"$_rl_outf" 2>"$_rl_w/decompress.err" || echo write >>"$_rl_st" ;;
    esac
  }
  if awk '$0 == "age" { f = 1 } END { exit !f }' "$_rl_st"; then
    _rl_s=$(summarize "$_rl_w/age.err")
    case $_rl_s in
      *"no identity matched"*) rl_die 3 "wrong decryption key: the age identity in $AGE_IDENTITY_FILE does not match the recipients $_rl_k was encrypted to ($_rl_s)" ;;
      *) rl_die 3 "cannot decrypt $_rl_k with the age identity in $AGE_IDENTITY_FILE: $_rl_s" ;;
    esac
  fi
  awk '$0 == "read" { f = 1 } END { exit !f }' "$_rl_st" && rl_die 1 "cannot read $_rl_in"
  [ -s "$_rl_st" ] && rl_die 2 "cannot decompress $_rl_k: $(summarize "$_rl_w/decompress.err")"
  [ -s "$_rl_outf" ] || rl_die 2 "$_rl_k decodes to nothing"
  rm -f "$_rl_in" # free scratch space early
}

# rl_fetch_verified OUTDIR WANT_PKI: sidecar first, then the objects it lists, each checked against it, decrypted and
# decompressed: OUTDIR/snapshot.db (trailer checked) and, when WANT_PKI=true, OUTDIR/pki.tar. Writes only in OUTDIR.
rl_fetch_verified() {
  _rl_out=$1 _rl_want_pki=$2
  RL_STAGE=fetch
  case $_rl_out in /*) ;; *) rl_die 3 "fetch directory must be an absolute path (got '$_rl_out')" ;; esac
  mkdir -p "$_rl_out" || rl_die 1 "cannot create $_rl_out"
  RCLONE_CACHE_DIR="$_rl_out/.rclone-cache"
  export RCLONE_CACHE_DIR
  _rl_err="$_rl_out/rclone.err"
  : >"$_rl_err"
  _rl_n=$SNAPSHOT_NAME
  _rl_t0=$(now_ms)
  rl_list "$_rl_err"
  rl_listed "$_rl_n.sha256" || rl_die 2 "no checksum sidecar: $_rl_n is an incomplete backup ($_rl_n.sha256 not found in $SNAPSHOT_DIR)"
  rl_rclone "$_rl_err" copyto "$SNAPSHOT_DIR/$_rl_n.sha256" "$_rl_out/$_rl_n.sha256" || {
    _rl_s=$(summarize "$_rl_err")
    rl_die 4 "download of $_rl_n.sha256 failed: $_rl_s$(hint "$_rl_s")"
  }
  # the snapshot and PKI objects the sidecar lists (only these exact names: the sidecar never chooses a path)
  _rl_snapkey=""
  _rl_pkikey=""
  for _rl_sfx in .db.zst.age .db.gz.age .db.age .db.zst .db.gz .db; do
    _rl_h=$(awk -v k="$_rl_n$_rl_sfx" '$2 == k && $1 ~ /^[0-9a-f]+$/ && length($1) == 64 { print $1; exit }' "$_rl_out/$_rl_n.sha256")
    [ -n "$_rl_h" ] && { _rl_snapkey=$_rl_n$_rl_sfx; break; }
  done
  [ -n "$_rl_snapkey" ] || rl_die 2 "sidecar $_rl_n.sha256 lists no snapshot object ($_rl_n.db[.zst|.gz][.age])"
  _rl_keys=$_rl_snapkey
  if [ "$_rl_want_pki" = true ]; then
    for _rl_sfx in .pki.tar.zst.age .pki.tar.gz.age .pki.tar.age; do
      _rl_h=$(awk -v k="$_rl_n$_rl_sfx" '$2 == k && $1 ~ /^[0-9a-f]+$/ && length($1) == 64 { print $1; exit }' "$_rl_out/$_rl_n.sha256")
      [ -n "$_rl_h" ] && { _rl_pkikey=$_rl_n$_rl_sfx; break; }
    done
    [ -n "$_rl_pkikey" ] || rl_die 2 "backup $_rl_n has no PKI bundle ($_rl_n.pki.tar[.zst|.gz].age not in its sidecar)"
    _rl_keys="$_rl_keys $_rl_pkikey"
  fi
  for _rl_k in $_rl_keys; do
    rl_listed "$_rl_k" || rl_die 2 "$_rl_k is missing from $SNAPSHOT_DIR: $_rl_n is an incomplete backup"
  done
  # fail before any download when the key is needed and absent
  case " $_rl_keys" in
    *.age\ * | *.age)
      if [ -z "${AGE_IDENTITY_FILE:-}" ] || [ ! -s "$AGE_IDENTITY_FILE" ]; then
        rl_die 3 "decryption key missing: create the Secret mounted at ${AGE_IDENTITY_FILE:-<AGE_IDENTITY_FILE unset>} with the age identity (AGE-SECRET-KEY-...) whose recipient the backups are encrypted to"
      fi
      command -v age >/dev/null 2>&1 || rl_die 3 "missing required tool(s): age"
      ;;
  esac
  for _rl_k in $_rl_keys; do
    case $_rl_k in
      *.zst | *.zst.age) command -v zstd >/dev/null 2>&1 || rl_die 3 "missing required tool(s): zstd" ;;
      *.gz | *.gz.age) command -v gzip >/dev/null 2>&1 || rl_die 3 "missing required tool(s): gzip" ;;
    esac
  done
  for _rl_k in $_rl_keys; do
    : >"$_rl_err"
    rl_rclone "$_rl_err" copyto "$SNAPSHOT_DIR/$_rl_k" "$_rl_out/$_rl_k" || {
      _rl_s=$(summarize "$_rl_err")
      rl_die 4 "download of $_rl_k failed: $_rl_s$(hint "$_rl_s")"
    }
    _rl_want=$(awk -v k="$_rl_k" '$2 == k { print $1; exit }' "$_rl_out/$_rl_n.sha256")
    _rl_got=$(sha256_file "$_rl_out/$_rl_k") || rl_die 1 "cannot hash $_rl_k"
    [ "$_rl_want" = "$_rl_got" ] || rl_die 2 "checksum mismatch: $_rl_k (sidecar $_rl_want, downloaded $_rl_got): the object is corrupt"
    rl_log "downloaded $_rl_k ($(file_size "$_rl_out/$_rl_k") bytes), sha256 matches the sidecar"
  done
  rl_add_dur fetch $(($(now_ms) - _rl_t0))
  RL_STAGE=verify
  _rl_t0=$(now_ms)
  RL_SNAPSHOT_FILE="$_rl_out/snapshot.db"
  rl_decode "$_rl_out/$_rl_snapkey" "$RL_SNAPSHOT_FILE" "$_rl_out"
  rl_check_snapshot "$RL_SNAPSHOT_FILE"
  rl_log "snapshot $_rl_snapkey verified: $(file_size "$RL_SNAPSHOT_FILE") bytes, sha256 trailer matches"
  if [ -n "$_rl_pkikey" ]; then
    RL_PKI_FILE="$_rl_out/pki.tar"
    rl_decode "$_rl_out/$_rl_pkikey" "$RL_PKI_FILE" "$_rl_out"
    tar -t -f "$RL_PKI_FILE" >"$_rl_out/pki.list" 2>"$_rl_out/tar.err" ||
      rl_die 2 "PKI bundle $_rl_pkikey is not a readable tar archive: $(summarize "$_rl_out/tar.err")"
  fi
  rl_add_dur verify $(($(now_ms) - _rl_t0))
}

# rl_restore_into STAGING MEMBER_NAME PEER_URL: RL_SNAPSHOT_FILE restored into a fresh STAGING (removed first)
rl_restore_into() {
  _rl_stg=$1 _rl_name=$2 _rl_peer=$3
  RL_STAGE=restore
  _rl_t0=$(now_ms)
  { [ -n "$RL_SNAPSHOT_FILE" ] && [ -s "$RL_SNAPSHOT_FILE" ]; } || rl_die 1 "no verified snapshot to restore (rl_fetch_verified first)"
  rm -rf "$_rl_stg" || rl_die 1 "cannot remove the old staging dir $_rl_stg"
  if command -v etcdutl >/dev/null 2>&1; then _rl_tool=etcdutl; else _rl_tool=etcdctl; fi
  _rl_bump=false
  if [ "${BUMP_REVISION:-false}" = true ]; then
    if "$_rl_tool" snapshot restore --help 2>&1 | awk '/--bump-revision/ { f = 1 } END { exit !f }'; then
      _rl_bump=true
    else
      rl_log "WARNING: BUMP_REVISION=true but $_rl_tool snapshot restore has no --bump-revision (etcd < 3.5.x/3.6)"
    fi
  fi
  _rl_e="${RL_SNAPSHOT_FILE%/*}/restore-tool.err"
  if [ "$_rl_bump" = true ]; then
    ETCDCTL_API=3 timeout "$RL_RESTORE_TIMEOUT" "$_rl_tool" snapshot restore "$RL_SNAPSHOT_FILE" --name "$_rl_name" \
      --initial-cluster "$INITIAL_CLUSTER" --initial-cluster-token "$INITIAL_CLUSTER_TOKEN" \
      --initial-advertise-peer-urls "$_rl_peer" --data-dir "$_rl_stg" \
      --bump-revision 1000000000 --mark-compacted >/dev/null 2>"$_rl_e"
  else
    ETCDCTL_API=3 timeout "$RL_RESTORE_TIMEOUT" "$_rl_tool" snapshot restore "$RL_SNAPSHOT_FILE" --name "$_rl_name" \
      --initial-cluster "$INITIAL_CLUSTER" --initial-cluster-token "$INITIAL_CLUSTER_TOKEN" \
      --initial-advertise-peer-urls "$_rl_peer" --data-dir "$_rl_stg" >/dev/null 2>"$_rl_e"
  fi
  _rl_rc=$?
  _rl_s=$(summarize "$_rl_e")
  rm -f "$_rl_e"
  if [ "$_rl_rc" -ne 0 ] || [ ! -d "$_rl_stg/member" ]; then
    rm -rf "$_rl_stg"
    rl_die 1 "$_rl_tool snapshot restore failed (exit $_rl_rc): $_rl_s"
  fi
  RL_REVISION_BUMPED=$_rl_bump
  if [ "$_rl_bump" = true ]; then
    rl_log "restored $SNAPSHOT_NAME into $_rl_stg as member $_rl_name with $_rl_tool (revision bumped by 1000000000, compacted)"
  else
    rl_log "restored $SNAPSHOT_NAME into $_rl_stg as member $_rl_name with $_rl_tool (revision not bumped: restart every kube-apiserver, kube-controller-manager, kube-scheduler and kubelet after the restore, or their watch caches see revisions go backwards)"
  fi
  rl_add_dur restore $(($(now_ms) - _rl_t0))
}

# rl_marker DATA_DIR: path of the marker a finished restore leaves
rl_marker() { printf '%s\n' "$1/.controlplane-backup-restore-$RESTORE_ID.done"; }

# rl_swap_in DATA_DIR STAGING: DATA_DIR/member -> DATA_DIR/member.before-restore-$RESTORE_ID, STAGING/member ->
# DATA_DIR/member, STAGING removed. Renames only inside DATA_DIR (one file system; DATA_DIR may be a mount point).
rl_swap_in() {
  _rl_dd=$1 _rl_stg=$2
  RL_STAGE=swap
  _rl_saved="$_rl_dd/member.before-restore-$RESTORE_ID"
  [ -d "$_rl_stg/member" ] || rl_die 1 "staging dir $_rl_stg has no member/: nothing to swap in"
  if [ -e "$_rl_saved" ]; then
    # an earlier attempt of this restore already saved the original: the current member/ is that attempt's
    rl_log "$_rl_saved exists from an earlier attempt of restore $RESTORE_ID: keeping it, replacing $_rl_dd/member"
    rm -rf "$_rl_dd/member" || rl_die 1 "cannot remove $_rl_dd/member left by an earlier attempt"
  elif [ -e "$_rl_dd/member" ]; then
    mv "$_rl_dd/member" "$_rl_saved" || rl_die 1 "cannot move $_rl_dd/member to $_rl_saved"
  fi
  mv "$_rl_stg/member" "$_rl_dd/member" ||
    rl_die 1 "cannot move $_rl_stg/member to $_rl_dd/member (the original data is in $_rl_saved)"
  rm -rf "$_rl_stg" || rl_log "WARNING: cannot remove $_rl_stg"
  rl_log "swapped in the restored data: $_rl_dd/member (previous data: $_rl_saved)"
}
