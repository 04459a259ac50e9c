#!/usr/bin/env bash
# Origins: what read-through with single flight saves an origin, and what it costs.
#
#   bench/origins.sh      # CLIENTS=200 SECS=10 KEYS=1000 ZIPF=1.1 TTL_MS=1000 LOAD_MS=20
#   SECTIONS="hit miss" bench/origins.sh                 # only some sections
#   HERDS="100:100:200 10:200:400" SECTIONS=herd bench/origins.sh
#
# Starts a PostgreSQL (initdb in a temp dir) with KEYS users and a `loads`
# counter that the load statement bumps (counted at the origin), and
# release hoards serving the UserDb example: A with the origin configured
# (read-through, loaded entries fresh for TTL_MS), B without (plain cache).
# The load query takes LOAD_MS (pg_sleep), as a real query with joins or
# aggregates does; a herd is as large as the reads that arrive meanwhile.
#  1. herd: CLIENTS connections read Zipf(ZIPF) keys for SECS seconds; on A
#     each read is one CACHE.GET; on B each client does cache-aside by hand
#     (GET, on a miss the query, then PSETEX TTL_MS). Origin queries/s and
#     client p99, both from the same run. HERDS="KEYS:LOAD_MS:CLIENTS ..."
#     runs several parameter sets in turn (fresh A and B for each; the
#     table holds the largest KEYS); by default two: KEYS, LOAD_MS and
#     CLIENTS (a long tail), and 10 hot keys with 100 ms loads and 400
#     clients (a herd-prone set: what single flight is for).
#  2. hit path: redis-benchmark CACHE.GET UserDb 1 (a hit) on A vs on B,
#     ROUNDS interleaved rounds, medians; also each server's CPU time per
#     hit (from /proc), steadier than requests per second on a busy box;
#     then the in-process bench origin_hit (Cache::get, no network).
#  3. miss latency: ROUNDS x N_MISS read-through misses on C (a hoard whose
#     load query has no pg_sleep) vs the same query sent straight to
#     PostgreSQL by the bench client; the median of the rounds' p50 ratios.
#     The floor: the same client's GET round trip to a redis-server, added
#     to the direct query (what a cache that did nothing would cost).
# SECTIONS (default "herd hit miss") picks which of them run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLIENTS="${CLIENTS:-200}"
SECS="${SECS:-10}"
KEYS="${KEYS:-1000}"
LOAD_MS="${LOAD_MS:-20}"
ZIPF="${ZIPF:-1.1}"
TTL_MS="${TTL_MS:-1000}"
N_HIT="${N_HIT:-200000}"
N_MISS="${N_MISS:-2000}"
ROUNDS="${ROUNDS:-3}"
SECTIONS="${SECTIONS:-herd hit miss}"
HERDS="${HERDS:-$KEYS:$LOAD_MS:$CLIENTS 10:100:400}"
wants() { [[ " $SECTIONS " == *" $1 "* ]]; }
# The table holds as many users as the largest key set asks for, and
# PostgreSQL takes a connection per naive client of the largest herd.
MAX_CLIENTS="$CLIENTS"
for herd in $HERDS; do
    IFS=: read -r k _ c <<<"$herd"
    if (( k > KEYS )); then KEYS="$k"; fi
    if (( c > MAX_CLIENTS )); then MAX_CLIENTS="$c"; fi
done

bench_init

PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
[[ -x "$PGBIN/initdb" ]] || die "PostgreSQL is not installed (scripts/toolchains installs it)"
PGDIR="$BENCH_TMP/pg"
mkdir -p "$PGDIR"
chmod 755 "$BENCH_TMP"  # the postgres user must reach its data directory
as_pg() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[[ "$(id -u)" == 0 ]] && chown -R postgres:postgres "$PGDIR"
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres --no-sync -E UTF8 >/dev/null
PGPORT="$(free_port)"
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
    -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=$(( MAX_CLIENTS + ${ORIGIN_CONNECTIONS:-64} + 50 )) -c fsync=off" start >/dev/null
stop_pg() { as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1 || true; bench_cleanup; }
trap stop_pg EXIT
PG="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"
psql_() { as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -At -c "$1"; }
psql_ "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text, version bigint NOT NULL DEFAULT 0);
       INSERT INTO users (id, email, name) SELECT g, 'user' || g || '@example.com', 'User ' || g FROM generate_series(1, $KEYS) g;
       CREATE TABLE loads (at timestamptz NOT NULL DEFAULT now());" >/dev/null
log "PostgreSQL on $PGPORT with $KEYS users"

mkdir -p "$BENCH_TMP/plugins"
cp "$REPO_DIR/plugins/target/wasm32-wasip2/release/user_db.wasm" "$BENCH_TMP/plugins/"
load_sql() { echo "WITH bump AS (INSERT INTO loads DEFAULT VALUES RETURNING pg_sleep($1)) SELECT id::text AS id, email, name FROM users WHERE id = \$1"; }
origin_config() { # origin_config PAUSE_S
    cat <<TOML
plugins = "$BENCH_TMP/plugins"
[[origins]]
name = "users-db"
postgres = "$PG"
definitions = ["UserDb"]
connections = ${ORIGIN_CONNECTIONS:-64}
load_ttl_ms = $TTL_MS
[origins.statements]
user_by_id = "$(load_sql "$1")"
TOML
}
origin_config 0 >"$BENCH_TMP/c.toml"
cat >"$BENCH_TMP/b.toml" <<TOML
plugins = "$BENCH_TMP/plugins"
TOML
pause_s() { awk -v ms="$1" 'BEGIN { printf "%g", ms / 1000 }'; }
# start_a LOAD_MS -> PORT_A, PID_A: the read-through hoard whose load takes LOAD_MS
start_a() {
    origin_config "$(pause_s "$1")" >"$BENCH_TMP/a.toml"
    start_hoard --config "$BENCH_TMP/a.toml"; PORT_A="$HOARD_PORT"; PID_A="$HOARD_PID"
}
start_b() { start_hoard --config "$BENCH_TMP/b.toml"; PORT_B="$HOARD_PORT"; PID_B="$HOARD_PID"; }

# The bench client, built once (ORIGIN_HERD_BIN=path reuses one already built).
if [[ -z "${ORIGIN_HERD_BIN:-}" ]]; then
    log "building the bench client (cargo bench --no-run)"
    ORIGIN_HERD_BIN="$(cd "$REPO_DIR" && cargo bench -p hoard --bench origin_herd --no-run 2>&1 |
        sed -nE 's/.*Executable .*\((.*)\).*/\1/p' | tail -1)"
    [[ "$ORIGIN_HERD_BIN" == /* ]] || ORIGIN_HERD_BIN="$REPO_DIR/$ORIGIN_HERD_BIN"
fi
[[ -x "$ORIGIN_HERD_BIN" ]] || die "no bench client at $ORIGIN_HERD_BIN"
# The in-process hit-path bench (ORIGIN_HIT_BIN=path reuses one already built).
if wants hit && [[ -z "${ORIGIN_HIT_BIN:-}" ]]; then
    ORIGIN_HIT_BIN="$(cd "$REPO_DIR" && cargo bench -p hoard --bench origin_hit --no-run 2>&1 |
        sed -nE 's/.*Executable .*\((.*)\).*/\1/p' | tail -1)"
    [[ "$ORIGIN_HIT_BIN" == /* ]] || ORIGIN_HIT_BIN="$REPO_DIR/$ORIGIN_HIT_BIN"
fi
client() { "$ORIGIN_HERD_BIN" "$@"; }

echo "# bench/origins.sh  $(date -u +%FT%TZ)  sections=\"$SECTIONS\" herds(keys:load_ms:clients)=\"$HERDS\" secs=$SECS zipf=$ZIPF ttl_ms=$TTL_MS rounds=$ROUNDS cores=$(nproc)"
field() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$2"; }
if wants herd; then
echo "## 1. herd (origin = PostgreSQL, counted at the origin)"
for herd in $HERDS; do
    IFS=: read -r keys load_ms clients <<<"$herd"
    echo "### keys=$keys load_ms=$load_ms clients=$clients"
    # One hoard at a time, each fresh: neither run shares the box (or
    # PostgreSQL's connections) with the other's server.
    start_a "$load_ms"
    HERD_A="$(client herd "$PORT_A" "$PG" readthrough "$clients" "$SECS" "$keys" "$ZIPF" "$TTL_MS" "$(pause_s "$load_ms")")"
    echo "$HERD_A"
    assert_alive hoard "$PID_A"
    stop_pid "$PID_A"
    start_b
    HERD_B="$(client herd "$PORT_B" "$PG" naive "$clients" "$SECS" "$keys" "$ZIPF" "$TTL_MS" "$(pause_s "$load_ms")")"
    echo "$HERD_B"
    stop_pid "$PID_B"
    awk -v qa="$(field origin_qps "$HERD_A")" -v qb="$(field origin_qps "$HERD_B")" \
        -v pa="$(field p99_us "$HERD_A")" -v pb="$(field p99_us "$HERD_B")" \
        -v k="$keys" -v l="$load_ms" -v c="$clients" \
        'BEGIN { printf "keys=%d load_ms=%d clients=%d: origin queries/s: naive %.1f, read-through %.1f -> %.1fx fewer; client p99: naive %d us, read-through %d us\n", k, l, c, qb, qa, (qa > 0 ? qb / qa : 0), pb, pa }'
done
fi

if wants hit; then
start_a "$LOAD_MS"; start_b
echo "## 2. hit path: CACHE.GET UserDb 1, read-through (A) vs plain (B), redis-benchmark -c 50 -n $N_HIT"
# The server's CPU time (user + system) per request: less at the mercy of
# the box's other load than requests per second are.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
cpu_per_hit() { # cpu_per_hit PID BEFORE_TICKS
    awk -v t="$(( $(cpu_ticks "$1") - $2 ))" -v hz="$(getconf CLK_TCK)" -v n="$N_HIT" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }'
}
hit_a() {
    local t0; t0="$(cpu_ticks "$PID_A")"
    a="$(rb "$PORT_A" hitA -c 50 -n "$N_HIT" CACHE.GET UserDb 1 | cut -f2)"; ca="$(cpu_per_hit "$PID_A" "$t0")"
}
hit_b() {
    local t0; t0="$(cpu_ticks "$PID_B")"
    b="$(rb "$PORT_B" hitB -c 50 -n "$N_HIT" CACHE.GET UserDb 1 | cut -f2)"; cb="$(cpu_per_hit "$PID_B" "$t0")"
}
rcli "$PORT_A" CACHE.GET UserDb 1 >/dev/null
rcli "$PORT_B" CACHE.SET UserDb '{"id":"1","email":"user1@example.com","name":"User 1"}' 1 >/dev/null
: >"$BENCH_TMP/hit.tsv"
for round in $(seq 1 "$ROUNDS"); do
    # keep the entry fresh on A for the whole run
    rcli "$PORT_A" CACHE.DEL UserDb 1 >/dev/null; rcli "$PORT_A" CACHE.GET UserDb 1 >/dev/null
    # Alternate which goes first, so neither always runs on a quieter box.
    if (( round % 2 )); then
        hit_a; hit_b
    else
        hit_b; hit_a
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$a" "$b" "$ca" "$cb" >>"$BENCH_TMP/hit.tsv"
    echo "round $round: read-through $a rps ($ca us CPU/hit), plain $b rps ($cb us CPU/hit)"
done
ma="$(cut -f2 "$BENCH_TMP/hit.tsv" | median)"; mb="$(cut -f3 "$BENCH_TMP/hit.tsv" | median)"
mr="$(awk '{ print $2 / $3 }' "$BENCH_TMP/hit.tsv" | median)"
mc="$(awk '{ print $5 / $4 }' "$BENCH_TMP/hit.tsv" | median)"
awk -v a="$ma" -v b="$mb" -v r="$mr" -v c="$mc" 'BEGIN { printf "hit path: read-through %.0f rps / plain %.0f rps = %.2fx (medians); median of the rounds'"'"' ratios %.2fx; server CPU per hit, plain / read-through: %.2fx\n", a, b, a / b, r, c }'
# The same hit in one process, without the network: what the code adds.
(cd "$REPO_DIR/host" && "$ORIGIN_HIT_BIN" --bench)
fi

if wants miss; then
start_hoard --config "$BENCH_TMP/c.toml"; PORT_C="$HOARD_PORT"
start_redis
echo "## 3. miss latency: $ROUNDS x $N_MISS read-through misses vs the query sent straight to PostgreSQL"
: >"$BENCH_TMP/miss.tsv"
for round in $(seq 1 "$ROUNDS"); do
    MISS="$(client miss "$PORT_C" "$PG" "$N_MISS" "$KEYS" "$REDIS_PORT")"
    echo "round $round: $MISS"
    t="$(field readthrough_p50_us "$MISS")"; d="$(field direct_p50_us "$MISS")"; h="$(field hit_p50_us "$MISS")"
    g="$(field redis_get_p50_us "$MISS")"
    awk -v t="$t" -v d="$d" -v h="$h" -v g="$g" 'BEGIN { printf "%f\t%f\t%d\t%d\t%d\t%f\t%d\n", t / d, (d + h) / d, t, d, h, (d + g) / d, g }' >>"$BENCH_TMP/miss.tsv"
done
awk -v r="$(cut -f1 "$BENCH_TMP/miss.tsv" | median)" -v f="$(cut -f2 "$BENCH_TMP/miss.tsv" | median)" \
    -v t="$(cut -f3 "$BENCH_TMP/miss.tsv" | median)" -v d="$(cut -f4 "$BENCH_TMP/miss.tsv" | median)" \
    -v h="$(cut -f5 "$BENCH_TMP/miss.tsv" | median)" -v fl="$(cut -f6 "$BENCH_TMP/miss.tsv" | median)" \
    -v g="$(cut -f7 "$BENCH_TMP/miss.tsv" | median)" \
    'BEGIN { printf "miss p50: read-through %d us / direct %d us = %.2fx (median of the rounds'"'"' ratios); a hit'"'"'s round trip to hoard is %d us, so direct + one hoard round trip = %.2fx\n", t, d, r, h, f;
             printf "floor: a redis-server GET from the same client takes %d us, so any cache between client and PostgreSQL (one more round trip) is at least %.2fx here\n", g, fl }'
fi

# Anything the servers said about leaving the inline path (a cost the figures above include).
grep -h "plugin threads" "$BENCH_TMP"/*.err 2>/dev/null | sed 's/^/note: /' || true
