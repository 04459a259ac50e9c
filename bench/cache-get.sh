#!/usr/bin/env bash
# Definition commands vs plain commands, both on the same hoard process.
#
#   bench/cache-get.sh                  # 3 rounds, N=200k (P1) / 1M (P16)
#   ROUNDS=1 N_P1=100000 N_P16=300000 bench/cache-get.sh
#
# Prefills COUNT (5000) ids 000000000000..000000004999 (the format of
# redis-benchmark's __rand_int__ with -r 5000) as
#   SET perm:<id> <json>   and  CACHE.SET UserPermissions <json> <id>
#   SET user:<id> <json>   and  CACHE.SET UserCache <json> <id>     (small, encrypted)
#   SET userbig:<id> <json> and CACHE.SET UserCache <json> <id>     (~2 KiB: compressed + encrypted)
# so each CACHE.GET returns the same JSON text as its plain GET baseline.
# Every pair (baseline, candidate) runs back to back, per pipeline depth, per round:
#   redis-benchmark -c 50 -n N -r 5000 [-P 16] GET perm:__rand_int__
#   redis-benchmark -c 50 -n N -r 5000 [-P 16] CACHE.GET UserPermissions __rand_int__
# The table shows medians over rounds and candidate/baseline. For CACHE.GET,
# CACHE.INFO counters (hits, misses, plugin-calls) are diffed around each run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS="${ROUNDS:-3}"
N_P1="${N_P1:-200000}"
N_P16="${N_P16:-1000000}"
# CACHE.SET calls the plugin on every request: fewer requests.
N_SET_P1="${N_SET_P1:-100000}"
N_SET_P16="${N_SET_P16:-300000}"
CLIENTS="${CLIENTS:-50}"
COUNT="${COUNT:-5000}"

bench_init
start_hoard

RAW="$BENCH_TMP/cache.tsv"  # group side P round rps p50 errlines hits misses plugin_calls
: >"$RAW"

prefill() {
    local mode="$1" out
    log "prefill ($mode, $COUNT ids) through redis-cli --pipe"
    out="$(python3 "$BENCH_DIR/gen_resp.py" "$mode" "$COUNT" | rcli "$HOARD_PORT" --pipe 2>&1)"
    echo "$out" | tail -1 >&2
    echo "$out" | grep -q 'errors: 0,' || die "prefill had errors: $out"
}

# info_field CACHE FIELD -> value from CACHE.INFO
info_field() {
    rcli "$HOARD_PORT" CACHE.INFO "$1" | awk -v f="$2" 'prev==f {print; exit} {prev=$0}'
}
cache_counters() { # -> "hits misses plugin-calls"
    echo "$(info_field "$1" hits) $(info_field "$1" misses) $(info_field "$1" plugin-calls)"
}

# one GROUP SIDE P N CACHE(or -) command...
one() {
    local group="$1" side="$2" p="$3" n="$4" cache="$5"; shift 5
    local before="- - -" after="- - -" line
    [[ "$cache" != - ]] && before="$(cache_counters "$cache")"
    line="$(rb "$HOARD_PORT" "$group/$side P$p" -c "$CLIENTS" -n "$n" -r "$COUNT" -P "$p" "$@" | tail -1)"
    assert_alive hoard "$HOARD_PID"
    [[ "$cache" != - ]] && after="$(cache_counters "$cache")"
    read -r h0 m0 c0 <<<"$before"; read -r h1 m1 c1 <<<"$after"
    local dh=- dm=- dc=-
    if [[ "$cache" != - ]]; then dh=$((h1 - h0)); dm=$((m1 - m0)); dc=$((c1 - c0)); fi
    # line: test rps p50 errlines
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$group" "$side" "$p" "$round" \
        "$(cut -f2 <<<"$line")" "$(cut -f3 <<<"$line")" "$(cut -f4 <<<"$line")" "$dh" "$dm" "$dc" >>"$RAW"
    if [[ "$cache" != - ]]; then
        log "  $group $side P$p: $(cut -f2 <<<"$line") rps (hits $dh misses $dm plugin-calls $dc)"
    else
        log "  $group $side P$p: $(cut -f2 <<<"$line") rps"
    fi
}

# run_rounds small|big|set: every baseline/candidate pair, ROUNDS times, P1 and P16
run_rounds() {
    local phase="$1"
    for round in $(seq 1 "$ROUNDS"); do
        for p in 1 16; do
            case "$phase" in
            small)
                n="$N_P1"; [[ "$p" == 16 ]] && n="$N_P16"
                log "round $round/$ROUNDS P$p (n=$n)"
                one UserPermissions.GET base "$p" "$n" - GET 'perm:__rand_int__'
                one UserPermissions.GET cand "$p" "$n" UserPermissions CACHE.GET UserPermissions __rand_int__
                one UserCache.GET base "$p" "$n" - GET 'user:__rand_int__'
                one UserCache.GET cand "$p" "$n" UserCache CACHE.GET UserCache __rand_int__
                ;;
            big)
                n="$N_P1"; [[ "$p" == 16 ]] && n="$N_P16"
                log "round $round/$ROUNDS P$p (n=$n)"
                one UserCache2K.GET base "$p" "$n" - GET 'userbig:__rand_int__'
                one UserCache2K.GET cand "$p" "$n" UserCache CACHE.GET UserCache __rand_int__
                ;;
            set)
                n="$N_SET_P1"; [[ "$p" == 16 ]] && n="$N_SET_P16"
                log "round $round/$ROUNDS P$p (n=$n)"
                one UserPermissions.SET base "$p" "$n" - SET 'perm:__rand_int__' \
                    '{"userId":"__rand_int__","roles":["reader","writer"]}'
                one UserPermissions.SET cand "$p" "$n" UserPermissions CACHE.SET UserPermissions \
                    '{"userId":"__rand_int__","roles":["reader","writer"]}' __rand_int__
                one UserCache.SET base "$p" "$n" - SET 'user:__rand_int__' \
                    '{"id":"__rand_int__","email":"u__rand_int__@example.com","name":"User __rand_int__"}'
                one UserCache.SET cand "$p" "$n" UserCache CACHE.SET UserCache \
                    '{"id":"__rand_int__","email":"u__rand_int__@example.com","name":"User __rand_int__"}' __rand_int__
                ;;
            esac
        done
    done
}

check_hit() { # check_hit CACHE ID PLAINKEY : CACHE.GET must equal plain GET
    local a b
    a="$(rcli "$HOARD_PORT" CACHE.GET "$1" "$2")"; b="$(rcli "$HOARD_PORT" GET "$3")"
    # hoard re-encodes the stored MessagePack as JSON (object keys may come
    # back in another order): compare parsed JSON, and the byte length.
    if [[ -z "$a" ]] || ! python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1]) != json.loads(sys.argv[2]))' "$a" "$b"; then
        log "WARNING: CACHE.GET $1 $2 = '${a:0:80}' but GET $3 = '${b:0:80}'"
    else
        log "check: CACHE.GET $1 $2 == GET $3 as JSON (${#a} vs ${#b} bytes)"
    fi
}

prefill small
check_hit UserPermissions 000000001234 perm:000000001234
check_hit UserCache 000000004999 user:000000004999
run_rounds small
prefill big
check_hit UserCache 000000001234 userbig:000000001234
run_rounds big
run_rounds set
log "hoard VmRSS after run: $(vmrss_kb "$HOARD_PID") kB"
for c in UserPermissions UserCache; do
    log "CACHE.INFO $c: items=$(info_field "$c" items) rejects=$(info_field "$c" rejects) evictions=$(info_field "$c" evictions) plugin-faults=$(info_field "$c" plugin-faults)"
done

echo
echo "# hoard: definition command (cand) vs plain command (base), -c $CLIENTS -r $COUNT, median of $ROUNDS round(s)"
echo "# GET: n=$N_P1 (P1) / $N_P16 (P16); SET: n=$N_SET_P1 (P1) / $N_SET_P16 (P16)"
printf '%-22s %-3s %12s %12s %7s  %-18s %s\n' "pair" P "plain rps" "CACHE.* rps" "ratio" "per-round ratios" "cand hits/misses/plugin-calls (last round)"
for group in UserPermissions.GET UserCache.GET UserCache2K.GET UserPermissions.SET UserCache.SET; do
    for p in 1 16; do
        b="$(awk -F'\t' -v g="$group" -v p="$p" '$1==g && $2=="base" && $3==p {print $5}' "$RAW" | median)"
        c="$(awk -F'\t' -v g="$group" -v p="$p" '$1==g && $2=="cand" && $3==p {print $5}' "$RAW" | median)"
        rounds="$(awk -F'\t' -v g="$group" -v p="$p" '$1==g && $3==p { v[$2,$4]=$5; if ($4>m) m=$4 }
            END { for (i=1;i<=m;i++) printf "%s%.2f", (i>1?" ":""), v["cand",i]/v["base",i] }' "$RAW")"
        stats="$(awk -F'\t' -v g="$group" -v p="$p" '$1==g && $2=="cand" && $3==p { s=$8"/"$9"/"$10 } END{print s}' "$RAW")"
        printf '%-22s %-3s %12.0f %12.0f %7.2f  %-18s %s\n' "$group" "$p" "$b" "$c" \
            "$(echo "$c $b" | awk '{print $1/$2}')" "$rounds" "$stats"
    done
done
errs="$(awk -F'\t' '$7>0' "$RAW" | wc -l)"
if [[ "$errs" -gt 0 ]]; then
    echo "WARNING: redis-benchmark saw server errors in $errs run(s):"
    awk -F'\t' '$7>0 {print "  "$1" "$2" P"$3" round "$4}' "$RAW"
fi
