#!/bin/sh
# controlplane-backup: restore ONE kubeadm (stacked etcd) control-plane member from a backup (POSIX sh: dash, busybox sh).
#
# Pod contract: one Job per control-plane member, pinned to its node, hostNetwork: true, the host paths below mounted
# at their real paths (DATA_DIR, the directory of ETCD_MANIFEST, PKI_DIR, SCRATCH_DIR), the scripts ConfigMap
# (restore-member.sh AND restore-lib.sh) at one directory: /bin/sh <dir>/restore-member.sh
# All members' Jobs run at the same time; they meet at a barrier in the object store before any of them stops etcd.
#
# Environment
#   CLUSTER_NAME          required, DNS label (object names are <cluster>-<yyyymmddThhmmssZ>.*)
#   RESTORE_ID            required, [a-z0-9-], names the marker, the saved data and the barrier; a new id = a new restore
#   SNAPSHOT_DIR          rclone path of the folder holding the backup set ("remote:bucket/prefix/<cluster>", remote
#                         configured by RCLONE_CONFIG_<R>_* env vars) or an absolute local directory
#   SNAPSHOT_NAME         <cluster>-<yyyymmddThhmmssZ> or "latest" (newest set with a .sha256 sidecar)
#   MEMBER_NAME           this member's etcd --name;  MEMBER_PEER_URL  https://<ip>:2380 (its --initial-advertise-peer-urls)
#   MEMBERS               space-separated names of ALL members (the barrier waits for each)
#   INITIAL_CLUSTER       n1=https://ip1:2380,n2=... (same names as MEMBERS, this member's entry = MEMBER_PEER_URL)
#   INITIAL_CLUSTER_TOKEN a NEW token for the restored cluster
#   DATA_DIR              etcd --data-dir on the host (e.g. /var/lib/etcd); must exist
#   ETCD_MANIFEST         the etcd static pod manifest (e.g. /etc/kubernetes/manifests/etcd.yaml)
#   ETCD_ENDPOINT         https://<member ip>:2379, with ETCDCTL_CACERT / ETCDCTL_CERT / ETCDCTL_KEY (healthcheck client)
#   PKI_RESTORE           true | false (default false): also restore the PKI files from the backup's PKI bundle
#   PKI_DIR               e.g. /etc/kubernetes/pki (required when PKI_RESTORE=true)
#   PKI_ARCHIVE_PREFIX    path of the PKI dir inside the bundle (default etc/kubernetes/pki: backup.sh archives
#                         PKI_PATHS relative to /); its files are mapped onto PKI_DIR
#   AGE_IDENTITY_FILE     age identity (AGE-SECRET-KEY-...) from a Secret; needed when an object is .age
#   BUMP_REVISION         true (default) | false: --bump-revision 1000000000 --mark-compacted when the restore tool has it
#   BARRIER_DIR           rclone path for the barrier files (e.g. <cluster folder>/restores/<RESTORE_ID>); required
#                         with more than one member
#   BARRIER_TIMEOUT_SECONDS 600;  STOP_TIMEOUT_SECONDS 120;  HEALTH_TIMEOUT_SECONDS 300
#   SCRATCH_DIR           /var/lib/controlplane-backup/scratch (downloads go to SCRATCH_DIR/restore-<RESTORE_ID>,
#                         removed at the end)
#   RCLONE_*              passed through (defaults: see restore-lib.sh; AWS_CA_BUNDLE becomes RCLONE_CA_CERT)
#
# Steps: (1) tools + config; (2) marker DATA_DIR/.controlplane-backup-restore-<id>.done exists -> "skipped", nothing
# touched; (3) resolve, download, verify (sidecar sha256, decrypt, decompress, snapshot trailer) into scratch;
# (4) restore into DATA_DIR/.restore-<id>.staging; (5) barrier: BARRIER_DIR/<member>.staged holds the snapshot name,
# wait for every member, same snapshot for all; (6) stop etcd: manifest -> <manifest dir>/.etcd.yaml.restore-<id>
# (the kubelet ignores dot files), wait until ETCD_ENDPOINT stops answering; (7) swap the staged member/ in
# (old one kept as DATA_DIR/member.before-restore-<id>); (8) PKI (copy of the current files in
# PKI_DIR/.before-restore-<id>/); (9) marker; (10) manifest back; (11) wait for ETCD_ENDPOINT health.
#
# Output: exactly one JSON result line on stdout (status ok|skipped|failed, exitCode, stage, message, cluster,
# restoreId, member, snapshot, revisionBumped, pkiRestored, durationsMs); messages on stderr, prefix "controlplane-backup:".
# Exit codes: 0 ok or skipped; 1 other; 2 snapshot invalid (checksum, trailer, missing sidecar or object, nothing
# complete for latest); 3 missing tool, bad configuration, missing/wrong decryption key; 4 storage unreachable or
# denied; 6 barrier (timeout, members on different snapshots; node untouched); 7 etcd did not stop (manifest put
# back, node untouched); 8 etcd not healthy after the restore (data and PKI restored, marker written).
# Failures after etcd was stopped and before the marker leave etcd stopped (manifest parked) and say so: re-run the
# Job with the same RESTORE_ID to finish.

set -u
set -f
umask 077

# shellcheck source=restore-lib.sh
. "${0%/*}/restore-lib.sh"

# Commands this script runs beyond restore-lib.sh's RL_TOOLS (zstd|gzip|age as the objects need).
REQUIRED_TOOLS="etcdctl"
# shellcheck disable=SC2034 # read by tests
OPTIONAL_TOOLS="etcdutl zstd gzip age"

T_START=$(now_ms)
OUTDIR=""
STAGING=""
PARKED=""
STAGED=0
STOPPED=0
SWAP_STARTED=0
MARKED=0
PKI_DONE=false

# shellcheck disable=SC2317 # called through RL_CLEANUP by rl_die
cleanup() {
  [ -n "$OUTDIR" ] && rm -rf "$OUTDIR"
  if [ "$STAGED" = 1 ] && [ "$SWAP_STARTED" = 0 ] && [ -n "$STAGING" ]; then rm -rf "$STAGING"; fi
  if [ "$STOPPED" = 1 ] && [ "$MARKED" = 0 ]; then
    if [ "$SWAP_STARTED" = 0 ] && [ -f "$PARKED" ] && [ ! -e "$ETCD_MANIFEST" ]; then
      mv "$PARKED" "$ETCD_MANIFEST" && rl_log "etcd's data was not changed: manifest moved back to $ETCD_MANIFEST"
    else
      rl_log "ERROR: etcd is left STOPPED (manifest parked at $PARKED): re-run this Job with RESTORE_ID=$RESTORE_ID to finish the restore"
    fi
  fi
  return 0
}
RL_CLEANUP=cleanup
rl_trap_signals

# ---------------------------------------------------------------------------------------------------
# 1. tools and configuration
RL_STAGE=config
# shellcheck disable=SC2086 # tool lists: words
rl_require $RL_TOOLS $REQUIRED_TOOLS

CLUSTER_NAME=${CLUSTER_NAME:-}
RESTORE_ID=${RESTORE_ID:-}
MEMBER_NAME=${MEMBER_NAME:-}
MEMBER_PEER_URL=${MEMBER_PEER_URL:-}
MEMBERS=${MEMBERS:-}
INITIAL_CLUSTER=${INITIAL_CLUSTER:-}
INITIAL_CLUSTER_TOKEN=${INITIAL_CLUSTER_TOKEN:-}
DATA_DIR=${DATA_DIR:-}
ETCD_MANIFEST=${ETCD_MANIFEST:-}
ETCD_ENDPOINT=${ETCD_ENDPOINT:-}
PKI_RESTORE=${PKI_RESTORE:-false}
PKI_DIR=${PKI_DIR:-}
PKI_ARCHIVE_PREFIX=${PKI_ARCHIVE_PREFIX:-etc/kubernetes/pki}
BUMP_REVISION=${BUMP_REVISION:-true}
BARRIER_DIR=${BARRIER_DIR:-}
BARRIER_TIMEOUT_SECONDS=${BARRIER_TIMEOUT_SECONDS:-600}
STOP_TIMEOUT_SECONDS=${STOP_TIMEOUT_SECONDS:-120}
HEALTH_TIMEOUT_SECONDS=${HEALTH_TIMEOUT_SECONDS:-300}
SCRATCH_DIR=${SCRATCH_DIR:-/var/lib/controlplane-backup/scratch}
RL_FIELDS="\"member\":$(json_str "$MEMBER_NAME")"

case $CLUSTER_NAME in
  '') rl_die 3 "CLUSTER_NAME is required" ;;
  -* | *- | *[!a-z0-9-]*) rl_die 3 "CLUSTER_NAME must be a DNS label (got '$CLUSTER_NAME')" ;;
esac
case $RESTORE_ID in
  '') rl_die 3 "RESTORE_ID is required (a new id for each restore)" ;;
  -* | *[!a-z0-9-]*) rl_die 3 "RESTORE_ID must be lower-case letters, digits and '-' (got '$RESTORE_ID')" ;;
esac
[ "${#RESTORE_ID}" -le 63 ] || rl_die 3 "RESTORE_ID must be at most 63 characters"
case $MEMBER_NAME in
  '') rl_die 3 "MEMBER_NAME is required (this member's etcd --name)" ;;
  *[!A-Za-z0-9._-]*) rl_die 3 "MEMBER_NAME must be letters, digits, '.', '_' or '-' (got '$MEMBER_NAME')" ;;
esac
case $MEMBER_PEER_URL in
  https://?*:[0-9]* | http://?*:[0-9]*) ;;
  *) rl_die 3 "MEMBER_PEER_URL must be https://<ip>:<port> (got '$MEMBER_PEER_URL')" ;;
esac
case $ETCD_ENDPOINT in
  https://?* | http://?*) ;;
  *) rl_die 3 "ETCD_ENDPOINT must be https://<ip>:2379 (got '$ETCD_ENDPOINT')" ;;
esac
[ -n "$INITIAL_CLUSTER_TOKEN" ] || rl_die 3 "INITIAL_CLUSTER_TOKEN is required (a new token for the restored cluster)"
for v in DATA_DIR ETCD_MANIFEST SCRATCH_DIR; do
  eval "val=\${$v}"
  # shellcheck disable=SC2154 # val is set by eval
  case $val in
    '') rl_die 3 "$v is required" ;;
    /*[[:space:]]* | *[[:space:]]*) rl_die 3 "$v must not contain whitespace (got '$val')" ;;
    /*) ;;
    *) rl_die 3 "$v must be an absolute path (got '$val')" ;;
  esac
done
DATA_DIR=${DATA_DIR%/}
[ -d "$DATA_DIR" ] || rl_die 3 "DATA_DIR $DATA_DIR is not a directory (is the host path mounted?)"
for v in BARRIER_TIMEOUT_SECONDS STOP_TIMEOUT_SECONDS HEALTH_TIMEOUT_SECONDS; do
  eval "val=\${$v}"
  is_uint "$val" || rl_die 3 "$v must be a non-negative integer (got '$val')"
done
case $BUMP_REVISION in true | false) ;; *) rl_die 3 "BUMP_REVISION must be true or false (got '$BUMP_REVISION')" ;; esac
case $PKI_RESTORE in
  true)
    case $PKI_DIR in
      /*) ;;
      *) rl_die 3 "PKI_RESTORE=true needs PKI_DIR, an absolute path (got '$PKI_DIR')" ;;
    esac
    case $PKI_DIR in *[[:space:]]*) rl_die 3 "PKI_DIR must not contain whitespace" ;; esac
    PKI_DIR=${PKI_DIR%/}
    [ -d "$PKI_DIR" ] || rl_die 3 "PKI_DIR $PKI_DIR is not a directory (is the host path mounted?)"
    PKI_ARCHIVE_PREFIX=$(printf '%s' "$PKI_ARCHIVE_PREFIX" | awk '{ sub(/^\/+/, ""); sub(/\/+$/, ""); print }')
    case $PKI_ARCHIVE_PREFIX in '' | *..* | *[[:space:]]*) rl_die 3 "PKI_ARCHIVE_PREFIX must be a relative path like etc/kubernetes/pki" ;; esac
    ;;
  false) ;;
  *) rl_die 3 "PKI_RESTORE must be true or false (got '$PKI_RESTORE')" ;;
esac

# MEMBERS and INITIAL_CLUSTER must describe the same members; this member's peer URL must match.
MEMBER_COUNT=0
for m in $MEMBERS; do
  case $m in *[!A-Za-z0-9._-]*) rl_die 3 "MEMBERS: invalid member name '$m'" ;; esac
  MEMBER_COUNT=$((MEMBER_COUNT + 1))
done
[ "$MEMBER_COUNT" -gt 0 ] || rl_die 3 "MEMBERS is required (space-separated names of all members)"
IC_CHECK=$(printf '%s\n' "$INITIAL_CLUSTER" | awk -v members="$MEMBERS" -v me="$MEMBER_NAME" -v url="$MEMBER_PEER_URL" '
  {
    nm = split(members, ms, " "); for (i = 1; i <= nm; i++) { if (ms[i] in want) { print "duplicate member " ms[i] " in MEMBERS"; exit } want[ms[i]] = 1 }
    n = split($0, es, ",")
    for (i = 1; i <= n; i++) {
      p = index(es[i], "="); if (p < 2) { print "entry \"" es[i] "\" is not name=peer-url"; exit }
      k = substr(es[i], 1, p - 1); v = substr(es[i], p + 1)
      if (!(k in want)) { print "member " k " is not in MEMBERS"; exit }
      if (k in got) { print "duplicate member " k; exit }
      got[k] = v
    }
    for (k in want) if (!(k in got)) { print "member " k " of MEMBERS is missing"; exit }
    if (!(me in got)) { print "MEMBER_NAME " me " is not in it"; exit }
    if (got[me] != url) { print "the entry of " me " is " got[me] ", MEMBER_PEER_URL is " url; exit }
  }')
[ -n "$INITIAL_CLUSTER" ] || rl_die 3 "INITIAL_CLUSTER is required (n1=https://ip1:2380,n2=...)"
[ -z "$IC_CHECK" ] || rl_die 3 "INITIAL_CLUSTER does not match MEMBERS / MEMBER_NAME / MEMBER_PEER_URL: $IC_CHECK (INITIAL_CLUSTER='$INITIAL_CLUSTER', MEMBERS='$MEMBERS')"
if [ "$MEMBER_COUNT" -gt 1 ]; then
  [ -n "$BARRIER_DIR" ] || rl_die 3 "BARRIER_DIR is required with more than one member (MEMBERS='$MEMBERS')"
  case $BARRIER_DIR in /* | [A-Za-z0-9_-]*:*) ;; *) rl_die 3 "BARRIER_DIR must be an absolute path or remote:path (got '$BARRIER_DIR')" ;; esac
  BARRIER_DIR=${BARRIER_DIR%/}
fi

MANIFEST_DIR=${ETCD_MANIFEST%/*}
PARKED="$MANIFEST_DIR/.${ETCD_MANIFEST##*/}.restore-$RESTORE_ID"
STAGING="$DATA_DIR/.restore-$RESTORE_ID.staging"
MARKER=$(rl_marker "$DATA_DIR")
OUTDIR="$SCRATCH_DIR/restore-$RESTORE_ID"
# etcdctl: this member only; ETCDCTL_ENDPOINTS would conflict with --endpoints
unset ETCDCTL_ENDPOINTS

# ---------------------------------------------------------------------------------------------------
# 2. already done?
RL_STAGE=marker
if [ -f "$MARKER" ]; then
  SNAPSHOT_NAME=$(awk -F= '$1 == "snapshot" { print $2; exit }' "$MARKER")
  OUTDIR="" # nothing of ours to clean
  if [ ! -e "$ETCD_MANIFEST" ] && [ -f "$PARKED" ]; then
    # the earlier run stopped between the marker and moving the manifest back: finish that step only
    mv "$PARKED" "$ETCD_MANIFEST" || rl_die 1 "cannot move $PARKED back to $ETCD_MANIFEST"
    rl_log "restore $RESTORE_ID was done but etcd's manifest was still parked: moved it back to $ETCD_MANIFEST"
  fi
  rl_log "already restored: $MARKER exists (restore $RESTORE_ID of $SNAPSHOT_NAME); nothing to do"
  rl_add_dur total $(($(now_ms) - T_START))
  rl_result skipped 0 "already restored" "\"pkiRestored\":null"
  exit 0
fi
[ -f "$ETCD_MANIFEST" ] || [ -f "$PARKED" ] || rl_die 3 "etcd manifest not found: $ETCD_MANIFEST (nor $PARKED from an earlier attempt)"

# ---------------------------------------------------------------------------------------------------
# 3. resolve, fetch and verify into scratch (nothing else on the node is touched before this succeeded)
rl_resolve_snapshot
case $SCRATCH_DIR in "$DATA_DIR" | "$DATA_DIR"/*) rl_die 3 "SCRATCH_DIR must not be inside DATA_DIR" ;; esac
rm -rf "$OUTDIR"
rl_fetch_verified "$OUTDIR" "$PKI_RESTORE"
PKI_SRC=""
if [ "$PKI_RESTORE" = true ]; then
  mkdir -p "$OUTDIR/pki-x" || rl_die 1 "cannot create $OUTDIR/pki-x"
  tar -x -f "$RL_PKI_FILE" -C "$OUTDIR/pki-x" 2>"$OUTDIR/tar.err" ||
    rl_die 2 "cannot extract the PKI bundle of $SNAPSHOT_NAME: $(summarize "$OUTDIR/tar.err")"
  rm -f "$RL_PKI_FILE"
  PKI_SRC="$OUTDIR/pki-x/$PKI_ARCHIVE_PREFIX"
  ( cd "$PKI_SRC" 2>/dev/null && find . -type f -print ) >"$OUTDIR/pki-new.list" 2>/dev/null || : >"$OUTDIR/pki-new.list"
  [ -s "$OUTDIR/pki-new.list" ] ||
    rl_die 2 "the PKI bundle of $SNAPSHOT_NAME has no files under $PKI_ARCHIVE_PREFIX/ (first entries: $(head -n 3 "$OUTDIR/pki.list" | awk '{ s = s (NR > 1 ? ", " : "") $0 } END { print s }')); set PKI_ARCHIVE_PREFIX"
  rl_log "PKI bundle: $(awk 'END { print NR }' "$OUTDIR/pki-new.list") files under $PKI_ARCHIVE_PREFIX/"
fi

# ---------------------------------------------------------------------------------------------------
# 4. restore into the staging dir (inside DATA_DIR: the swap is a rename on one file system)
STAGED=1
rl_restore_into "$STAGING" "$MEMBER_NAME" "$MEMBER_PEER_URL"

# ---------------------------------------------------------------------------------------------------
# 5. barrier: every member staged, all from the same snapshot
if [ "$MEMBER_COUNT" -gt 1 ]; then
  RL_STAGE=barrier
  t0=$(now_ms)
  berr="$OUTDIR/barrier.err"
  : >"$berr"
  printf '%s\n' "$SNAPSHOT_NAME" >"$OUTDIR/$MEMBER_NAME.staged" || rl_die 1 "cannot write $OUTDIR/$MEMBER_NAME.staged"
  rl_rclone "$berr" copyto "$OUTDIR/$MEMBER_NAME.staged" "$BARRIER_DIR/$MEMBER_NAME.staged" || {
    s=$(summarize "$berr")
    rl_die 4 "cannot write the barrier file $BARRIER_DIR/$MEMBER_NAME.staged: $s$(hint "$s")"
  }
  rl_log "staged $SNAPSHOT_NAME; waiting (at most ${BARRIER_TIMEOUT_SECONDS}s) for every member at $BARRIER_DIR"
  deadline=$(($(date +%s) + BARRIER_TIMEOUT_SECONDS))
  next_note=0
  while :; do
    waiting=""
    : >"$berr"
    if listing=$(rl_rclone "$berr" lsf --files-only --max-depth 1 "$BARRIER_DIR"); then
      for m in $MEMBERS; do
        printf '%s\n' "$listing" | awk -v k="$m.staged" '$0 == k { f = 1 } END { exit !f }' || waiting="$waiting $m"
      done
      if [ -z "$waiting" ]; then
        differ=""
        for m in $MEMBERS; do
          if s=$(rl_rclone "$berr" cat "$BARRIER_DIR/$m.staged"); then
            s=$(printf '%s\n' "$s" | head -n 1)
            [ "$s" = "$SNAPSHOT_NAME" ] || differ="$differ, $m=$s"
          else
            waiting="$waiting $m"
          fi
        done
        if [ -z "$waiting" ]; then
          [ -z "$differ" ] && break
          rl_die 6 "members resolved different snapshots ($MEMBER_NAME=$SNAPSHOT_NAME$differ): start a new restore (new RESTORE_ID) with an explicit SNAPSHOT_NAME; nothing on this node was changed"
        fi
      fi
    else
      waiting=" (listing failed: $(summarize "$berr"))"
    fi
    now=$(date +%s)
    [ "$now" -lt "$deadline" ] ||
      rl_die 6 "barrier timeout: after ${BARRIER_TIMEOUT_SECONDS}s still waiting for member(s):$waiting at $BARRIER_DIR (is each member's restore Job running?); nothing on this node was changed"
    if [ "$now" -ge "$next_note" ]; then
      rl_log "barrier: waiting for$waiting"
      next_note=$((now + 15))
    fi
    sleep 2
  done
  rl_add_dur barrier $(($(now_ms) - t0))
  rl_log "barrier passed: all $MEMBER_COUNT members staged $SNAPSHOT_NAME"
fi

# ---------------------------------------------------------------------------------------------------
# 6. stop etcd: park the static pod manifest, wait until the member stops answering.
# "endpoint status" (not "health"): it answers without quorum, so a running member whose peers are already stopped
# still counts as running.
RL_STAGE=stop-etcd
t0=$(now_ms)
etcd_answers() {
  # A live local member accepts a connection within milliseconds; the command keeps a full second for a busy one.
  timeout 10 etcdctl --endpoints="$ETCD_ENDPOINT" --dial-timeout=500ms --command-timeout=1s endpoint status >/dev/null 2>&1 </dev/null
}
etcd_healthy() {
  timeout 15 etcdctl --endpoints="$ETCD_ENDPOINT" --dial-timeout=2s --command-timeout=5s endpoint health >/dev/null 2>"$OUTDIR/health.err" </dev/null
}
if [ -f "$ETCD_MANIFEST" ]; then
  mv "$ETCD_MANIFEST" "$PARKED" || rl_die 1 "cannot move $ETCD_MANIFEST to $PARKED"
  rl_log "etcd manifest parked at $PARKED; waiting (at most ${STOP_TIMEOUT_SECONDS}s) for etcd to stop"
else
  rl_log "etcd manifest already parked at $PARKED by an earlier attempt; checking that etcd is stopped"
fi
STOPPED=1
deadline=$(($(date +%s) + STOP_TIMEOUT_SECONDS))
fails=0
while [ "$fails" -lt 3 ]; do
  if etcd_answers; then fails=0; else fails=$((fails + 1)); fi
  [ "$fails" -ge 3 ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    STOPPED=0
    mv "$PARKED" "$ETCD_MANIFEST" || rl_die 7 "etcd at $ETCD_ENDPOINT still answers ${STOP_TIMEOUT_SECONDS}s after its manifest was moved away, AND the manifest could not be moved back from $PARKED: move it back by hand"
    rl_die 7 "etcd at $ETCD_ENDPOINT still answers ${STOP_TIMEOUT_SECONDS}s after its manifest was moved away (is the kubelet running? is etcd a static pod from $MANIFEST_DIR?); manifest moved back, nothing on this node was changed"
  fi
  # sleep takes fractions in coreutils and busybox alike (the tools image has both)
  sleep 0.5
done
rl_add_dur stopEtcd $(($(now_ms) - t0))
rl_log "etcd at $ETCD_ENDPOINT stopped"

# ---------------------------------------------------------------------------------------------------
# 7. swap the restored data in
t0=$(now_ms)
SWAP_STARTED=1
rl_swap_in "$DATA_DIR" "$STAGING"
rl_add_dur swap $(($(now_ms) - t0))

# ---------------------------------------------------------------------------------------------------
# 8. PKI
if [ "$PKI_RESTORE" = true ]; then
  RL_STAGE=pki
  t0=$(now_ms)
  saved="$PKI_DIR/.before-restore-$RESTORE_ID"
  if [ -d "$saved" ]; then
    rl_log "$saved exists from an earlier attempt of restore $RESTORE_ID: keeping it as the copy of the original PKI"
  else
    rm -rf "$saved.part"
    mkdir "$saved.part" || rl_die 1 "cannot create $saved.part"
    ( cd "$PKI_DIR" && find . -path './.before-restore-*' -prune -o -type f -print ) >"$OUTDIR/pki-current.list" ||
      rl_die 1 "cannot list $PKI_DIR"
    while IFS= read -r f; do
      f=${f#./}
      case $f in */*) mkdir -p "$saved.part/${f%/*}" || rl_die 1 "cannot create $saved.part/${f%/*}" ;; esac
      cp -p "$PKI_DIR/$f" "$saved.part/$f" || rl_die 1 "cannot copy $PKI_DIR/$f to $saved.part"
    done <"$OUTDIR/pki-current.list"
    mv "$saved.part" "$saved" || rl_die 1 "cannot rename $saved.part to $saved"
    rl_log "current PKI ($(awk 'END { print NR }' "$OUTDIR/pki-current.list") files) copied to $saved"
  fi
  n=0
  while IFS= read -r f; do
    f=${f#./}
    case $f in */*) mkdir -p "$PKI_DIR/${f%/*}" || rl_die 1 "cannot create $PKI_DIR/${f%/*}" ;; esac
    cp -p "$PKI_SRC/$f" "$PKI_DIR/$f.restore-tmp" || rl_die 1 "cannot write $PKI_DIR/$f.restore-tmp"
    mv -f "$PKI_DIR/$f.restore-tmp" "$PKI_DIR/$f" || rl_die 1 "cannot replace $PKI_DIR/$f"
    n=$((n + 1))
  done <"$OUTDIR/pki-new.list"
  PKI_DONE=true
  rl_add_dur pki $(($(now_ms) - t0))
  rl_log "PKI restored: $n files written to $PKI_DIR (files not in the bundle were left as they are)"
fi

# ---------------------------------------------------------------------------------------------------
# 9. marker
RL_STAGE=marker
{
  printf 'snapshot=%s\nrestoreId=%s\nmember=%s\nrestoredAt=%s\nrevisionBumped=%s\npki=%s\n' "$SNAPSHOT_NAME" "$RESTORE_ID" \
    "$MEMBER_NAME" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$RL_REVISION_BUMPED" "$PKI_DONE" >"$MARKER.part" &&
    mv "$MARKER.part" "$MARKER"
} || rl_die 1 "cannot write the marker $MARKER"
MARKED=1

# ---------------------------------------------------------------------------------------------------
# 10. start etcd again
RL_STAGE=start-etcd
t0=$(now_ms)
mv "$PARKED" "$ETCD_MANIFEST" || rl_die 1 "data restored, but the manifest could not be moved back: mv $PARKED $ETCD_MANIFEST by hand"
STOPPED=0
rl_log "manifest moved back to $ETCD_MANIFEST; waiting (at most ${HEALTH_TIMEOUT_SECONDS}s) for etcd health"

# ---------------------------------------------------------------------------------------------------
# 11. health
deadline=$(($(date +%s) + HEALTH_TIMEOUT_SECONDS))
until etcd_healthy; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    rl_add_dur startEtcd $(($(now_ms) - t0))
    rl_die 8 "etcd at $ETCD_ENDPOINT not healthy ${HEALTH_TIMEOUT_SECONDS}s after the restore ($(summarize "$OUTDIR/health.err")): the data of $SNAPSHOT_NAME is in place (marker $MARKER); check the etcd container's log on this node, that every member of '$MEMBERS' was restored by restore $RESTORE_ID, and the peer URLs (RUNBOOK: etcd not healthy after restore)"
  fi
  sleep 1
done
rl_add_dur startEtcd $(($(now_ms) - t0))

# ---------------------------------------------------------------------------------------------------
# 12. result
RL_STAGE="done"
rm -rf "$OUTDIR"
OUTDIR=""
rl_add_dur total $(($(now_ms) - T_START))
rl_log "restore $RESTORE_ID of member $MEMBER_NAME from $SNAPSHOT_NAME complete; etcd healthy"
rl_result_ok "\"pkiRestored\":$PKI_DONE"
exit 0
