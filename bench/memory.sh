#!/usr/bin/env bash
# Memory per plain entry: hoard vs redis-server, 1 M keys "key:N" (5-10 bytes)
# with 64-byte values, written by `DEBUG POPULATE 1000000 key 64` on both.
#
#   bench/memory.sh                 # COUNT=1000000 SIZE=64
#
# redis: used_memory delta (INFO memory; the allocator-level figure the
#        152 B/entry anchor refers to) and RSS delta (/proc/PID/status VmRSS).
# hoard: VmRSS delta only (its INFO has no memory section).
# Servers run one at a time so they do not compete for memory or CPU.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COUNT="${COUNT:-1000000}"
SIZE="${SIZE:-64}"
SETTLE="${SETTLE:-2}"   # seconds to wait before each reading

bench_init

info_mem() { rcli "$1" INFO memory | tr -d '\r' | awk -F: -v f="$2" '$1==f {print $2}'; }
now_ms() { date +%s%3N; }

# ---- redis ----
start_redis
sleep "$SETTLE"
r_used0="$(info_mem "$REDIS_PORT" used_memory)"
r_rss0="$(vmrss_kb "$REDIS_PID")"
t0="$(now_ms)"
out="$(rcli "$REDIS_PORT" DEBUG POPULATE "$COUNT" key "$SIZE")"
r_ms=$(( $(now_ms) - t0 ))
[[ "$out" == OK ]] || die "redis DEBUG POPULATE: $out"
sleep "$SETTLE"
r_used1="$(info_mem "$REDIS_PORT" used_memory)"
r_rss1="$(vmrss_kb "$REDIS_PID")"
r_db="$(rcli "$REDIS_PORT" DBSIZE)"
r_probe="$(rcli "$REDIS_PORT" STRLEN key:123456)"
log "redis: DEBUG POPULATE took ${r_ms} ms, DBSIZE=$r_db, STRLEN key:123456=$r_probe, mem_allocator=$(info_mem "$REDIS_PORT" mem_allocator)"
stop_pid "$REDIS_PID"

# ---- hoard ----
start_hoard
rcli "$HOARD_PORT" PING >/dev/null
sleep "$SETTLE"
h_rss0="$(vmrss_kb "$HOARD_PID")"
t0="$(now_ms)"
out="$(rcli "$HOARD_PORT" DEBUG POPULATE "$COUNT" key "$SIZE")"
h_ms=$(( $(now_ms) - t0 ))
[[ "$out" == OK ]] || die "hoard DEBUG POPULATE: $out"
sleep "$SETTLE"
h_rss1="$(vmrss_kb "$HOARD_PID")"
h_db="$(rcli "$HOARD_PORT" DBSIZE)"
h_probe="$(( $(rcli "$HOARD_PORT" GET key:123456 | wc -c) - 1 ))"   # hoard has no STRLEN
h_get="$(rcli "$HOARD_PORT" GET key:123456 | head -c 12 | tr -d '\0')"
h_peak="$(awk '/^VmHWM:/{print $2}' "/proc/$HOARD_PID/status")"
log "hoard: DEBUG POPULATE took ${h_ms} ms, DBSIZE=$h_db, GET key:123456 starts '$h_get', value length $h_probe, VmHWM=${h_peak} kB"
stop_pid "$HOARD_PID"

for pair in "redis:$r_db" "hoard:$h_db"; do
    [[ "${pair#*:}" == "$COUNT" ]] || log "WARNING: ${pair%%:*} DBSIZE is ${pair#*:}, expected $COUNT"
done

awk -v n="$COUNT" -v size="$SIZE" \
    -v ru0="$r_used0" -v ru1="$r_used1" -v rr0="$r_rss0" -v rr1="$r_rss1" \
    -v hr0="$h_rss0" -v hr1="$h_rss1" -v rms="$r_ms" -v hms="$h_ms" 'BEGIN {
    ru = (ru1 - ru0) / n; rr = (rr1 - rr0) * 1024 / n; hr = (hr1 - hr0) * 1024 / n
    printf "\n# DEBUG POPULATE %d key %d (keys key:0..key:%d, %d-byte values)\n", n, size, n - 1, size
    printf "%-28s %12s %12s %10s %12s\n", "measure", "before", "after", "B/entry", "populate ms"
    printf "%-28s %12d %12d %10.1f %12d\n", "redis used_memory (B)", ru0, ru1, ru, rms
    printf "%-28s %12d %12d %10.1f\n", "redis VmRSS (kB)", rr0, rr1, rr
    printf "%-28s %12d %12d %10.1f %12d\n", "hoard VmRSS (kB)", hr0, hr1, hr, hms
    printf "\nhoard/redis: %.2f vs redis used_memory, %.2f vs redis RSS\n", hr / ru, hr / rr
}'
