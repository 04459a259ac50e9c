#!/usr/bin/env bash
# Tiers: what `[l2]` (a shared redis-server as second level and bus) costs a
# node, how fast a write on one node reaches another, and what a Redis
# outage under load does.
#
#   bench/tiers.sh     # ROUNDS=3 N_HIT=200000 N_L2=100000 KEYS=10000 N_STALE=10000
#                      # BEFORE_S=5 OUTAGE_S=10 AFTER_S=10 MAX_STALE_MS=1000
#   SECTIONS="l1 l2" bench/tiers.sh                     # only some sections
#
# One redis-server on a free port; release hoards serving the bundled
# examples (UserCache: encrypted, so `[l2]` needs the shared
# `encryption_key` every node here is given).
#  l1: L1 hits. redis-benchmark -c 50 -n N_HIT `CACHE.GET UserCache 1` on
#      A (with `[l2]`, l1_ttl_ms = 1 h so every read is an L1 hit) vs on B
#      (the same config without `[l2]`). ROUNDS interleaved rounds, medians.
#      Target: A >= 0.95x B.
#  l2: L1 misses that hit L2. Node C has `l1_ttl_ms = 1` (the L1 cap: a
#      promoted copy is fresh for 1 ms) and UserCache without fail-safe
#      (so no stale copy is kept past that), and KEYS entries written
#      through it; redis-benchmark -c 50 -n N_L2 -r KEYS
#      `CACHE.GET UserCache __rand_int__` on C vs `GET
#      hoard:_:user-cache:1:User:__rand_int__` straight to the same
#      redis-server (the very key and bytes C reads). The share of C's reads
#      answered by L2 comes from its INFO counters. Target: C >= 0.5x GET.
#  staleness: nodes D and E on the same Redis; N_STALE times the bench
#      client writes a key on D and, from D's acknowledgement, reads it on E
#      in a tight loop until E answers the new value: p50, p99, max.
#      Target: p99 <= 5 ms.
#  outage: nodes F and G (and H, which only answers the final check from
#      Redis); max_stale_ms = MAX_STALE_MS, other [l2] settings at their
#      defaults. A writer and a reader per node (reads alternate warm keys
#      and keys the other node writes); after BEFORE_S redis-server is
#      SIGSTOPped (hung: connections open, no answers) for OUTAGE_S, then
#      SIGCONT, AFTER_S more of load; then, once both replay queues are
#      empty, every acknowledged write is checked on F, G and H. Targets:
#      0 error replies on warm keys, 0 acknowledged writes lost, 0 stale
#      reads after recovery beyond max_stale_ms.
# SECTIONS (default "l1 l2 staleness outage") picks which of them run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS="${ROUNDS:-3}"
N_HIT="${N_HIT:-200000}"
N_L2="${N_L2:-100000}"
KEYS="${KEYS:-10000}"
N_STALE="${N_STALE:-10000}"
BEFORE_S="${BEFORE_S:-5}"
OUTAGE_S="${OUTAGE_S:-10}"
AFTER_S="${AFTER_S:-10}"
MAX_STALE_MS="${MAX_STALE_MS:-1000}"
WARM="${WARM:-100}"
WRITE_KEYS="${WRITE_KEYS:-100}"
SECTIONS="${SECTIONS:-l1 l2 staleness outage}"
wants() { [[ " $SECTIONS " == *" $1 "* ]]; }

bench_init
start_redis
RPORT="$REDIS_PORT"; RPID="$REDIS_PID"
mkdir -p "$BENCH_TMP/replay"
KEY_LINE="encryption_key = \"$(printf '11%.0s' $(seq 1 32))\""
# node_config NAME [extra [l2] lines...] -> $BENCH_TMP/NAME.toml with [l2]
node_config() {
    local name="$1"; shift
    {
        echo "$KEY_LINE"
        echo "[l2]"
        echo "url = \"redis://$HOST:$RPORT/\""
        echo "replay_file = \"$BENCH_TMP/replay/$name.redb\""
        printf '%s\n' "$@"
    } >"$BENCH_TMP/$name.toml"
}
# start_node NAME -> PORT_<NAME>, PID_<NAME>
start_node() {
    start_hoard --config "$BENCH_TMP/$1.toml"
    printf -v "PORT_$1" '%s' "$HOARD_PORT"; printf -v "PID_$1" '%s' "$HOARD_PID"
}
# l2_field PORT FIELD -> a field of the node's INFO l2
l2_field() { rcli "$1" INFO l2 | tr -d '\r' | awk -F: -v f="$2" '$1==f {print $2}'; }
# wait_linked PORT: until the node's bus link is up (its own heartbeat came back)
wait_linked() {
    for _ in $(seq 1 200); do [[ "$(l2_field "$1" bus_link)" == up ]] && return; sleep 0.1; done
    die "node on $1: bus link not up after 20 s"
}
tiers_of() { rcli "$1" INFO | tr -d '\r' | sed -n 's/^UserCache_tiers://p'; }
field() { sed -E "s/.*(^|[ ,])$1=([0-9.]+).*/\2/" <<<"$2"; }

# The bench client, built once (TIERS_BIN=path reuses one already built).
if wants staleness || wants outage; then
    if [[ -z "${TIERS_BIN:-}" ]]; then
        log "building the bench client (cargo bench --no-run)"
        TIERS_BIN="$(cd "$REPO_DIR" && cargo bench -p hoard --bench tiers --no-run 2>&1 |
            sed -nE 's/.*Executable .*\((.*)\).*/\1/p' | tail -1)"
        [[ "$TIERS_BIN" == /* ]] || TIERS_BIN="$REPO_DIR/$TIERS_BIN"
    fi
    [[ -x "$TIERS_BIN" ]] || die "no bench client at $TIERS_BIN"
fi

echo "# bench/tiers.sh  $(date -u +%FT%TZ)  sections=\"$SECTIONS\" rounds=$ROUNDS n_hit=$N_HIT n_l2=$N_L2 keys=$KEYS n_stale=$N_STALE before_s=$BEFORE_S outage_s=$OUTAGE_S after_s=$AFTER_S max_stale_ms=$MAX_STALE_MS warm=$WARM write_keys=$WRITE_KEYS redis=$(redis-server --version | sed -E 's/.*v=([^ ]+).*/\1/') cores=$(nproc)"

VALUE='{"id":"1","email":"u1@example.com","name":"User 1"}'
if wants l1; then
    node_config A "l1_ttl_ms = 3600000"
    echo "$KEY_LINE" >"$BENCH_TMP/B.toml"
    start_node A; start_node B; wait_linked "$PORT_A"
    echo "## l1: L1-hit CACHE.GET UserCache 1, with [l2] (A) vs without (B), redis-benchmark -c 50 -n $N_HIT"
    [[ "$(rcli "$PORT_A" CACHE.SET UserCache "$VALUE" 1)" == OK ]] || die "CACHE.SET on A did not answer OK"
    rcli "$PORT_B" CACHE.SET UserCache "$VALUE" 1 >/dev/null
    rcli "$PORT_A" CACHE.GET UserCache 1 >/dev/null
    level="$(rcli "$PORT_A" CACHE.GETMETA UserCache 1 | tail -1)"
    [[ "$level" == l1 ]] || die "A answered from $level, not l1"
    : >"$BENCH_TMP/l1.tsv"
    for round in $(seq 1 "$ROUNDS"); do
        if (( round % 2 )); then
            a="$(rb "$PORT_A" l1A -c 50 -n "$N_HIT" CACHE.GET UserCache 1 | cut -f2)"
            b="$(rb "$PORT_B" l1B -c 50 -n "$N_HIT" CACHE.GET UserCache 1 | cut -f2)"
        else
            b="$(rb "$PORT_B" l1B -c 50 -n "$N_HIT" CACHE.GET UserCache 1 | cut -f2)"
            a="$(rb "$PORT_A" l1A -c 50 -n "$N_HIT" CACHE.GET UserCache 1 | cut -f2)"
        fi
        printf '%s\t%s\t%s\n' "$round" "$a" "$b" >>"$BENCH_TMP/l1.tsv"
        echo "round $round: with [l2] $a rps, without $b rps ($(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')x)"
    done
    assert_alive hoard "$PID_A"; assert_alive hoard "$PID_B"
    echo "A's UserCache reads by level: $(tiers_of "$PORT_A")"
    awk -v a="$(cut -f2 "$BENCH_TMP/l1.tsv" | median)" -v b="$(cut -f3 "$BENCH_TMP/l1.tsv" | median)" \
        -v r="$(awk '{ print $2 / $3 }' "$BENCH_TMP/l1.tsv" | median)" \
        'BEGIN { printf "l1 hit: with [l2] %.0f rps / without %.0f rps = %.2fx (medians; median of the rounds'"'"' ratios %.2fx; target >= 0.95x)\n", a, b, a / b, r }'
    stop_pid "$PID_A"; stop_pid "$PID_B"
fi

if wants l2; then
    node_config C "l1_ttl_ms = 1" "[l2.definitions.UserCache]" "fail_safe = false"
    start_node C; wait_linked "$PORT_C"
    echo "## l2: L1-miss/L2-hit CACHE.GET UserCache __rand_int__ on C (l1_ttl_ms = 1) vs GET of the same L2 key on redis-server, -c 50 -n $N_L2 -r $KEYS"
    out="$(python3 "$BENCH_DIR/gen_resp.py" user "$KEYS" | rcli "$PORT_C" --pipe 2>&1)"
    grep -q 'errors: 0,' <<<"$out" || die "prefill: $out"
    [[ "$(l2_field "$PORT_C" l2_replay_depth)" == 0 ]] || die "prefill: writes queued for replay (L2 away?)"
    stored="$(rcli "$RPORT" EVAL "return #redis.call('KEYS', 'hoard:_:user-cache:1:User:0000*')" 0)"
    [[ "$stored" == "$KEYS" ]] || die "expected $KEYS UserCache entries in Redis, found $stored"
    c_rb() { c="$(rb "$PORT_C" l2C -c 50 -n "$N_L2" -r "$KEYS" CACHE.GET UserCache __rand_int__ | cut -f2,3)"; }
    r_rb() { r="$(rb "$RPORT" l2R -c 50 -n "$N_L2" -r "$KEYS" GET 'hoard:_:user-cache:1:User:__rand_int__' | cut -f2,3)"; }
    : >"$BENCH_TMP/l2.tsv"
    for round in $(seq 1 "$ROUNDS"); do
        before="$(tiers_of "$PORT_C")"
        if (( round % 2 )); then c_rb; r_rb; else r_rb; c_rb; fi
        after="$(tiers_of "$PORT_C")"
        l1="$(( $(field l1_hits "$after") - $(field l1_hits "$before") ))"
        l2="$(( $(field l2_hits "$after") - $(field l2_hits "$before") ))"
        miss="$(( $(field misses "$after") - $(field misses "$before") ))"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "${c%%$'\t'*}" "${r%%$'\t'*}" "${c##*$'\t'}" "${r##*$'\t'}" "$l2" >>"$BENCH_TMP/l2.tsv"
        echo "round $round: C $(cut -f1 <<<"$c") rps (p50 $(cut -f2 <<<"$c") ms; reads by level: l1 $l1, l2 $l2, miss $miss), GET $(cut -f1 <<<"$r") rps (p50 $(cut -f2 <<<"$r") ms)"
    done
    assert_alive hoard "$PID_C"
    awk -v c="$(cut -f2 "$BENCH_TMP/l2.tsv" | median)" -v r="$(cut -f3 "$BENCH_TMP/l2.tsv" | median)" \
        -v x="$(awk '{ print $2 / $3 }' "$BENCH_TMP/l2.tsv" | median)" \
        -v pc="$(cut -f4 "$BENCH_TMP/l2.tsv" | median)" -v pr="$(cut -f5 "$BENCH_TMP/l2.tsv" | median)" \
        'BEGIN { printf "l2 hit: CACHE.GET via L2 %.0f rps / direct GET %.0f rps = %.2fx (medians; median of the rounds'"'"' ratios %.2fx; target >= 0.5x); p50 %.3f ms vs %.3f ms\n", c, r, c / r, x, pc, pr }'
    stop_pid "$PID_C"
fi

if wants staleness; then
    node_config D; node_config E
    start_node D; start_node E
    echo "## staleness: write on D, from D's ack until E answers the new value, $N_STALE writes"
    out="$("$TIERS_BIN" staleness "$PORT_D" "$PORT_E" "$N_STALE")"
    echo "$out"
    assert_alive hoard "$PID_D"; assert_alive hoard "$PID_E"
    awk -v p50="$(field p50_us "$out")" -v p99="$(field p99_us "$out")" \
        'BEGIN { printf "cross-node staleness: p50 %.2f ms, p99 %.2f ms (target p99 <= 5 ms: %s)\n", p50 / 1000, p99 / 1000, (p99 <= 5000 ? "met" : "NOT met") }'
    stop_pid "$PID_D"; stop_pid "$PID_E"
fi

if wants outage; then
    # Never leave a stopped redis-server behind, whatever happens.
    trap 'kill -CONT "$RPID" 2>/dev/null || true; bench_cleanup' EXIT
    for n in F G H; do node_config "$n" "max_stale_ms = $MAX_STALE_MS"; start_node "$n"; done
    echo "## outage: load on F and G, redis-server SIGSTOP for ${OUTAGE_S} s after ${BEFORE_S} s, ${AFTER_S} s of load after SIGCONT"
    out="$("$TIERS_BIN" outage "$PORT_F" "$PORT_G" "$PORT_H" "$RPID" "$BEFORE_S" "$OUTAGE_S" "$AFTER_S" "$MAX_STALE_MS" "$WARM" "$WRITE_KEYS")"
    echo "$out"
    for n in F G H; do v="PID_$n"; assert_alive hoard "${!v}"; done
    echo "F: $(rcli "$PORT_F" INFO l2 | tr -d '\r' | grep -E '^(l2_breaker_opens|l2_replayed|l2_replay_dropped|bus_flushes|bus_gaps):' | tr '\n' ' ')"
    echo "G: $(rcli "$PORT_G" INFO l2 | tr -d '\r' | grep -E '^(l2_breaker_opens|l2_replayed|l2_replay_dropped|bus_flushes|bus_gaps):' | tr '\n' ' ')"
    awk -v we="$(field warm_errors "$out")" -v la="$(field lost_on_a "$out")" -v lb="$(field lost_on_b "$out")" \
        -v lr="$(field lost_in_redis "$out")" -v sa="$(field stale_after "$out")" \
        -v sb="$(field stale_after_bound "$out")" -v ls="$(field last_stale_after_ms "$out")" \
        'BEGIN { printf "outage: warm-key error replies %d (target 0); acknowledged writes lost: %d on F, %d on G, %d in Redis (target 0); stale reads after SIGCONT beyond max_stale_ms of the write'"'"'s ack: %d (the last %d ms after SIGCONT), of which sent more than max_stale_ms after SIGCONT: %d (target 0)\n", we, la, lb, lr, sa, ls, sb }'
fi
