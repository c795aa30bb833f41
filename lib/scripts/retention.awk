# controlplane-backup retention decision (POSIX awk: mawk, gawk, busybox awk).
#
# Input : object names of ONE destination directory, one per line (a flat listing, e.g. `rclone lsf`).
# Output: the names to delete, one per line (feed to `rclone delete --files-from-raw`).
# Vars  : cluster      cluster name; only names matching ^<cluster>-[0-9]{8}T[0-9]{6}Z\. are considered
#         current      base of the set written by this run (<cluster>-<ts>); never deleted; also "now"
#         keep_last    keep the N newest complete sets (0 = rule not set)
#         max_age_hours hard ceiling: complete sets older than this go, whatever a tier says (0 = not set)
#         hourly daily weekly monthly
#                      GFS tiers: keep the newest complete set of each of the N most recent
#                      hour/day/ISO-week/month buckets (UTC, from the key's timestamp) that hold a
#                      complete set (restic-style: buckets without a backup do not count)
#
# A set is complete when its checksum sidecar <base>.sha256 exists. Rules:
#   - nothing set at all (all six numbers 0): nothing is deleted;
#   - the current set and the newest complete set are always kept;
#   - incomplete sets are deleted only when older than the newest complete set (a newer one may be a run
#     in progress);
#   - no keep rule (keep_last/hourly/daily/weekly/monthly all 0) but max_age set: keep all within max age.
function days_from_civil(y, m, d,    era, yoe, doy, doe) {
  y -= (m <= 2)
  era = int((y >= 0 ? y : y - 399) / 400)
  yoe = y - era * 400
  doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
  return era * 146097 + doe - 719468
}
# ts = yyyymmddThhmmssZ
function ts_days(ts) { return days_from_civil(substr(ts, 1, 4) + 0, substr(ts, 5, 2) + 0, substr(ts, 7, 2) + 0) }
function ts_epoch(ts) {
  return ts_days(ts) * 86400 + substr(ts, 10, 2) * 3600 + substr(ts, 12, 2) * 60 + substr(ts, 14, 2)
}
function bucket(tier, ts,    days) {
  if (tier == "hourly") return substr(ts, 1, 11)
  if (tier == "daily") return substr(ts, 1, 8)
  if (tier == "monthly") return substr(ts, 1, 6)
  # ISO weeks start on Monday; 1970-01-01 was a Thursday, so (days + 3) / 7 numbers Monday-based weeks.
  days = ts_days(ts)
  return int((days + 3) / 7)
}
function select_tier(tier, n,    i, b, last, count) {
  if (n <= 0) return
  count = 0
  last = ""
  for (i = 1; i <= nc && count < n; i++) {
    b = bucket(tier, cts[i])
    if (b != last) { keep[cts[i]] = 1; count++; last = b }
  }
}
BEGIN {
  prefix = cluster "-"
  plen = length(prefix)
  n = 0
}
{
  name = $0
  sub(/\r$/, "", name)
  if (substr(name, 1, plen) != prefix) next
  rest = substr(name, plen + 1)
  if (rest !~ /^[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z\./) next
  ts = substr(rest, 1, 16)
  objs[++n] = name
  objts[n] = ts
  seen[ts] = 1
  if (rest == ts ".sha256") complete[ts] = 1
}
END {
  cur = substr(current, plen + 1)
  keep_last += 0; max_age_hours += 0; hourly += 0; daily += 0; weekly += 0; monthly += 0
  if (keep_last + max_age_hours + hourly + daily + weekly + monthly == 0) exit 0
  # complete timestamps, newest first (insertion sort; lexical order == time order)
  nc = 0
  for (t in complete) {
    i = ++nc
    while (i > 1 && cts[i - 1] < t) { cts[i] = cts[i - 1]; i-- }
    cts[i] = t
  }
  newest = (nc > 0) ? cts[1] : ""
  now = ts_epoch(cur != "" ? cur : newest)
  anyrule = keep_last + hourly + daily + weekly + monthly
  for (i = 1; i <= nc && i <= keep_last; i++) keep[cts[i]] = 1
  select_tier("hourly", hourly)
  select_tier("daily", daily)
  select_tier("weekly", weekly)
  select_tier("monthly", monthly)
  for (t in seen) {
    del = 0
    if (t in complete) {
      if (anyrule > 0 && !(t in keep)) del = 1
      if (max_age_hours > 0 && now - ts_epoch(t) > max_age_hours * 3600) del = 1
    } else if (newest != "" && t < newest) {
      del = 1
    }
    if (t == cur || t == newest) del = 0
    if (del) drop[t] = 1
  }
  for (i = 1; i <= n; i++) if (objts[i] in drop) print objs[i]
}
