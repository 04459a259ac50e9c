#!/usr/bin/env bash
# The same UserCache in every plugin language: what each costs.
#
#   bench/languages.sh                 # all languages, N=100k requests per run
#   LANGS="rust python" N=50000 bench/languages.sh
#
# For each language it builds plugins/<lang>/user-cache (Rust:
# plugins/examples/user-cache) with `hoard plugin build`, then reports
#   size         the component's bytes
#   first load   compile + describe + warm pool, from an empty artifact cache
#                (hoard's own `load_ms` log field is the compile part)
#   cached load  the same with the artifact cache filled by the first run
#   instantiate  one fresh instance, and ns per call of generate-key,
#                validate and on-event (from `hoard plugin check`)
#   GET ratio    CACHE.GET UserCache <id> / plain GET user:<id>, same server,
#                same JSON, redis-benchmark -c 50 -P 1 (keys are memoized:
#                a hit calls no plugin, so this is the host's cost)
#   SET ratio    CACHE.SET UserCache <json> <id> / plain SET: every request
#                calls the plugin's validate (the language's cost)
# Ratios are candidate/anchor measured back to back on one server, ROUNDS
# times (default 5, the anchor first in odd rounds and second in even ones);
# the table shows the median of the rounds' ratios and the median rps.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LANGS="${LANGS:-rust python js c}"
N="${N:-100000}"
ROUNDS="${ROUNDS:-5}"
COUNT="${COUNT:-5000}"
CLIENTS="${CLIENTS:-50}"
SET_VALUE='{"id":"1","email":"ada@example.com","name":"Ada"}'

bench_init
export PATH="$REPO_DIR/target/toolchains/python/bin:$PATH"
"$REPO_DIR/scripts/toolchains" >&2

project_of() {
    case "$1" in
    rust) echo "$REPO_DIR/plugins/examples/user-cache" ;;
    *) echo "$REPO_DIR/plugins/$1/user-cache" ;;
    esac
}

# serve_timed DIR CACHE_DIR -> HOARD_PORT, HOARD_PID, START_MS, LOAD_MS
serve_timed() {
    local out="$BENCH_TMP/serve.$RANDOM" t0 line
    t0=$(date +%s%N)
    HOARD_LOG=info "$HOARD_BIN" serve --port 0 --plugins "$1" --artifact-cache "$2" >"$out" 2>"$out.err" &
    HOARD_PID=$!
    _BENCH_PIDS+=("$HOARD_PID")
    for _ in $(seq 1 12000); do
        line="$(grep -m1 'hoard listening on' "$out" 2>/dev/null || true)"
        if [[ -n "$line" ]]; then
            START_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
            HOARD_PORT="${line##*:}"
            LOAD_MS="$(grep -m1 'loaded definition' "$out.err" | sed -E 's/.*load_ms=([0-9]+).*/\1/')"
            return
        fi
        kill -0 "$HOARD_PID" 2>/dev/null || die "hoard exited: $(tail -20 "$out.err")"
        sleep 0.01
    done
    die "hoard did not start within 120 s"
}

field() { # field REPORT PREFIX -> the number after PREFIX's line's last comma / arrow
    grep -m1 "^$2" <<<"$1" | grep -oE '[0-9]+\.[0-9]+ (µs|ms)' | tail -1 | awk '{print $1}'
}

printf '| language | size | first load (compile) | cached load (deserialize) | instantiate | generate-key | validate | on-event | CACHE.GET / GET | CACHE.SET / SET |\n' >"$BENCH_TMP/table"
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n' >>"$BENCH_TMP/table"

for lang in $LANGS; do
    project="$(project_of "$lang")"
    log "$lang: building $project"
    wasm="$("$HOARD_BIN" plugin build "$project" | tail -1)"
    size_kb=$(( $(stat -c %s "$wasm") / 1024 ))
    report="$(HOARD_LOG=warn "$HOARD_BIN" plugin check "$wasm")"
    inst="$(field "$report" instantiate)"
    key_us="$(field "$report" generate-key)"
    val_us="$(field "$report" validate)"
    ev_us="$(field "$report" on-event)"

    dir="$BENCH_TMP/plugins-$lang"; cache="$BENCH_TMP/artifacts-$lang"
    mkdir -p "$dir"; cp "$wasm" "$dir/user-cache.wasm"
    serve_timed "$dir" "$cache"; first="$START_MS ms ($LOAD_MS)"; stop_pid "$HOARD_PID"
    serve_timed "$dir" "$cache"; cached="$START_MS ms ($LOAD_MS)"

    log "$lang: prefill $COUNT users"
    python3 "$BENCH_DIR/gen_resp.py" user "$COUNT" | rcli "$HOARD_PORT" --pipe | tail -1 >&2
    : >"$BENCH_TMP/pairs-$lang"
    for round in $(seq 1 "$ROUNDS"); do
        # One redis-benchmark run: its rps. Each pair runs back to back, the
        # anchor first in odd rounds and second in even ones.
        get_rps() { rb "$HOARD_PORT" "$lang $1 r$round" -c "$CLIENTS" -n "$N" -r "$COUNT" "${@:2}" | cut -f2; }
        if (( round % 2 )); then
            get="$(get_rps GET GET user:__rand_int__)"
            cget="$(get_rps CACHE.GET CACHE.GET UserCache __rand_int__)"
            set="$(get_rps SET SET user:__rand_int__ "$SET_VALUE")"
            cset="$(get_rps CACHE.SET CACHE.SET UserCache "$SET_VALUE" __rand_int__)"
        else
            cget="$(get_rps CACHE.GET CACHE.GET UserCache __rand_int__)"
            get="$(get_rps GET GET user:__rand_int__)"
            cset="$(get_rps CACHE.SET CACHE.SET UserCache "$SET_VALUE" __rand_int__)"
            set="$(get_rps SET SET user:__rand_int__ "$SET_VALUE")"
        fi
        log "$lang round $round: GET $get CACHE.GET $cget SET $set CACHE.SET $cset rps"
        printf '%s\t%s\t%s\t%s\n' "$get" "$cget" "$set" "$cset" >>"$BENCH_TMP/pairs-$lang"
    done
    assert_alive hoard "$HOARD_PID"
    stop_pid "$HOARD_PID"
    pairs="$BENCH_TMP/pairs-$lang"
    get="$(cut -f1 "$pairs" | median)"; cget="$(cut -f2 "$pairs" | median)"
    set="$(cut -f3 "$pairs" | median)"; cset="$(cut -f4 "$pairs" | median)"
    get_ratio="$(awk '{ printf "%f\n", $2 / $1 }' "$pairs" | median)"
    set_ratio="$(awk '{ printf "%f\n", $4 / $3 }' "$pairs" | median)"
    log "$lang: medians GET $get CACHE.GET $cget SET $set CACHE.SET $cset rps; ratios $get_ratio $set_ratio"

    ratio() { awk -v r="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.2f× (%.0fk/%.0fk)", r, a / 1000, b / 1000 }'; }
    printf '| %s | %s KB | %s | %s | %s ms | %s µs | %s µs | %s µs | %s | %s |\n' \
        "$lang" "$size_kb" "$first" "$cached" "$inst" "$key_us" "$val_us" "$ev_us" \
        "$(ratio "$get_ratio" "$cget" "$get")" "$(ratio "$set_ratio" "$cset" "$set")" >>"$BENCH_TMP/table"
done

echo
echo "hoard $(git -C "$REPO_DIR" rev-parse --short HEAD), $(nproc) cores, N=$N, -c $CLIENTS, P1, $ROUNDS rounds (ratio: median of the rounds' ratios); load: to 'listening' (hoard's load_ms)"
cat "$BENCH_TMP/table"
