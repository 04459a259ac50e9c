#!/usr/bin/env bash
# CPU share (issue 9, item 4): can plugins that are slow but legal starve the
# request path? One server, two definitions: SlowCache (every call busy-waits
# 80 ms, 80% of the default deadline, so nothing ever faults) and
# UserPermissions (pure keys: a hit is served from the key memo and the
# table, no plugin call). We measure the p99 of
#   CACHE.GET UserPermissions <id>   (memo hit, no plugin)
#   GET perm:<id>                    (plain)
# on a quiet server, then while NOISY_CLIENTS connections hammer
# `CACHE.KEY SlowCache x` (every one a plugin call). Target: noisy p99 within
# 3x of quiet p99 for both. Also counts the BUSY replies the hammering got.
#
#   bench/cpu-share.sh                 # N=20000 CLIENTS=10 NOISY_CLIENTS=8
set -euo pipefail
source "$(dirname "$0")/lib.sh"

N="${N:-20000}"
CLIENTS="${CLIENTS:-10}"
NOISY_CLIENTS="${NOISY_CLIENTS:-8}"
COUNT=1000
ARTIFACTS="$REPO_DIR/plugins/target/wasm32-wasip2/release"

bench_init
mkdir -p "$BENCH_TMP/plugins"
cp "$ARTIFACTS/user_permissions.wasm" "$ARTIFACTS/fixture_slow_but_legal.wasm" "$BENCH_TMP/plugins/"
start_hoard --plugins "$BENCH_TMP/plugins" --artifact-cache "$BENCH_TMP/artifacts"

log "prefill: $COUNT ids in UserPermissions and as plain keys"
for i in $(seq 0 $((COUNT - 1))); do
    id="$(printf '%012d' "$i")"
    printf 'CACHE.SET UserPermissions "{\\"userId\\":\\"%s\\",\\"roles\\":[\\"r\\"]}" %s\nSET perm:%s x\n' "$id" "$id" "$id"
done | rcli "$HOARD_PORT" >/dev/null

p99() { # p99 ms of one redis-benchmark run
    timeout "$BENCH_CALL_TIMEOUT" redis-benchmark -h "$HOST" -p "$HOARD_PORT" --csv -c "$CLIENTS" -n "$N" -r "$COUNT" "$@" 2>/dev/null |
        grep '^"' | grep -v '^"test"' | awk -F'","' '{ gsub(/"$/, "", $NF); print $(NF-1) }' | tail -1
}

p99 CACHE.GET UserPermissions __rand_int__ >/dev/null # warm-up
quiet_cache="$(p99 CACHE.GET UserPermissions __rand_int__)"
quiet_plain="$(p99 GET perm:__rand_int__)"

noisy_pids=()
for n in $(seq 1 "$NOISY_CLIENTS"); do
    timeout 300 redis-cli -h "$HOST" -p "$HOARD_PORT" -r 1000000 -i 0 CACHE.KEY SlowCache x \
        >"$BENCH_TMP/noisy.$n" 2>&1 &
    noisy_pids+=($!)
done
sleep 1 # let the slow calls start
calls0="$(rcli "$HOARD_PORT" CACHE.INFO SlowCache | awk 'prev == "plugin-calls" { print; exit } { prev = $0 }')"
noisy_cache="$(p99 CACHE.GET UserPermissions __rand_int__)"
noisy_plain="$(p99 GET perm:__rand_int__)"
calls1="$(rcli "$HOARD_PORT" CACHE.INFO SlowCache | awk 'prev == "plugin-calls" { print; exit } { prev = $0 }')"
kill "${noisy_pids[@]}" 2>/dev/null || true
wait "${noisy_pids[@]}" 2>/dev/null || true
assert_alive hoard "$HOARD_PID"
busy="$(cat "$BENCH_TMP"/noisy.* | grep -c BUSY || true)"

echo "# hoard cpu share: $(nproc) cores, -c $CLIENTS -n $N, $NOISY_CLIENTS connections hammering SlowCache (80 ms per call)"
printf '%-34s %14s %14s %8s\n' request "quiet p99 ms" "noisy p99 ms" ratio
printf '%-34s %14s %14s %8.2f\n' "CACHE.GET UserPermissions (memo)" "$quiet_cache" "$noisy_cache" \
    "$(awk -v a="$noisy_cache" -v b="$quiet_cache" 'BEGIN{print a/b}')"
printf '%-34s %14s %14s %8.2f\n' "GET (plain)" "$quiet_plain" "$noisy_plain" \
    "$(awk -v a="$noisy_plain" -v b="$quiet_plain" 'BEGIN{print a/b}')"
echo "# SlowCache calls during the noisy runs: $((calls1 - calls0)); BUSY replies to the hammering: $busy"
