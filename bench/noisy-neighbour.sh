#!/usr/bin/env bash
# Noisy neighbour: the p99 latency of a quiet tenant's CACHE.SET (one plugin
# call each) alone, then while another tenant hammers a plugin that spins until
# its deadline (a CPU bomb). Run twice: with the circuit breaker (default) and
# with quarantine disabled (the worst case: every neighbour call burns a full
# deadline). Target (issue #3): noisy p99 within 2x of quiet p99.
#
#   bench/noisy-neighbour.sh        # N=20000 CLIENTS=10 NOISY_CLIENTS=4
set -euo pipefail
source "$(dirname "$0")/lib.sh"

N="${N:-20000}"
CLIENTS="${CLIENTS:-10}"
NOISY_CLIENTS="${NOISY_CLIENTS:-4}"
ARTIFACTS="$REPO_DIR/plugins/target/wasm32-wasip2/release"
PASSWORD="bench-secret"
HASH="$(printf %s "$PASSWORD" | sha256sum | cut -d' ' -f1)"

bench_init
mkdir -p "$BENCH_TMP/victim" "$BENCH_TMP/noisy"
cp "$ARTIFACTS/user_permissions.wasm" "$BENCH_TMP/victim/"
cp "$ARTIFACTS/fixture_spin.wasm" "$BENCH_TMP/noisy/"

write_config() { # write_config FILE QUARANTINE_AFTER
    cat >"$1" <<TOML
[plugin]
quarantine_after_faults = $2
[[tenants]]
name = "victim"
password_sha256 = "$HASH"
plugins = "$BENCH_TMP/victim"
[[tenants]]
name = "noisy"
password_sha256 = "$HASH"
plugins = "$BENCH_TMP/noisy"
TOML
}

# p99 (ms) of the victim's CACHE.SET run.
victim_p99() {
    timeout "$BENCH_CALL_TIMEOUT" redis-benchmark -h "$HOST" -p "$HOARD_PORT" --user victim -a "$PASSWORD" \
        --csv -c "$CLIENTS" -n "$N" -r 1000 \
        CACHE.SET UserPermissions '{"userId":"u","roles":["r"]}' __rand_int__ 2>/dev/null |
        grep '^"' | grep -v '^"test"' | awk -F'","' '{ gsub(/"$/, "", $NF); print $(NF-1) }' | tail -1
}

printf '%-12s %14s %14s %8s %16s\n' mode "quiet p99 ms" "noisy p99 ms" ratio "neighbour faults"
for mode in breaker no-breaker; do
    quarantine=5
    [[ "$mode" == no-breaker ]] && quarantine=0
    write_config "$BENCH_TMP/hoard.toml" "$quarantine"
    start_hoard --config "$BENCH_TMP/hoard.toml" --artifact-cache "$BENCH_TMP/artifacts"
    victim_p99 >/dev/null # warm-up
    quiet="$(victim_p99)"
    # redis-benchmark stops at the first error reply, so the neighbour is a
    # few redis-cli loops repeating the spinning command (each call burns
    # its full deadline unless the breaker has quarantined the plugin).
    noisy_pids=()
    for _ in $(seq 1 "$NOISY_CLIENTS"); do
        timeout 120 redis-cli -h "$HOST" -p "$HOARD_PORT" --user noisy --pass "$PASSWORD" \
            -r 1000000 -i 0 CACHE.KEY SpinCache spin >/dev/null 2>&1 &
        noisy_pids+=($!)
    done
    sleep 1 # let the neighbour's calls start spinning
    noisy="$(victim_p99)"
    faults="$(rcli "$HOARD_PORT" --user noisy --pass "$PASSWORD" CACHE.INFO SpinCache 2>/dev/null |
        awk 'prev == "plugin-faults" { print; exit } { prev = $0 }')"
    kill "${noisy_pids[@]}" 2>/dev/null || true
    wait "${noisy_pids[@]}" 2>/dev/null || true
    assert_alive hoard "$HOARD_PID"
    printf '%-12s %14s %14s %8.2f %16s\n' "$mode" "$quiet" "$noisy" \
        "$(awk -v a="$noisy" -v b="$quiet" 'BEGIN{print a/b}')" "$faults"
    stop_pid "$HOARD_PID"
done
