#!/bin/sh
# controlplane-backup: per-replica Job of a hosted etcd restore (see restore-coordinator.sh). POSIX sh: dash, busybox.
#
# Job <cluster>-restore-<id>-<i> (tools image): /bin/sh /opt/controlplane-backup/restore-replica.sh, the replica's PVC
# mounted at /var/lib/controlplane-backup/volume, the scripts ConfigMap at /opt/controlplane-backup, a service-account
# token allowed to get/patch configmaps/<STATUS_CONFIGMAP>. Its pod cannot start while the volume (RWO) is attached to
# a running etcd pod on another node; on the same node, waiting for phase RestoringSnapshot keeps it off live data.
#
# Environment
#   CLUSTER_NAME, RESTORE_ID, ORDINAL (0..N-1), MEMBER_NAME (<statefulset>-<i>)
#   MEMBER_PEER_URL        https://<statefulset>-<i>.<headless service>.<namespace>.svc:2380
#   INITIAL_CLUSTER        every replica: name=peer-url,...;  INITIAL_CLUSTER_TOKEN: new token of the restored cluster
#   DATA_DIR               the etcd container's --data-dir inside the volume, e.g.
#                          /var/lib/controlplane-backup/volume/default.etcd (created when missing)
#   NAMESPACE, STATUS_CONFIGMAP
#   SNAPSHOT_DIR           backup folder; the backup NAME is read from the status ConfigMap (data.snapshot), which
#                          the coordinator records after verifying it: every replica restores the same set
#   AGE_IDENTITY_FILE, BUMP_REVISION (true|false), SCRATCH_DIR, RCLONE_*
#   KUBE_API, KUBE_TOKEN_FILE, KUBE_CA_FILE   see kube-api.sh
#   RESTORE_TIMEOUT_SECONDS (1800)  bound of the wait for phase RestoringSnapshot;  POLL_SECONDS (2)
#
# Steps: marker DATA_DIR/.controlplane-backup-restore-<id>.done present -> report restored, exit 0 (skipped);
#   wait until phase RestoringSnapshot (Failed -> exit 10; Succeeded -> exit 0 skipped, data untouched);
#   fetch + verify the recorded backup; restore into <DATA_DIR's parent>/.restore-<id>-staging (same file system);
#   swap in (old data kept as DATA_DIR/member.before-restore-<id>); marker; status data.replica-<i> = "restored".
#   Any failure after the wait: data.replica-<i> = "failed: <message>" (the coordinator then fails the restore).
#
# Output: one JSON result line on stdout (restore-lib.sh format, plus "ordinal" and "member"); messages on stderr.
# Exit codes: 0 ok or skipped; 2 snapshot invalid; 3 configuration or decryption key; 4 storage fetch failed;
#   9 Kubernetes API error; 10 the restore failed elsewhere or the wait timed out; 1 other (restore/swap failed).

set -u
set -f
umask 077

# shellcheck source=restore-lib.sh
. "${0%/*}/restore-lib.sh"
# shellcheck source=kube-api.sh
. "${0%/*}/kube-api.sh"
# shellcheck source=restore-hosted-lib.sh
. "${0%/*}/restore-hosted-lib.sh"

# shellcheck disable=SC2034 # read by tests (tools image)
REQUIRED_TOOLS="$RL_TOOLS $KUBE_TOOLS $RH_TOOLS etcdutl|etcdctl"

WORK=""
REPORTED=0
cleanup() {
  [ -n "$WORK" ] && [ -d "$WORK" ] && rm -rf "$WORK"
  return 0
}
RL_CLEANUP=cleanup

# report_failed CODE MESSAGE: data.replica-<i> = "failed: MESSAGE" (best effort), then exit CODE
report_failed() {
  if [ "$REPORTED" = 0 ] && [ -n "$WORK" ]; then
    REPORTED=1
    rh_status_patch "$(rh_kv "replica-$ORDINAL" "failed: $2")" || rl_log "ERROR: cannot report the failure in the status ConfigMap: $KUBE_ERR"
  fi
  rl_die "$1" "$2"
}

# shellcheck disable=SC2317 # called by the trap
on_signal() {
  [ "$ACTING" = 1 ] && report_failed 1 "terminated by a signal while restoring"
  rl_die 1 "terminated by signal"
}
ACTING=0
trap on_signal HUP INT TERM

# --------------------------------------------------------------------------------------------------------------
RL_STAGE=config
# shellcheck disable=SC2086 # tool lists: words
rl_require $RL_TOOLS $KUBE_TOOLS $RH_TOOLS "etcdutl|etcdctl"
case ${CLUSTER_NAME:-} in '' | -* | *- | *[!a-z0-9-]*) rl_die 3 "CLUSTER_NAME must be a DNS label (got '${CLUSTER_NAME:-}')" ;; esac
case ${RESTORE_ID:-} in '' | *[!a-z0-9-]*) rl_die 3 "RESTORE_ID is required: [a-z0-9-] (got '${RESTORE_ID:-}')" ;; esac
case ${ORDINAL:-} in '' | *[!0-9]*) rl_die 3 "ORDINAL must be a non-negative integer (got '${ORDINAL:-}')" ;; esac
rh_check_name "${NAMESPACE:-}" NAMESPACE
rh_check_name "${STATUS_CONFIGMAP:-}" STATUS_CONFIGMAP
rh_check_name "${MEMBER_NAME:-}" MEMBER_NAME
RL_FIELDS="\"role\":\"replica\",\"ordinal\":$ORDINAL,\"member\":$(json_str "$MEMBER_NAME")"
case ${MEMBER_PEER_URL:-} in https://?* | http://?*) ;; *) rl_die 3 "MEMBER_PEER_URL must be an http(s) URL (got '${MEMBER_PEER_URL:-}')" ;; esac
case ",${INITIAL_CLUSTER:-}," in
  *",$MEMBER_NAME=$MEMBER_PEER_URL,"*) ;;
  *) rl_die 3 "INITIAL_CLUSTER must contain $MEMBER_NAME=$MEMBER_PEER_URL (got '${INITIAL_CLUSTER:-}')" ;;
esac
[ -n "${INITIAL_CLUSTER_TOKEN:-}" ] || rl_die 3 "INITIAL_CLUSTER_TOKEN is required"
case ${BUMP_REVISION:=false} in true | false) ;; *) rl_die 3 "BUMP_REVISION must be true or false (got '$BUMP_REVISION')" ;; esac
DATA_DIR=${DATA_DIR:-}
case $DATA_DIR in /?*) ;; *) rl_die 3 "DATA_DIR must be an absolute path (the etcd --data-dir inside the volume; got '$DATA_DIR')" ;; esac
case $DATA_DIR in *[[:space:]]*) rl_die 3 "DATA_DIR must not contain whitespace" ;; esac
DATA_DIR=${DATA_DIR%/}
PARENT=${DATA_DIR%/*}
[ -n "$PARENT" ] || rl_die 3 "DATA_DIR must not be a top-level directory: the staging dir goes beside it, in the volume"
[ -d "$PARENT" ] || rl_die 3 "the volume is not mounted: $PARENT does not exist"
RESTORE_TIMEOUT_SECONDS=$(rh_uint_or "${RESTORE_TIMEOUT_SECONDS:-}" 1800 RESTORE_TIMEOUT_SECONDS)
POLL_SECONDS=$(rh_uint_or "${POLL_SECONDS:-}" 2 POLL_SECONDS)
[ "$POLL_SECONDS" -ge 1 ] || POLL_SECONDS=1
SCRATCH_DIR=${SCRATCH_DIR:-/var/lib/controlplane-backup/scratch}
case $SCRATCH_DIR in /*) ;; *) rl_die 3 "SCRATCH_DIR must be an absolute path (got '$SCRATCH_DIR')" ;; esac
mkdir -p "$SCRATCH_DIR" || rl_die 3 "cannot create SCRATCH_DIR $SCRATCH_DIR"
kube_check_config || rl_die 3 "$KUBE_ERR"
WORK=$(mktemp -d "$SCRATCH_DIR/.replica-$ORDINAL.XXXXXX") || { WORK=""; rl_die 1 "cannot create a work dir in $SCRATCH_DIR"; }
KUBE_TMP=$WORK
MARKER=$(rl_marker "$DATA_DIR")

report_restored() {
  rh_status_patch "$(rh_kv "replica-$ORDINAL" restored)" || rl_die 9 "restored, but cannot report it in the status ConfigMap: $KUBE_ERR (the Job's retry reports it from the marker)"
}

# --------------------------------------------------------------------------------------------------------------
RL_STAGE=marker
if [ -e "$MARKER" ]; then
  rl_log "marker $MARKER present: replica $ORDINAL already restored by restore $RESTORE_ID"
  report_restored
  rl_result skipped 0 "replica $ORDINAL already restored by restore $RESTORE_ID"
  cleanup
  exit 0
fi

RL_STAGE="wait"
rl_log "waiting (at most ${RESTORE_TIMEOUT_SECONDS}s) for phase RestoringSnapshot of $NAMESPACE/$STATUS_CONFIGMAP"
start=$(date +%s)
while :; do
  if rh_status_get; then
    phase=$(rh_status_field phase)
    case $phase in
      RestoringSnapshot) break ;;
      Failed) rl_die 10 "restore $RESTORE_ID Failed ($(rh_status_field reason)) before this replica acted: data untouched" ;;
      Succeeded)
        rl_result skipped 0 "restore $RESTORE_ID already Succeeded without this replica's marker: data untouched"
        cleanup
        exit 0
        ;;
      StartingEtcd | StartingControlPlane)
        rl_die 10 "restore $RESTORE_ID is in phase $phase but replica $ORDINAL has no marker ($MARKER): data untouched; check the volume binding" ;;
    esac
  else
    rl_log "WARNING: $KUBE_ERR"
  fi
  if [ $(($(date +%s) - start)) -ge "$RESTORE_TIMEOUT_SECONDS" ]; then
    report_failed 10 "phase RestoringSnapshot not reached within ${RESTORE_TIMEOUT_SECONDS}s (last phase: ${phase:-unknown}): data untouched"
  fi
  sleep "$POLL_SECONDS"
done

# --------------------------------------------------------------------------------------------------------------
ACTING=1
SNAPSHOT_NAME=$(rh_status_field snapshot)
{ [ -n "$SNAPSHOT_NAME" ] && [ "$SNAPSHOT_NAME" != latest ]; } ||
  report_failed 3 "the status ConfigMap has no resolved snapshot (data.snapshot='$SNAPSHOT_NAME'): data untouched"
rl_log "restoring $SNAPSHOT_NAME as member $MEMBER_NAME ($MEMBER_PEER_URL) into $DATA_DIR"
STAGING="$PARENT/.restore-$RESTORE_ID-staging"
# shellcheck disable=SC2317 # run by rh_run_captured
restore_step() {
  rl_resolve_snapshot || return 1
  rl_fetch_verified "$WORK/fetch" false || return 1
  rl_restore_into "$STAGING" "$MEMBER_NAME" "$MEMBER_PEER_URL" || return 1
  rm -rf "$WORK/fetch"
  mkdir -p "$DATA_DIR" || rl_die 1 "cannot create $DATA_DIR"
  rl_swap_in "$DATA_DIR" "$STAGING" || return 1
  : >"$MARKER" || rl_die 1 "cannot write the marker $MARKER (the restored data is in place)"
  printf 'bumped %s\n' "$RL_REVISION_BUMPED" >"$WORK/bumped"
}
rh_run_captured restore_step || report_failed "$RH_RC" "$RH_MSG"
RL_REVISION_BUMPED=$(awk '$1 == "bumped" { print $2 }' "$WORK/bumped")
rl_log "replica $ORDINAL restored; marker $MARKER"
RL_STAGE=report
report_restored
rl_result_ok "" "replica $ORDINAL restored from $SNAPSHOT_NAME"
cleanup
exit 0
