#!/usr/bin/env bash
# Write-behind: what an acknowledged-means-on-disk CACHE.SET costs, how fast
# the queue drains into PostgreSQL, and whether kill -9 loses anything.
#
#   bench/write_behind.sh      # N=100000 ROUNDS=3 DRAIN_N=100000 DRAIN_ROUNDS=3 CYCLES=100
#
#  1. Ack throughput and latency: redis-benchmark -c 50, pipeline 1 and 16,
#     `CACHE.SET KvDb <value> __rand_int__` on a hoard whose KvDb origin
#     writes behind (each reply after the queue's fsync; the flusher writes
#     to PostgreSQL meanwhile), against `SET` on a redis-server with
#     `--appendonly yes --appendfsync always` (the same promise: a reply
#     means on disk). Same value bytes, same key space, same run; medians of
#     ROUNDS rounds. It also prints the CPU each side spends per write
#     (hoard, PostgreSQL taking the drained rows, the client; redis-server,
#     the client) and what that leaves hoard for 1.0x on this box, beside
#     what the same CACHE.SET costs a hoard whose KvDb has no origin.
#  2. Drain rate (DRAIN_ROUNDS rounds, medians; each round starts from empty
#     tables): with PostgreSQL stopped, DRAIN_N writes of distinct keys
#     are acknowledged (they wait on disk); PostgreSQL is started and the
#     queue's depth polled until empty: rows/s. The anchor: the bench
#     client's own loop of batched `INSERT … ON CONFLICT` statements (as
#     many rows per transaction as hoard's batch_size) into a twin table of
#     the same database.
#  3. The crash loop: the kill -9 test of the suite run for CYCLES cycles
#     (cycles, acknowledged writes, writes lost, writes applied out of order).
#
# PostgreSQL runs with fsync on here (unlike the origin tests): a real
# database pays its WAL flush per transaction, which is what batching saves.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N="${N:-100000}"
ROUNDS="${ROUNDS:-3}"
DRAIN_N="${DRAIN_N:-100000}"
DRAIN_ROUNDS="${DRAIN_ROUNDS:-3}"
BATCH="${BATCH:-256}"
CYCLES="${CYCLES:-100}"
KEYSPACE="${KEYSPACE:-1000000}"
VALUE_CHARS="${VALUE_CHARS:-96}"
SECTIONS="${SECTIONS:-1 2 3}"   # which of the three to run
want() { [[ " $SECTIONS " == *" $1 "* ]]; }

bench_init
start_pg
psql_ -c "CREATE TABLE kv (k text PRIMARY KEY, v bytea NOT NULL, version bigint NOT NULL);
          CREATE TABLE kv_direct (k text PRIMARY KEY, v bytea NOT NULL, version bigint NOT NULL);" >/dev/null
log "PostgreSQL on $PGPORT"

mkdir -p "$BENCH_TMP/plugins" "$BENCH_TMP/queue"
cp "$REPO_DIR/plugins/target/wasm32-wasip2/release/kv_db.wasm" "$BENCH_TMP/plugins/"
cat >"$BENCH_TMP/hoard.toml" <<TOML
plugins = "$BENCH_TMP/plugins"
[write_behind]
file = "$BENCH_TMP/queue/write-behind.redb"
batch_size = $BATCH
batch_delay_ms = 5
backoff_ms = 20
backoff_max_ms = 200
[[origins]]
name = "kv-db"
postgres = "$PG"
definitions = ["KvDb"]
write = "behind"
[origins.statements]
get_kv = "SELECT v FROM kv WHERE k = \$1"
put_kv = "INSERT INTO kv (k, v, version) VALUES (\$1, \$2, \$3) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, version = EXCLUDED.version WHERE kv.version < EXCLUDED.version"
put_kv_batch = "INSERT INTO kv (k, v, version) SELECT * FROM unnest(\$1::text[], \$2::bytea[], \$3::bigint[]) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, version = EXCLUDED.version WHERE kv.version < EXCLUDED.version"
[origins.batch_statements]
put_kv = "put_kv_batch"
TOML
start_hoard --config "$BENCH_TMP/hoard.toml"; HPORT="$HOARD_PORT"; HPID="$HOARD_PID"
# The same definition with no origin: what the CACHE.SET costs hoard
# without the queue (validation, key, L1), for the CPU budget below.
cat >"$BENCH_TMP/plain.toml" <<TOML
plugins = "$BENCH_TMP/plugins"
TOML
start_hoard --config "$BENCH_TMP/plain.toml"; PLAIN_PORT="$HOARD_PORT"; PLAIN_PID="$HOARD_PID"
REDIS_AOF_DIR="$BENCH_TMP/redis-aof"; mkdir -p "$REDIS_AOF_DIR"
RPORT="$(free_port)"
redis-server --bind "$HOST" --port "$RPORT" --save '' --appendonly yes --appendfsync always \
    --dir "$REDIS_AOF_DIR" --daemonize no --logfile "$REDIS_AOF_DIR/redis.log" &
RPID=$!; _BENCH_PIDS+=("$RPID")
for _ in $(seq 1 100); do rcli "$RPORT" PING 2>/dev/null | grep -q PONG && break; sleep 0.1; done
log "redis-server (appendfsync always) pid $RPID on $RPORT"

VALUE="\"$(head -c "$VALUE_CHARS" /dev/zero | tr '\0' 'v')\""
# CPU accounting (clock ticks): the hoard under test, every postgres process
# (the flusher's backends write what hoard acknowledged), the redis-server,
# and the client (redis-benchmark, read as the waited-for children of the
# subshell that ran it).
TICK_HZ="$(getconf CLK_TCK)"
proc_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() { cat /proc/[0-9]*/stat 2>/dev/null | awk '$2=="(postgres)" {s+=$14+$15} END{print s+0}'; }
# rb_cpu PORT LABEL ARGS... -> rb's line; the client's ticks in $BENCH_TMP/client.ticks
rb_cpu() { ( rb "$@"; awk '{print $16+$17}' "/proc/$BASHPID/stat" >"$BENCH_TMP/client.ticks" ); }
# us_per OP_COUNT TICKS -> CPU microseconds per operation
us_per() { awk -v n="$1" -v t="$2" -v hz="$TICK_HZ" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }'; }

pending() { rcli "$HPORT" INFO writebehind | tr -d '\r' | awk -F: '$1=="write_behind_pending"{print $2}'; }
wait_drained() { for _ in $(seq 1 3000); do [[ "$(pending)" == 0 ]] && return; sleep 0.1; done; die "the queue did not drain"; }

echo "# bench/write_behind.sh  $(date -u +%FT%TZ)  n=$N rounds=$ROUNDS drain_n=$DRAIN_N batch=$BATCH value=${#VALUE}B cores=$(nproc)"
if want 1; then
echo "## 1. acknowledged writes: hoard CACHE.SET (write-behind) vs redis SET (appendfsync always), -c 50"
for P in 1 16; do
    : >"$BENCH_TMP/ack.tsv"; : >"$BENCH_TMP/cpu.tsv"
    for round in $(seq 1 "$ROUNDS"); do
        h0="$(proc_ticks "$HPID")"; g0="$(pg_ticks)"
        h="$(rb_cpu "$HPORT" "wb P$P" -c 50 -P "$P" -n "$N" -r "$KEYSPACE" CACHE.SET KvDb "$VALUE" __rand_int__)"
        hc="$(cat "$BENCH_TMP/client.ticks")"; h1="$(proc_ticks "$HPID")"; g1="$(pg_ticks)"
        r0="$(proc_ticks "$RPID")"
        r="$(rb_cpu "$RPORT" "aof P$P" -c 50 -P "$P" -n "$N" -r "$KEYSPACE" SET kv:__rand_int__ "$VALUE")"
        rc="$(cat "$BENCH_TMP/client.ticks")"; r1="$(proc_ticks "$RPID")"
        p0="$(proc_ticks "$PLAIN_PID")"
        rb "$PLAIN_PORT" "plain P$P" -c 50 -P "$P" -n "$N" -r "$KEYSPACE" CACHE.SET KvDb "$VALUE" __rand_int__ >/dev/null
        p1="$(proc_ticks "$PLAIN_PID")"
        # CPU per write, µs: hoard, PostgreSQL (during hoard's run), client;
        # redis-server, client (during redis's run).
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(us_per "$N" $((h1 - h0)))" "$(us_per "$N" $((g1 - g0)))" \
            "$(us_per "$N" "$hc")" "$(us_per "$N" $((r1 - r0)))" "$(us_per "$N" "$rc")" \
            "$(us_per "$N" $((p1 - p0)))" >>"$BENCH_TMP/cpu.tsv"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" \
            "$(cut -f2 <<<"$h")" "$(cut -f3 <<<"$h")" "$(cut -f5 <<<"$h")" \
            "$(cut -f2 <<<"$r")" "$(cut -f3 <<<"$r")" "$(cut -f5 <<<"$r")" >>"$BENCH_TMP/ack.tsv"
        echo "P$P round $round: hoard $(cut -f2 <<<"$h") rps p50 $(cut -f3 <<<"$h") ms p99 $(cut -f5 <<<"$h") ms | redis-aof $(cut -f2 <<<"$r") rps p50 $(cut -f3 <<<"$r") ms p99 $(cut -f5 <<<"$r") ms"
        wait_drained
    done
    col() { cut -f"$1" "$BENCH_TMP/ack.tsv" | median; }
    awk -v h="$(col 2)" -v r="$(col 5)" -v hp50="$(col 3)" -v hp99="$(col 4)" -v rp50="$(col 6)" -v rp99="$(col 7)" -v p="$P" \
        'BEGIN { printf "P%s medians: hoard %.0f rps (p50 %.3f ms, p99 %.3f ms) / redis-aof %.0f rps (p50 %.3f ms, p99 %.3f ms) = %.2fx\n", p, h, hp50, hp99, r, rp50, rp99, h / r }'
    cpu() { cut -f"$1" "$BENCH_TMP/cpu.tsv" | median; }
    # hoard's CPU budget for 1.0x: at redis-aof's rate the box's cores give
    # each write cores/rate of CPU; PostgreSQL (taking the drained rows) and
    # the client take theirs first, hoard may spend what is left.
    awk -v h="$(cpu 1)" -v g="$(cpu 2)" -v c="$(cpu 3)" -v r="$(cpu 4)" -v rcl="$(cpu 5)" -v pl="$(cpu 6)" -v cores="$(nproc)" -v rr="$(col 5)" -v p="$P" \
        'BEGIN { box = cores * 1e6 / rr;
                 printf "P%s CPU per write (us, medians): hoard %.1f + postgres %.1f + client %.1f | redis-server %.1f + client %.1f\n", p, h, g, c, r, rcl;
                 printf "P%s budget for 1.0x: %d cores at redis-aof'"'"'s rate give %.1f us per write; postgres + client take %.1f, leaving hoard %.1f (it spends %.1f; the same CACHE.SET with no write-behind costs it %.1f)\n", p, cores, box, g + c, box - g - c, h, pl }'
done
assert_alive hoard "$HPID"
FSYNCS="$(rcli "$HPORT" INFO writebehind | tr -d '\r' | awk -F: '$1=="write_behind_fsyncs"{f=$2} $1=="write_behind_enqueued"{e=$2} END{printf "%d fsyncs for %d writes (%.1f writes per fsync)", f, e, (f ? e / f : 0)}')"
echo "group commit: $FSYNCS"
fi

if want 2; then
echo "## 2. drain into PostgreSQL: $DRAIN_N queued writes vs batched INSERT … ON CONFLICT from the client ($BATCH rows per transaction), $DRAIN_ROUNDS rounds"
python3 - "$DRAIN_N" "$BATCH" "$VALUE" >"$BENCH_TMP/direct.sql" <<'PY'
import sys
n, batch, value = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
# The value as hoard stores it: the MessagePack string of the JSON text.
raw = value.strip('"').encode()
packed = (bytes([0xd9, len(raw)]) if len(raw) < 256 else bytes([0xda]) + len(raw).to_bytes(2, "big")) + raw
hexv = "\\x" + packed.hex()
out = sys.stdout
for start in range(0, n, batch):
    rows = ",".join(f"('d{i}','{hexv}'::bytea,{i})" for i in range(start, min(n, start + batch)))
    out.write("BEGIN;\n")
    out.write(f"INSERT INTO kv_direct (k, v, version) VALUES {rows} ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v, version = EXCLUDED.version WHERE kv_direct.version < EXCLUDED.version;\n")
    out.write("COMMIT;\n")
PY
: >"$BENCH_TMP/drain.tsv"
for round in $(seq 1 "$DRAIN_ROUNDS"); do
    # Every round inserts fresh rows on both sides.
    psql_ -c "TRUNCATE kv, kv_direct" >/dev/null
    stop_pg
    rb "$HPORT" "fill" -c 50 -P 16 -n "$DRAIN_N" -r 1000000000 CACHE.SET KvDb "$VALUE" "d__rand_int__" >/dev/null
    QUEUED="$(pending)"
    log "queued $QUEUED writes with PostgreSQL down; starting it"
    restart_pg
    start_ns="" ; end_ns=""
    for _ in $(seq 1 30000); do
        p="$(pending)"; now="$(date +%s%N)"
        if [[ -z "$start_ns" && "$p" -lt "$QUEUED" ]]; then start_ns="$now"; first="$p"; fi
        if [[ "$p" == 0 ]]; then end_ns="$now"; break; fi
        sleep 0.02
    done
    [[ -n "$end_ns" ]] || die "the queue did not drain"
    DRAINED=$(( ${first:-$QUEUED} ))
    HOARD_RATE="$(awk -v n="$DRAINED" -v s="$start_ns" -v e="$end_ns" 'BEGIN { printf "%.0f", n / ((e - s) / 1e9) }')"
    ROWS="$(psql_ -c "SELECT count(*) FROM kv WHERE k LIKE 'd%'")"
    t0="$(date +%s%N)"; psql_ -q -f "$BENCH_TMP/direct.sql" >/dev/null; t1="$(date +%s%N)"
    DIRECT_RATE="$(awk -v n="$DRAIN_N" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", n / ((e - s) / 1e9) }')"
    echo "round $round: hoard flusher $DRAINED rows in $(awk -v s="$start_ns" -v e="$end_ns" 'BEGIN{printf "%.2f", (e-s)/1e9}') s = $HOARD_RATE rows/s (rows in kv: $ROWS of $QUEUED queued) | batched INSERT loop $DRAIN_N rows in $(awk -v s="$t0" -v e="$t1" 'BEGIN{printf "%.2f", (e-s)/1e9}') s = $DIRECT_RATE rows/s"
    printf '%s\t%s\t%s\n' "$HOARD_RATE" "$DIRECT_RATE" "$(awk -v h="$HOARD_RATE" -v d="$DIRECT_RATE" 'BEGIN { printf "%f", h / d }')" >>"$BENCH_TMP/drain.tsv"
done
awk -v h="$(cut -f1 "$BENCH_TMP/drain.tsv" | median)" -v d="$(cut -f2 "$BENCH_TMP/drain.tsv" | median)" -v r="$(cut -f3 "$BENCH_TMP/drain.tsv" | median)" \
    'BEGIN { printf "drain: hoard %d rows/s / batched INSERT %d rows/s (medians) = %.2fx (median of the rounds\047 ratios)\n", h, d, r }'
assert_alive hoard "$HPID"
fi

if want 3; then
echo "## 3. crash loop: kill -9 at random moments, $CYCLES cycles (tests/tests/it/write_behind.rs)"
(cd "$REPO_DIR" && cargo build -q -p hoard && HOARD_CRASH_CYCLES="$CYCLES" \
    cargo test -q -p hoard-tests --test it write_behind::kill_9 -- --nocapture 2>&1) | grep -E '^crash loop:|test result' || die "the crash loop failed"
fi
