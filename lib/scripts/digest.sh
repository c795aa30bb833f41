# shellcheck shell=sh
# sha256 for the backup and restore scripts (sourced). openssl's is about four times faster than coreutils'
# sha256sum where the CPU has SHA instructions (200 MB: 0.23 s against 0.89 s here); sha256sum is the fallback.
# A failed hash yields no 64-character digest, which every caller compares against an expected one.

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
