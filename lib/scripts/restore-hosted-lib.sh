# shellcheck shell=sh
# controlplane-backup: functions shared by restore-coordinator.sh and restore-replica.sh (hosted etcd, a StatefulSet
# in a management cluster namespace). Sourced after restore-lib.sh and kube-api.sh:
#   . "${0%/*}/restore-hosted-lib.sh"
# Needs NAMESPACE, STATUS_CONFIGMAP, WORK (a private work dir) set by the sourcing script.

# Commands the functions below run (besides RL_TOOLS and KUBE_TOOLS).
# shellcheck disable=SC2034 # read by the restore scripts and tests
RH_TOOLS="date"

rh_now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

rh_cm_path() { printf '/api/v1/namespaces/%s/configmaps/%s' "$NAMESPACE" "$STATUS_CONFIGMAP"; }

# rh_status_get: the status ConfigMap into $WORK/status.json; 1 with KUBE_ERR on failure
rh_status_get() {
  kube_get "configmap $NAMESPACE/$STATUS_CONFIGMAP" "$(rh_cm_path)" "$WORK/status.json"
}

# rh_status_field KEY: data.KEY of the last rh_status_get ("" when absent)
rh_status_field() { kj "$WORK/status.json" get "data.$1" 2>/dev/null || true; }

# rh_status_patch MEMBERS: merge-patch data of the status ConfigMap with MEMBERS ("\"k\":\"v\",..."), adding updatedAt
rh_status_patch() {
  kube_merge_patch "configmap $NAMESPACE/$STATUS_CONFIGMAP" "$(rh_cm_path)" \
    "{\"data\":{$1${1:+,}\"updatedAt\":\"$(rh_now)\"}}" "$WORK/patch-status.json"
}

# rh_kv KEY VALUE: one JSON member "KEY":"VALUE" (both escaped)
rh_kv() { printf '%s:%s' "$(json_str "$1")" "$(json_str "$2")"; }

# rh_uint_or VALUE DEFAULT NAME: VALUE when a non-negative integer, DEFAULT when empty; rl_die 3 otherwise
rh_uint_or() {
  case $1 in
    '') printf '%s' "$2" ;;
    *[!0-9]*) rl_die 3 "$3 must be a non-negative integer (got '$1')" ;;
    *) printf '%s' "$1" ;;
  esac
}

# rh_check_name VALUE NAME: a DNS-1123 subdomain-ish Kubernetes object name; rl_die 3 otherwise
rh_check_name() {
  case $1 in
    '') rl_die 3 "$2 is required" ;;
    -* | *- | *[!a-z0-9.-]*) rl_die 3 "$2 must be a Kubernetes object name (got '$1')" ;;
  esac
  [ "${#1}" -le 253 ] || rl_die 3 "$2 must be at most 253 characters"
}

# rh_run_captured FUNC ARGS...: run a restore-lib step in a subshell so that its rl_die does not end this script.
# Sets RH_RC (its exit code) and RH_MSG (the message of its failed result line). Its stdout must be empty on success.
rh_run_captured() {
  # no cleanup hook in the subshell: it would remove this script's WORK
  _rh_out=$(RL_CLEANUP=""; "$@")
  RH_RC=$?
  RH_MSG=""
  if [ "$RH_RC" -ne 0 ]; then
    printf '%s\n' "$_rh_out" | awk 'NF { l = $0 } END { print l }' >"$WORK/captured.json"
    RH_MSG=$(kj "$WORK/captured.json" get message 2>/dev/null) || RH_MSG="step failed with exit $RH_RC"
  fi
  return "$RH_RC"
}
