# shellcheck shell=bash
# Shared helpers for the hoard benchmark scripts. Source it; do not run it.
#
# Every server started here listens on 127.0.0.1 only, on a free port, and is
# stopped by `bench_cleanup` (installed as an EXIT trap by `bench_init`).

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
# HOARD_BIN=path runs another build (e.g. target/debug/hoard for a quick look).
# ASYNC_WORKERS=N starts every hoard with `--async-workers N` (default: one per core).
HOARD_BIN="${HOARD_BIN:-$REPO_DIR/target/release/hoard}"
HOST=127.0.0.1
# Upper bound (seconds) on any single redis-benchmark / redis-cli call.
BENCH_CALL_TIMEOUT="${BENCH_CALL_TIMEOUT:-180}"

_BENCH_PIDS=()
BENCH_TMP=""

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

bench_cleanup() {
    local pid
    for pid in "${_BENCH_PIDS[@]:-}"; do
        [[ -n "$pid" ]] || continue
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    _BENCH_PIDS=()
    if [[ -n "$BENCH_TMP" && -d "$BENCH_TMP" ]]; then rm -rf "$BENCH_TMP"; fi
}

bench_init() {
    BENCH_TMP="$(mktemp -d /tmp/hoard-bench.XXXXXX)"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    ensure_redis_tools
    ensure_hoard_built
}

# Install redis-server / redis-tools only if something is missing.
ensure_redis_tools() {
    if command -v redis-server >/dev/null && command -v redis-cli >/dev/null \
        && command -v redis-benchmark >/dev/null; then
        return
    fi
    log "redis tools missing: installing redis-server redis-tools"
    local sudo=""
    [[ "$(id -u)" == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server redis-tools >/dev/null
    # The package may start a system redis on 6379; we never use it.
}

# Build the release binary unless it is already newer than every source file.
ensure_hoard_built() {
    [[ "$HOARD_BIN" == "$REPO_DIR/target/release/hoard" ]] || { [[ -x "$HOARD_BIN" ]] || die "no binary at $HOARD_BIN"; return; }
    local stale=1
    if [[ -x "$HOARD_BIN" ]]; then
        stale=0
        if [[ -n "$(find "$REPO_DIR/host" "$REPO_DIR/plugins/examples" "$REPO_DIR/plugins/shared" "$REPO_DIR/wit" \
            "$REPO_DIR/Cargo.toml" "$REPO_DIR/Cargo.lock" \
            -newer "$HOARD_BIN" \( -name '*.rs' -o -name '*.toml' -o -name '*.wit' -o -name '*.lock' \) \
            -not -path '*/target/*' -print -quit 2>/dev/null)" ]]; then
            stale=1
        fi
    fi
    if [[ "$stale" == 1 || "${BENCH_FORCE_BUILD:-0}" == 1 ]]; then
        log "building release hoard (cargo build --release -p hoard; first build ~10 min)"
        (cd "$REPO_DIR" && cargo build --release -p hoard) >&2
    fi
    [[ -x "$HOARD_BIN" ]] || die "no binary at $HOARD_BIN"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_redis -> sets REDIS_PORT, REDIS_PID
start_redis() {
    REDIS_PORT="$(free_port)"
    local dir="$BENCH_TMP/redis-$REDIS_PORT"
    mkdir -p "$dir"
    redis-server --bind "$HOST" --port "$REDIS_PORT" --save '' --appendonly no \
        --dir "$dir" --daemonize no --protected-mode yes --enable-debug-command local \
        --logfile "$dir/redis.log" &
    REDIS_PID=$!
    _BENCH_PIDS+=("$REDIS_PID")
    local i
    for i in $(seq 1 100); do
        if redis-cli -h "$HOST" -p "$REDIS_PORT" PING 2>/dev/null | grep -q PONG; then
            log "redis-server $(redis-server --version | awk '{print $3}') pid $REDIS_PID on $HOST:$REDIS_PORT"
            return
        fi
        kill -0 "$REDIS_PID" 2>/dev/null || die "redis-server exited: $(tail -5 "$dir/redis.log")"
        sleep 0.1
    done
    die "redis-server did not answer PING"
}

# start_hoard [extra serve args...] -> sets HOARD_PORT, HOARD_PID
start_hoard() {
    local out="$BENCH_TMP/hoard.$RANDOM.out"
    local workers=()
    [[ -n "${ASYNC_WORKERS:-}" ]] && workers=(--async-workers "$ASYNC_WORKERS")
    HOARD_LOG="${HOARD_LOG:-warn}" "$HOARD_BIN" serve --port 0 "${workers[@]}" "$@" >"$out" 2>"$out.err" &
    HOARD_PID=$!
    _BENCH_PIDS+=("$HOARD_PID")
    local i line
    for i in $(seq 1 600); do   # compiling plugins on a cold artifact cache can take a while
        line="$(grep -m1 'hoard listening on' "$out" 2>/dev/null || true)"
        if [[ -n "$line" ]]; then
            HOARD_PORT="${line##*:}"
            log "hoard pid $HOARD_PID on $HOST:$HOARD_PORT"
            HOARD_ERR="$out.err"
            return
        fi
        kill -0 "$HOARD_PID" 2>/dev/null || die "hoard exited: $(tail -20 "$out.err")"
        sleep 0.1
    done
    die "hoard did not print its port within 60 s"
}

# stop_pid PID: SIGTERM and wait (max 5 s), then SIGKILL.
stop_pid() {
    local pid="$1"
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    log "pid $pid ignored SIGTERM for 5 s; killing"
    kill -KILL "$pid" 2>/dev/null || true
}

# Fail loudly if the server process has died (e.g. crashed mid-benchmark).
assert_alive() {
    local name="$1" pid="$2"
    if ! kill -0 "$pid" 2>/dev/null; then
        [[ "$name" == hoard && -n "${HOARD_ERR:-}" ]] && tail -30 "$HOARD_ERR" >&2
        die "$name (pid $pid) is no longer running"
    fi
}

rcli() { # rcli PORT args...
    local port="$1"; shift
    timeout "$BENCH_CALL_TIMEOUT" redis-cli -h "$HOST" -p "$port" "$@"
}

# rb PORT LABEL redis-benchmark-args...
# Runs redis-benchmark with --csv and -e (show server errors). Prints one
# "test<TAB>rps<TAB>p50_ms<TAB>errors<TAB>p99_ms" line per test. Error lines go to
# $BENCH_TMP/errors.log and are also echoed (first 3) to stderr.
rb() {
    local port="$1" label="$2"; shift 2
    local out="$BENCH_TMP/rb.out" err="$BENCH_TMP/rb.err" rc=0
    timeout "$BENCH_CALL_TIMEOUT" redis-benchmark -h "$HOST" -p "$port" --csv -e "$@" \
        >"$out" 2>"$err" || rc=$?
    local nerr
    nerr="$( { grep -c 'Error from server' "$out" "$err" 2>/dev/null || true; } | awk -F: '{s+=$NF} END{print s+0}')"
    if [[ "$nerr" -gt 0 || "$rc" -ne 0 ]]; then
        {
            echo "== $label: redis-benchmark $* (rc=$rc, error lines=$nerr)"
            grep -h -v '^"' "$out" "$err" | head -20
        } | tee -a "$BENCH_TMP/errors.log" | head -5 >&2
        if [[ -n "${BENCH_ERRORS_FILE:-}" ]]; then cat "$BENCH_TMP/errors.log" >>"$BENCH_ERRORS_FILE"; : >"$BENCH_TMP/errors.log"; fi
    fi
    [[ "$rc" -eq 0 ]] || { log "redis-benchmark failed ($label, rc=$rc)"; return 1; }
    # CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95..","p99..","max.."
    # The test name of a custom command may itself contain commas (JSON), so
    # count fields from the end.
    grep '^"' "$out" | grep -v '^"test"' |
        awk -F'","' -v e="$nerr" '{ gsub(/^"|"$/, ""); t=$1; for (i=2;i<=NF-7;i++) t=t "\",\"" $i;
            printf "%s\t%s\t%s\t%s\t%s\n", t, $(NF-6), $(NF-3), e, $(NF-1) }'
}

# median of numbers on stdin
median() {
    sort -g | awk '{a[NR]=$1} END{ if (NR==0) {print "nan"; exit} if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2 }'
}

vmrss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }

# start_pg [postgres -c options...] -> sets PG (connection string), PGPORT,
# and psql_ SQL (runs SQL, unaligned tuples-only). A throwaway cluster in
# $BENCH_TMP/pg (initdb as the `postgres` user when run as root), stopped
# with -m immediate on exit.
start_pg() {
    PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    [[ -x "$PGBIN/initdb" ]] || die "PostgreSQL is not installed (scripts/toolchains installs it)"
    PGDIR="$BENCH_TMP/pg"
    mkdir -p "$PGDIR"
    chmod 755 "$BENCH_TMP"  # the postgres user must reach its data directory
    [[ "$(id -u)" == 0 ]] && chown -R postgres:postgres "$PGDIR"
    as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres --no-sync -E UTF8 >/dev/null
    PGPORT="$(free_port)"
    local opts="-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=400"
    local o
    for o in "$@"; do opts="$opts -c $o"; done
    PG_OPTS="$opts"
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "$opts" start >/dev/null
    trap 'stop_pg; bench_cleanup' EXIT
    PG="host=127.0.0.1 port=$PGPORT user=postgres dbname=postgres"
}
as_pg() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_pg() { as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1 || true; }
restart_pg() { as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "$PG_OPTS" start >/dev/null; }
psql_() { as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -At "$@"; }
