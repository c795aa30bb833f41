# shellcheck shell=sh
# controlplane-backup: minimal Kubernetes API client for the restore scripts (POSIX sh: dash, busybox sh). Sourced:
#   . "${0%/*}/kube-api.sh"
# Sourcing only defines functions and reads defaults; nothing runs.
#
# Environment
#   KUBE_API          API server URL, default https://kubernetes.default.svc
#   KUBE_TOKEN_FILE   bearer token, default /var/run/secrets/kubernetes.io/serviceaccount/token (read on every
#                     request: projected tokens rotate)
#   KUBE_CA_FILE      CA bundle of the API server, default /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
#   KUBE_MAX_TIME     seconds, bound of one request (curl --max-time), default 20
#   KUBE_RETRIES      extra attempts after a connection failure, HTTP 429 or 5xx (never after other 4xx), default 3
#   KUBE_TMP          directory for response bodies (the caller sets it to its work dir)
# Requests
#   kube_get WHAT PATH OUT            GET, body into OUT; 0 on 2xx
#   kube_merge_patch WHAT PATH JSON OUT   PATCH application/merge-patch+json; 0 on 2xx
#   WHAT names the object in error messages ("statefulset tenant-a/etcd"). On failure: KUBE_ERR (a sentence naming
#   the object, the HTTP status and the API server's message), KUBE_HTTP_CODE (000 when no response).
#   The token is passed to curl on stdin (-K -), never on the command line. User-Agent is not "curl/...":
#   kube-apiserver pretty-prints responses to curl user agents; the JSON reader below accepts both anyway.
# JSON (no jq): kj FILE MODE PATH
#   MODE get      the scalar at PATH (strings unescaped), exit 1 when absent, null or not a scalar
#   MODE len      number of members of the array/object at PATH, exit 1 when absent
#   MODE entries  "key<TAB>value" for every scalar member of the object at PATH
#   PATH: dot-separated object keys and array indexes ("spec.selector.matchLabels", "items.0.metadata.name");
#   "." is the document itself. Keys containing "." cannot be addressed (none are needed).
#   json_str S    JSON string literal of S (common.sh, sourced by restore-lib.sh before this file)

: "${KUBE_API:=https://kubernetes.default.svc}"
: "${KUBE_TOKEN_FILE:=/var/run/secrets/kubernetes.io/serviceaccount/token}"
: "${KUBE_CA_FILE:=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt}"
: "${KUBE_MAX_TIME:=20}"
: "${KUBE_RETRIES:=3}"
: "${KUBE_TMP:=${TMPDIR:-/tmp}}"
KUBE_API=${KUBE_API%/}
KUBE_ERR=""
KUBE_HTTP_CODE=000
KUBE_USER_AGENT="controlplane-backup-restore/1"
# Commands the functions below run.
# shellcheck disable=SC2034 # read by the restore scripts and tests
KUBE_TOOLS="awk cat curl sleep tr"


# kube_check_config: 0 when the API settings are usable, else KUBE_ERR says why
kube_check_config() {
  case $KUBE_API in
    https://?*) ;;
    *) KUBE_ERR="KUBE_API must be an https:// URL (got '$KUBE_API')"; return 1 ;;
  esac
  [ -r "$KUBE_TOKEN_FILE" ] || { KUBE_ERR="service-account token not readable: $KUBE_TOKEN_FILE (automountServiceAccountToken, or KUBE_TOKEN_FILE)"; return 1; }
  [ -r "$KUBE_CA_FILE" ] || { KUBE_ERR="API server CA bundle not readable: $KUBE_CA_FILE (KUBE_CA_FILE)"; return 1; }
  case $KUBE_MAX_TIME in '' | *[!0-9]*) KUBE_ERR="KUBE_MAX_TIME must be a positive integer (got '$KUBE_MAX_TIME')"; return 1 ;; esac
  case $KUBE_RETRIES in '' | *[!0-9]*) KUBE_ERR="KUBE_RETRIES must be a non-negative integer (got '$KUBE_RETRIES')"; return 1 ;; esac
  return 0
}

# kube_request METHOD WHAT PATH OUT [BODYFILE]
kube_request() {
  _k_m=$1 _k_what=$2 _k_path=$3 _k_out=$4 _k_body=${5:-}
  _k_err="$KUBE_TMP/.kube-curl.err.$$"
  _k_try=0
  while :; do
    KUBE_ERR=""
    _k_tok=$(tr -d '\r\n' <"$KUBE_TOKEN_FILE" 2>/dev/null) || _k_tok=""
    case $_k_tok in
      '') KUBE_ERR="$_k_m $_k_what: service-account token $KUBE_TOKEN_FILE is empty or unreadable"; KUBE_HTTP_CODE=000; return 1 ;;
      *[\"\\[:space:]]*) KUBE_ERR="$_k_m $_k_what: service-account token $KUBE_TOKEN_FILE holds invalid characters"; KUBE_HTTP_CODE=000; return 1 ;;
    esac
    : >"$_k_out"
    if [ -n "$_k_body" ]; then
      KUBE_HTTP_CODE=$(printf 'header = "Authorization: Bearer %s"\n' "$_k_tok" |
        curl -sS -K - --cacert "$KUBE_CA_FILE" --connect-timeout 5 --max-time "$KUBE_MAX_TIME" -A "$KUBE_USER_AGENT" \
          -X "$_k_m" -H 'Accept: application/json' -H 'Content-Type: application/merge-patch+json' \
          --data-binary "@$_k_body" -o "$_k_out" -w '%{http_code}' "$KUBE_API$_k_path" 2>"$_k_err")
    else
      KUBE_HTTP_CODE=$(printf 'header = "Authorization: Bearer %s"\n' "$_k_tok" |
        curl -sS -K - --cacert "$KUBE_CA_FILE" --connect-timeout 5 --max-time "$KUBE_MAX_TIME" -A "$KUBE_USER_AGENT" \
          -X "$_k_m" -H 'Accept: application/json' -o "$_k_out" -w '%{http_code}' "$KUBE_API$_k_path" 2>"$_k_err")
    fi
    _k_rc=$?
    case $KUBE_HTTP_CODE in '' | *[!0-9]*) KUBE_HTTP_CODE=000 ;; esac
    if [ "$_k_rc" -eq 0 ] && [ "$KUBE_HTTP_CODE" -ge 200 ] && [ "$KUBE_HTTP_CODE" -lt 300 ]; then
      rm -f "$_k_err"
      return 0
    fi
    if [ "$KUBE_HTTP_CODE" = 000 ]; then
      _k_s=$(awk 'NF { l = $0 } END { gsub(/[[:cntrl:]]/, " ", l); print substr(l, 1, 300) }' "$_k_err" 2>/dev/null)
      KUBE_ERR="$_k_m $_k_what: no response from $KUBE_API (curl exit $_k_rc: $_k_s)"
      case $_k_rc in
        35 | 51 | 53 | 58 | 59 | 60 | 77 | 80 | 82 | 83 | 90 | 91) # TLS: retrying does not help
          KUBE_ERR="$KUBE_ERR (TLS: check KUBE_CA_FILE $KUBE_CA_FILE)"
          rm -f "$_k_err"
          return 1 ;;
      esac
    else
      _k_msg=$(kj "$_k_out" get message 2>/dev/null) || _k_msg=$(awk '{ s = s " " $0 } END { gsub(/[[:cntrl:]]/, " ", s); print substr(s, 2, 300) }' "$_k_out" 2>/dev/null)
      KUBE_ERR="$_k_m $_k_what: HTTP $KUBE_HTTP_CODE${_k_msg:+: $_k_msg}"
      case $KUBE_HTTP_CODE in
        401) KUBE_ERR="$KUBE_ERR (the service-account token was rejected)" ;;
        403) KUBE_ERR="$KUBE_ERR (the restore Role does not allow this)" ;;
      esac
      case $KUBE_HTTP_CODE in 429 | 5??) ;; *) rm -f "$_k_err"; return 1 ;; esac
    fi
    _k_try=$((_k_try + 1))
    if [ "$_k_try" -gt "$KUBE_RETRIES" ]; then
      rm -f "$_k_err"
      return 1
    fi
    sleep "$_k_try"
  done
}

kube_get() { kube_request GET "$1" "$2" "$3"; }

# kube_merge_patch WHAT PATH JSON OUT
kube_merge_patch() {
  _k_pb="$KUBE_TMP/.kube-patch.json.$$"
  printf '%s\n' "$3" >"$_k_pb" || { KUBE_ERR="PATCH $1: cannot write the request body"; return 1; }
  kube_request PATCH "$1" "$2" "$4" "$_k_pb"
  _k_prc=$?
  rm -f "$_k_pb"
  return "$_k_prc"
}

# kj FILE MODE PATH: see the header. Linear: each line is split on '"' (JSON strings hold no raw newlines).
kj() {
  awk -v mode="$2" -v want="$3" '
    function tok(t, v) { nt++; tt[nt] = t; tv[nt] = v }
    function bare(seg,   i, c, run) {
      gsub(/[ \t\r]+/, "", seg); run = ""
      for (i = 1; i <= length(seg); i++) {
        c = substr(seg, i, 1)
        if (index("{}[]:,", c)) { if (run != "") { tok("v", run); run = "" } tok("p", c) } else run = run c
      }
      if (run != "") tok("v", run)
    }
    function unesc(s,   out, i, c, h) {
      if (index(s, "\\") == 0) return s
      out = ""
      for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c != "\\") { out = out c; continue }
        c = substr(s, ++i, 1)
        if (c == "n") out = out "\n"; else if (c == "t") out = out "\t"; else if (c == "r") out = out "\r"
        else if (c == "b" || c == "f") out = out " "
        else if (c == "u") { h = tolower(substr(s, i + 1, 4)); i += 4
          if (h == "003c") out = out "<"; else if (h == "003e") out = out ">"; else if (h == "0026") out = out "&"
          else if (h == "0027") out = out "\047"; else out = out "?" }
        else out = out c
      }
      return out
    }
    {
      n = split($0, part, "\"")
      instr = 0; acc = ""
      for (i = 1; i <= n; i++) {
        if (!instr) { bare(part[i]); instr = 1; acc = ""; continue }
        acc = acc part[i]
        # an odd number of trailing backslashes: the quote was escaped, the string goes on
        m = match(part[i], /\\+$/) ? RLENGTH : 0
        if (m % 2 == 1 && i < n) { acc = acc "\""; continue }
        tok("s", acc); instr = 0
      }
    }
    function pathof(   d, p) { p = ""; for (d = 1; d <= depth; d++) p = p (d > 1 ? "\034" : "") seg[d]; return p }
    function begin_value(   p) {
      p = pathof()
      if (depth > 0 && parentpath[depth] == target) count++
      return p
    }
    END {
      target = (want == "." ? "" : want); gsub(/\./, "\034", target)
      depth = 0; state = "v"; found = 0; count = 0
      for (k = 1; k <= nt; k++) {
        t = tt[k]; v = tv[k]
        if (state == "k") {
          if (t == "p" && v == "}") { depth--; state = "a"; continue }
          if (t != "s") { bad = 1; break }
          seg[depth] = v; state = "c"; continue
        }
        if (state == "c") { if (t != "p" || v != ":") { bad = 1; break } state = "v"; continue }
        if (state == "a") {
          if (t == "p" && v == ",") { if (kind[depth] == "o") state = "k"; else { seg[depth]++; state = "v" } continue }
          if (t == "p" && (v == "}" || v == "]")) { depth--; continue }
          bad = 1; break
        }
        # state v: a value starts
        if (t == "p" && v == "]" && kind[depth] == "a") { depth--; state = "a"; continue }
        p = begin_value()
        if (t == "p" && (v == "{" || v == "[")) {
          if (p == target) { found = 1; isobj = 1 }
          depth++; kind[depth] = (v == "{" ? "o" : "a"); parentpath[depth] = p; seg[depth] = 0
          state = (v == "{" ? "k" : "v"); continue
        }
        if (t == "p") { bad = 1; break }
        if (p == target) { found = 1; if (t == "s") value = unesc(v); else if (v != "null") value = v; else found = 0 }
        if (mode == "entries" && depth > 0 && kind[depth] == "o" && parentpath[depth] == target && v != "null")
          printf "%s\t%s\n", seg[depth], (t == "s" ? unesc(v) : v)
        state = "a"
      }
      if (bad) { print "kj: malformed JSON" > "/dev/stderr"; exit 2 }
      if (mode == "get") { if (!found || isobj) exit 1; print value; exit 0 }
      if (mode == "len") { if (!found || !isobj) exit 1; print count; exit 0 }
      if (mode == "entries") exit (found && isobj) ? 0 : 1
      exit 2
    }
  ' "$1"
}
