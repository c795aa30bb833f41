#!/bin/sh
# controlplane-backup: coordinator of a hosted etcd restore (etcd as a StatefulSet of 1..N replicas in a management
# cluster namespace). POSIX sh: dash, busybox sh.
#
# Job <cluster>-restore-<id> (tools image): /bin/sh /opt/controlplane-backup/restore-coordinator.sh, with the scripts
# ConfigMap (this file, restore-lib.sh, restore-hosted-lib.sh, kube-api.sh) at /opt/controlplane-backup and a
# service-account token whose Role allows: get/patch statefulsets/<STATEFULSET> and its scale; get/patch the
# CONTROL_PLANE_DEPLOYMENTS and their scale; list pods; get/patch configmaps/<STATUS_CONFIGMAP>.
# Run it with backoffLimit 0 or 1: a retry of an interrupted run resumes (see "Re-runs"); a Failed restore is final.
# One replica Job per ordinal (restore-replica.sh) runs beside it and acts only during RestoringSnapshot.
#
# Environment
#   CLUSTER_NAME, RESTORE_ID     required (DNS label / [a-z0-9-])
#   NAMESPACE, STATEFULSET       required: the etcd StatefulSet
#   REPLICAS                     required: replica count the inventory expects (1..N)
#   CONTROL_PLANE_DEPLOYMENTS    space-separated Deployment names scaled to 0 around the restore (may be empty)
#   STATUS_CONFIGMAP             required: status ConfigMap (created by the bundle with data.phase=Pending)
#   SNAPSHOT_DIR, SNAPSHOT_NAME  backup folder (rclone path) and <cluster>-<yyyymmddThhmmssZ> | latest
#   AGE_IDENTITY_FILE            age identity when the backup is encrypted
#   SCRATCH_DIR                  scratch (the snapshot is fetched and verified there, then removed)
#   RCLONE_*                     storage (see restore-lib.sh)
#   KUBE_API, KUBE_TOKEN_FILE, KUBE_CA_FILE   see kube-api.sh (defaults: in-cluster service account)
#   STOP_TIMEOUT_SECONDS (300), RESTORE_TIMEOUT_SECONDS (1800), START_TIMEOUT_SECONDS (600), POLL_SECONDS (2)
#
# Status ConfigMap (data, merge-patched; every patch sets updatedAt):
#   phase      Pending -> Validating -> DrainingControlPlane -> StoppingEtcd -> RestoringSnapshot -> StartingEtcd
#              -> StartingControlPlane -> Succeeded, or Failed
#   reason     on Failed: ConfigInvalid, SnapshotInvalid, DecryptionKeyError, SnapshotFetchFailed,
#              ReplicaCountMismatch, ApiError, EtcdStopTimeout, RestoreJobFailed, EtcdStartFailed
#   message    what happened, what state the objects are in, what to do
#   snapshot   the resolved backup name: every replica restores exactly this set
#   original-statefulset-replicas, original-deployment-<name>   replicas before the restore (to undo by hand)
#   replica-<i>  written by the replica Jobs: "restored" or "failed: <message>"
#
# Phases
#   Validating            status read (Succeeded -> no-op, Failed -> refuse); snapshot resolved, fetched and verified
#                         (sidecar, sha256, decryption, trailer) before anything is touched; the StatefulSet has
#                         REPLICAS replicas (ReplicaCountMismatch otherwise).
#   DrainingControlPlane  each Deployment's scale recorded, then set to 0.
#   StoppingEtcd          StatefulSet scale recorded, set to 0; waits until no pod matches its selector.
#                         Timeout: EtcdStopTimeout, and everything scaled is scaled back.
#   RestoringSnapshot     waits for replica-<i>: restored for every ordinal. A failed replica or the timeout:
#                         RestoreJobFailed, etcd and the control plane are LEFT AT 0 (never start etcd on
#                         half-restored data).
#   StartingEtcd          StatefulSet back to its recorded replicas; waits for readyReplicas == REPLICAS
#                         (EtcdStartFailed otherwise; the control plane stays at 0).
#   StartingControlPlane  Deployments back to their recorded replicas.
#   Succeeded
# Re-runs: phase Succeeded -> exit 0, status "skipped". Phase Failed -> exit 10 (start a new restore with a new id).
#   Any other phase (an interrupted run) -> the phases are replayed with the recorded snapshot and originals, which is
#   safe: every replica Job that finished left a marker and reports "restored" again.
#
# Output: one JSON result line on stdout (restore-lib.sh format, plus "phase" and "reason"); messages on stderr.
# Exit codes: 0 ok or skipped; 2 snapshot invalid; 3 configuration or decryption key; 4 storage fetch failed;
#   9 Kubernetes API error; 10 a phase failed (reason in the status and the result line); 1 other.

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
REQUIRED_TOOLS="$RL_TOOLS $KUBE_TOOLS $RH_TOOLS"

PHASE=Pending
REASON=""
WORK=""
STATUS_FINAL=0

cleanup() {
  [ -n "$WORK" ] && [ -d "$WORK" ] && rm -rf "$WORK"
  return 0
}
RL_CLEANUP=cleanup
RL_FIELDS='"role":"coordinator"'

result_fields() { printf '"phase":"%s","reason":"%s"' "$PHASE" "$REASON"; }

# fail CODE REASON MESSAGE: status Failed (best effort), result line, exit CODE
fail() {
  REASON=$2
  PHASE=Failed
  if [ -n "$WORK" ] && [ "$STATUS_FINAL" = 0 ]; then
    STATUS_FINAL=1
    rh_status_patch "$(rh_kv phase Failed),$(rh_kv reason "$2"),$(rh_kv message "$3")" ||
      rl_log "ERROR: cannot write Failed to the status ConfigMap: $KUBE_ERR"
  fi
  RL_FIELDS="\"role\":\"coordinator\",$(result_fields)"
  rl_die "$1" "$3"
}

# set_phase PHASE MESSAGE [EXTRA_MEMBERS]
set_phase() {
  PHASE=$1
  RL_STAGE=$1
  rl_log "phase $1: $2"
  rh_status_patch "$(rh_kv phase "$1"),$(rh_kv reason ""),$(rh_kv message "$2")${3:+,$3}" ||
    fail 9 ApiError "cannot write phase $1 to the status ConfigMap: $KUBE_ERR"
}

# shellcheck disable=SC2317 # called by the trap
on_signal() {
  # keep the phase: a retry of the Job replays from the recorded state
  [ -n "$WORK" ] && rh_status_patch "$(rh_kv message "coordinator terminated by a signal during $PHASE; a retry of the Job resumes from the recorded state, otherwise start a new restore")" >/dev/null 2>&1
  RL_FIELDS="\"role\":\"coordinator\",$(result_fields)"
  rl_die 1 "terminated by signal during $PHASE"
}
trap on_signal HUP INT TERM

# --------------------------------------------------------------------------------------------------------------
# configuration
RL_STAGE=config
# shellcheck disable=SC2086 # tool lists: words
rl_require $RL_TOOLS $KUBE_TOOLS $RH_TOOLS
case ${CLUSTER_NAME:-} in '' | -* | *- | *[!a-z0-9-]*) rl_die 3 "CLUSTER_NAME must be a DNS label (got '${CLUSTER_NAME:-}')" ;; esac
case ${RESTORE_ID:-} in '' | *[!a-z0-9-]*) rl_die 3 "RESTORE_ID is required: [a-z0-9-] (got '${RESTORE_ID:-}')" ;; esac
rh_check_name "${NAMESPACE:-}" NAMESPACE
rh_check_name "${STATEFULSET:-}" STATEFULSET
rh_check_name "${STATUS_CONFIGMAP:-}" STATUS_CONFIGMAP
CONTROL_PLANE_DEPLOYMENTS=${CONTROL_PLANE_DEPLOYMENTS:-}
for d in $CONTROL_PLANE_DEPLOYMENTS; do rh_check_name "$d" "CONTROL_PLANE_DEPLOYMENTS entry"; done
REPLICAS=$(rh_uint_or "${REPLICAS:-}" "" REPLICAS)
{ [ -n "$REPLICAS" ] && [ "$REPLICAS" -ge 1 ]; } || rl_die 3 "REPLICAS must be at least 1 (got '$REPLICAS')"
STOP_TIMEOUT_SECONDS=$(rh_uint_or "${STOP_TIMEOUT_SECONDS:-}" 300 STOP_TIMEOUT_SECONDS)
RESTORE_TIMEOUT_SECONDS=$(rh_uint_or "${RESTORE_TIMEOUT_SECONDS:-}" 1800 RESTORE_TIMEOUT_SECONDS)
START_TIMEOUT_SECONDS=$(rh_uint_or "${START_TIMEOUT_SECONDS:-}" 600 START_TIMEOUT_SECONDS)
POLL_SECONDS=$(rh_uint_or "${POLL_SECONDS:-}" 2 POLL_SECONDS)
[ "$POLL_SECONDS" -ge 1 ] || POLL_SECONDS=1
SCRATCH_DIR=${SCRATCH_DIR:-/var/lib/controlplane-backup/scratch}
case $SCRATCH_DIR in /*) ;; *) rl_die 3 "SCRATCH_DIR must be an absolute path (got '$SCRATCH_DIR')" ;; esac
mkdir -p "$SCRATCH_DIR" || rl_die 3 "cannot create SCRATCH_DIR $SCRATCH_DIR"
kube_check_config || rl_die 3 "$KUBE_ERR"
WORK=$(mktemp -d "$SCRATCH_DIR/.coordinator.XXXXXX") || { WORK=""; rl_die 1 "cannot create a work dir in $SCRATCH_DIR"; }
KUBE_TMP=$WORK

NS=$NAMESPACE
STS_WHAT="statefulset $NS/$STATEFULSET"
STS_PATH="/apis/apps/v1/namespaces/$NS/statefulsets/$STATEFULSET"
dep_path() { printf '/apis/apps/v1/namespaces/%s/deployments/%s/scale' "$NS" "$1"; }

# scale WHAT PATH N: PATCH a scale subresource
scale() {
  kube_merge_patch "$1 scale" "$2" "{\"spec\":{\"replicas\":$3}}" "$WORK/scale.json"
}
# scale_of WHAT PATH: spec.replicas of a scale subresource (0 when unset)
scale_of() {
  kube_get "$1 scale" "$2" "$WORK/scale.json" || return 1
  kj "$WORK/scale.json" get spec.replicas 2>/dev/null || echo 0
}

# --------------------------------------------------------------------------------------------------------------
# Validating
RL_STAGE=status
rh_status_get || rl_die 9 "$KUBE_ERR (the restore bundle creates it with data.phase=Pending)"
PREV=$(rh_status_field phase)
case $PREV in
  Succeeded)
    PHASE=Succeeded
    SNAPSHOT_NAME=$(rh_status_field snapshot)
    rl_log "restore $RESTORE_ID already Succeeded (snapshot $SNAPSHOT_NAME): nothing to do"
    RL_FIELDS="\"role\":\"coordinator\",$(result_fields)"
    rl_result skipped 0 "restore $RESTORE_ID already Succeeded"
    cleanup
    exit 0
    ;;
  Failed)
    PHASE=Failed
    REASON=$(rh_status_field reason)
    STATUS_FINAL=1
    RL_FIELDS="\"role\":\"coordinator\",$(result_fields)"
    rl_die 10 "restore $RESTORE_ID already Failed ($REASON): $(rh_status_field message) -- a Failed restore is never resumed; start a new restore with a new id"
    ;;
  '' | Pending) PREV=Pending ;;
  Validating | DrainingControlPlane | StoppingEtcd | RestoringSnapshot | StartingEtcd | StartingControlPlane)
    rl_log "restore $RESTORE_ID was interrupted during $PREV: replaying the phases with the recorded snapshot and originals" ;;
  *) rl_die 3 "status ConfigMap $NS/$STATUS_CONFIGMAP has an unknown phase '$PREV'" ;;
esac
REC_SNAPSHOT=$(rh_status_field snapshot)
REC_STS=$(rh_status_field original-statefulset-replicas)
[ -n "$REC_SNAPSHOT" ] && SNAPSHOT_NAME=$REC_SNAPSHOT

set_phase Validating "fetching and verifying backup ${SNAPSHOT_NAME:-?} from ${SNAPSHOT_DIR:-?}"
FETCH="$WORK/fetch"
# shellcheck disable=SC2317 # run by rh_run_captured
fetch_step() {
  rl_resolve_snapshot || return 1
  rl_fetch_verified "$FETCH" false || return 1
  printf 'resolved %s\n' "$SNAPSHOT_NAME" >"$WORK/resolved"
}
if ! rh_run_captured fetch_step; then
  case $RH_RC in
    2) why=SnapshotInvalid ;;
    3) why=DecryptionKeyError ;;
    4) why=SnapshotFetchFailed ;;
    *) why=SnapshotInvalid ;;
  esac
  [ "$RH_RC" = 3 ] && case $RH_MSG in *decrypt* | *identity*) ;; *) why=ConfigInvalid ;; esac
  fail "$RH_RC" "$why" "backup not usable, nothing was changed: $RH_MSG"
fi
SNAPSHOT_NAME=$(awk '$1 == "resolved" { print $2 }' "$WORK/resolved")
rm -rf "$FETCH"
rl_log "backup $SNAPSHOT_NAME verified"
RL_STAGE=Validating
kube_get "$STS_WHAT" "$STS_PATH" "$WORK/sts.json" || fail 9 ApiError "$KUBE_ERR; nothing was changed"
CUR_STS=$(kj "$WORK/sts.json" get spec.replicas 2>/dev/null || echo 1)
HAVE=${REC_STS:-$CUR_STS}
[ "$HAVE" = "$REPLICAS" ] || fail 10 ReplicaCountMismatch "StatefulSet $NS/$STATEFULSET has $HAVE replicas, the inventory expects $REPLICAS: the backup is restored into exactly the inventory's members; fix the inventory (hosted.replicas) or the StatefulSet, then start a new restore. Nothing was changed."
kj "$WORK/sts.json" entries spec.selector.matchLabels >"$WORK/selector.tsv" 2>/dev/null || : >"$WORK/selector.tsv"
[ -s "$WORK/selector.tsv" ] || fail 10 ConfigInvalid "StatefulSet $NS/$STATEFULSET has no spec.selector.matchLabels; nothing was changed"
# labelSelector query value, URL-encoded
SELECTOR=$(awk -F '\t' '
  function enc(s,   o, i, c) { o = ""; for (i = 1; i <= length(s); i++) { c = substr(s, i, 1)
    if (c ~ /[A-Za-z0-9._~-]/) o = o c; else if (c == "/") o = o "%2F"; else if (c == "=") o = o "%3D"; else o = o "%" sprintf("%02X", ord[c]) } return o }
  BEGIN { for (i = 32; i < 127; i++) ord[sprintf("%c", i)] = i }
  { s = s (NR > 1 ? "%2C" : "") enc($1) "%3D" enc($2) } END { print s }' "$WORK/selector.tsv")
SNAP_KV=$(rh_kv snapshot "$SNAPSHOT_NAME")
rh_status_patch "$SNAP_KV" || fail 9 ApiError "cannot record the snapshot in the status ConfigMap: $KUBE_ERR; nothing was changed"

# --------------------------------------------------------------------------------------------------------------
# DrainingControlPlane
ORIG_DEPS="" # name=replicas ...
describe_deps() {
  _s=""
  for _p in $ORIG_DEPS; do _s="$_s${_s:+, }${_p%%=*} (was ${_p#*=})"; done
  printf '%s' "${_s:-none}"
}
restore_deps() {
  _bad=""
  for _p in $ORIG_DEPS; do
    scale "deployment $NS/${_p%%=*}" "$(dep_path "${_p%%=*}")" "${_p#*=}" || { _bad="$_bad $KUBE_ERR;"; rl_log "ERROR: $KUBE_ERR"; }
  done
  [ -z "$_bad" ]
}
set_phase DrainingControlPlane "scaling the control-plane Deployments to 0: ${CONTROL_PLANE_DEPLOYMENTS:-none}"
for d in $CONTROL_PLANE_DEPLOYMENTS; do
  rec=$(rh_status_field "original-deployment-$d")
  if [ -z "$rec" ]; then
    rec=$(scale_of "deployment $NS/$d" "$(dep_path "$d")") || {
      err=$KUBE_ERR
      restore_deps
      fail 9 ApiError "$err; Deployments scaled back: $(describe_deps); etcd untouched"
    }
    rh_status_patch "$(rh_kv "original-deployment-$d" "$rec")" || fail 9 ApiError "cannot record the replicas of deployment $d: $KUBE_ERR"
  fi
  ORIG_DEPS="$ORIG_DEPS $d=$rec"
  scale "deployment $NS/$d" "$(dep_path "$d")" 0 || {
    err=$KUBE_ERR
    restore_deps
    fail 9 ApiError "$err; Deployments scaled back: $(describe_deps); etcd untouched"
  }
  rl_log "deployment $d scaled to 0 (was $rec)"
done

# --------------------------------------------------------------------------------------------------------------
# StoppingEtcd
if [ -z "$REC_STS" ]; then
  REC_STS=$(scale_of "$STS_WHAT" "$STS_PATH/scale") || fail 9 ApiError "$KUBE_ERR; control-plane Deployments at 0: $(describe_deps)"
  rh_status_patch "$(rh_kv original-statefulset-replicas "$REC_STS")" || fail 9 ApiError "cannot record the StatefulSet replicas: $KUBE_ERR"
fi
set_phase StoppingEtcd "scaling StatefulSet $STATEFULSET to 0 (was $REC_STS) and waiting until its pods are gone"
scale "$STS_WHAT" "$STS_PATH/scale" 0 || fail 9 ApiError "$KUBE_ERR; control-plane Deployments at 0: $(describe_deps)"
start=$(date +%s)
while :; do
  if kube_get "pods of $STS_WHAT" "/api/v1/namespaces/$NS/pods?labelSelector=$SELECTOR" "$WORK/pods.json"; then
    left=$(kj "$WORK/pods.json" len items 2>/dev/null || echo "?")
    [ "$left" = 0 ] && break
  else
    left="?"
    rl_log "WARNING: $KUBE_ERR"
  fi
  if [ $(($(date +%s) - start)) -ge "$STOP_TIMEOUT_SECONDS" ]; then
    back="StatefulSet scaled back to $REC_STS"
    scale "$STS_WHAT" "$STS_PATH/scale" "$REC_STS" || back="StatefulSet NOT scaled back ($KUBE_ERR): scale it to $REC_STS"
    restore_deps || back="$back; some Deployments NOT scaled back, see the log"
    fail 10 EtcdStopTimeout "$left etcd pod(s) of $STATEFULSET still present after ${STOP_TIMEOUT_SECONDS}s (stuck terminating? check the pods and their node); no data was touched. $back; Deployments scaled back: $(describe_deps). Start a new restore once the pods stop cleanly."
  fi
  sleep "$POLL_SECONDS"
done
rl_log "no pod of $STATEFULSET left"

# --------------------------------------------------------------------------------------------------------------
# RestoringSnapshot
set_phase RestoringSnapshot "waiting for the $REPLICAS replica Job(s) to restore $SNAPSHOT_NAME"
left_at_0="etcd StatefulSet $STATEFULSET left at 0 replicas (was $REC_STS) and control-plane Deployments left at 0 ($(describe_deps)) so that etcd never starts on half-restored data"
start=$(date +%s)
while :; do
  rh_status_get || { rl_log "WARNING: $KUBE_ERR"; sleep "$POLL_SECONDS"; continue; }
  restored="" pending="" failed_msg=""
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    v=$(rh_status_field "replica-$i")
    case $v in
      restored) restored="$restored $i" ;;
      failed*) failed_msg="$failed_msg replica-$i: $v;" ;;
      *) pending="$pending $i" ;;
    esac
    i=$((i + 1))
  done
  if [ -n "$failed_msg" ]; then
    fail 10 RestoreJobFailed "$failed_msg restored:${restored:- none}; not finished:${pending:- none}. $left_at_0. Replicas that restored keep their previous data as member.before-restore-$RESTORE_ID in the data dir. Fix the cause (replica Job logs) and start a new restore, or roll back by hand: move member.before-restore-$RESTORE_ID back to member in every volume, then scale the StatefulSet and the Deployments back."
  fi
  [ -z "$pending" ] && break
  if [ $(($(date +%s) - start)) -ge "$RESTORE_TIMEOUT_SECONDS" ]; then
    fail 10 RestoreJobFailed "replica Job(s) of ordinal(s)$pending did not report within ${RESTORE_TIMEOUT_SECONDS}s (pod pending? volume still attached elsewhere?); restored:${restored:- none}. $left_at_0. Check the replica Jobs, then start a new restore or roll back by hand (member.before-restore-$RESTORE_ID in each data dir)."
  fi
  sleep "$POLL_SECONDS"
done
rl_log "all $REPLICAS replica(s) restored"

# --------------------------------------------------------------------------------------------------------------
# StartingEtcd
set_phase StartingEtcd "scaling StatefulSet $STATEFULSET back to $REC_STS and waiting for $REPLICAS ready replicas"
scale "$STS_WHAT" "$STS_PATH/scale" "$REC_STS" || fail 9 ApiError "$KUBE_ERR; every replica is restored: scale StatefulSet $STATEFULSET to $REC_STS and the Deployments back by hand ($(describe_deps))"
start=$(date +%s)
ready=0
while :; do
  if kube_get "$STS_WHAT" "$STS_PATH" "$WORK/sts.json"; then
    ready=$(kj "$WORK/sts.json" get status.readyReplicas 2>/dev/null || echo 0)
    [ "$ready" = "$REPLICAS" ] && break
  else
    rl_log "WARNING: $KUBE_ERR"
  fi
  if [ $(($(date +%s) - start)) -ge "$START_TIMEOUT_SECONDS" ]; then
    fail 10 EtcdStartFailed "StatefulSet $STATEFULSET scaled to $REC_STS but only $ready of $REPLICAS replicas ready after ${START_TIMEOUT_SECONDS}s; control-plane Deployments left at 0 ($(describe_deps)). Check the etcd pod logs (cluster ID / member name / peer URL mismatch, podManagementPolicy OrderedReady with more than one replica deadlocks: use Parallel). The previous data is in member.before-restore-$RESTORE_ID of each data dir."
  fi
  sleep "$POLL_SECONDS"
done
rl_log "StatefulSet $STATEFULSET: $ready/$REPLICAS ready"

# --------------------------------------------------------------------------------------------------------------
# StartingControlPlane
set_phase StartingControlPlane "scaling the control-plane Deployments back: $(describe_deps)"
restore_deps || fail 9 ApiError "etcd is restored and running, but scaling the Deployments back failed: $KUBE_ERR; scale them by hand: $(describe_deps)"

PHASE=Succeeded
STATUS_FINAL=1
set_phase Succeeded "restored $SNAPSHOT_NAME into $REPLICAS etcd replica(s) of $STATEFULSET; control plane scaled back ($(describe_deps)). Restart kubelets and clients that cache etcd revisions if the revision was not bumped."
RL_FIELDS="\"role\":\"coordinator\",$(result_fields),\"replicas\":$REPLICAS"
rl_result_ok "" "restore $RESTORE_ID of $SNAPSHOT_NAME succeeded"
cleanup
exit 0
