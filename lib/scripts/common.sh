# shellcheck shell=sh
# Helpers every script of the pods uses (sourced): sha256, JSON strings for the result lines, milliseconds.

# sha256: openssl's is about four times faster than coreutils' sha256sum where the CPU has SHA instructions
# (200 MB: 0.23 s against 0.89 s here); sha256sum is the fallback. A failed hash yields no 64-character digest,
# which every caller compares against an expected one.

# sha256 of standard input: 64 lower-case hex characters
sha256_stdin() {
  if command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r | cut -c1-64
  else
    sha256sum | cut -c1-64
  fi
}

# sha256 of the file $1
sha256_file() { sha256_stdin <"$1"; }

# JSON string literal of $1. Backslashes by split/join: gsub's replacement escaping differs between mawk, gawk and
# busybox awk; control characters become spaces.
json_str() {
  printf '%s' "$1" | awk 'BEGIN { ORS = "" } { n = split($0, a, "\\"); s = a[1]; for (i = 2; i <= n; i++) s = s "\\\\" a[i]
    gsub(/"/, "\\\"", s); gsub(/\t/, "\\t", s); gsub(/\r/, "", s); gsub(/[[:cntrl:]]/, " ", s)
    if (NR > 1) printf "\\n"; printf "%s", s }' | { printf '"'; cat; printf '"'; }
}

# milliseconds since the epoch (seconds * 1000 where date has no %N, as in busybox)
now_ms() {
  _now=$(date +%s%N 2>/dev/null)
  case $_now in
    *N | "" | *[!0-9]*) echo $(($(date +%s) * 1000)) ;;
    *) echo $((_now / 1000000)) ;;
  esac
}

is_uint() { case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac; }

file_size() { wc -c <"$1" | tr -d ' \t\n'; }

# summarize a stderr file: last 3 non-empty lines, joined, at most 400 characters
summarize() {
  awk 'NF { l[++n] = $0 } END { s = ""; for (i = (n > 3 ? n - 2 : 1); i <= n; i++) s = s (s == "" ? "" : " | ") l[i];
    gsub(/[[:cntrl:]]/, " ", s); if (length(s) > 400) s = substr(s, 1, 400) "..."; print s }' "$1" 2>/dev/null
}

# a hint for well-known S3 failures in an rclone error summary
hint() {
  case $1 in
    *InvalidAccessKeyId* | *SignatureDoesNotMatch* | *403* | *Forbidden* | *AccessDenied*)
      printf '%s' " (access denied: check the access key id, secret and bucket policy)" ;;
    *NoSuchBucket* | *"directory not found"*) printf '%s' " (bucket or directory does not exist)" ;;
    *"connection refused"* | *"no such host"* | *timeout*) printf '%s' " (endpoint unreachable)" ;;
    *x509* | *certificate*) printf '%s' " (TLS: check the storage's CA bundle)" ;;
  esac
}
