#!/usr/bin/env bash
# What observability costs on the hot path: CACHE.GET throughput with
#   off      no admin listener, [metrics] enabled = false, no tracing (anchor)
#   idle     admin listener, metrics on, tracing on with sample_ratio = 0
#            (the exporter runs and has nothing to send)
#   sampled  as idle, with sample_ratio = 0.01 and a local OTLP receiver
#            that answers 200 to every batch
# Each round runs the three back to back (same binary, fresh server each),
# redis-benchmark -c 50 -P 16 CACHE.GET UserPermissions over COUNT prefilled
# ids; the table shows medians over rounds and the ratio to "off".
# Targets (issue 14): idle >= 0.95x off, sampled >= 0.9x off.
#
#   bench/observe.sh                      # ROUNDS=3 N=300000 COUNT=5000
#   ROUNDS=1 N=100000 bench/observe.sh    # a quick look
#
# The /metrics render time for 1,000 definitions across 10 tenants is the
# in-process bench: cargo bench -p hoard --bench metrics_render
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS="${ROUNDS:-3}"
N="${N:-300000}"
COUNT="${COUNT:-5000}"
CLIENTS="${CLIENTS:-50}"

bench_init

# A minimal OTLP/HTTP receiver: counts POSTed batches, answers 200.
RECEIVER_PORT="$(free_port)"
python3 - "$RECEIVER_PORT" "$BENCH_TMP/batches" <<'PY' &
import http.server, sys
port, counter = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with open(counter, "a") as f:
            f.write("1\n")
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
_BENCH_PIDS+=("$!")

config() { # config off|idle|sampled -> path
    local mode="$1" file="$BENCH_TMP/$1.toml"
    case "$mode" in
    off) printf '[metrics]\nenabled = false\n' >"$file" ;;
    idle) printf '[admin]\nhttp = "127.0.0.1:0"\n[tracing]\notlp_endpoint = "http://127.0.0.1:%s/v1/traces"\nsample_ratio = 0.0\n' "$RECEIVER_PORT" >"$file" ;;
    sampled) printf '[admin]\nhttp = "127.0.0.1:0"\n[tracing]\notlp_endpoint = "http://127.0.0.1:%s/v1/traces"\nsample_ratio = 0.01\n' "$RECEIVER_PORT" >"$file" ;;
    esac
    echo "$file"
}

RAW="$BENCH_TMP/observe.tsv" # mode round rps p50
: >"$RAW"
for round in $(seq 1 "$ROUNDS"); do
    for mode in off idle sampled; do
        start_hoard --config "$(config "$mode")"
        python3 "$BENCH_DIR/gen_resp.py" small "$COUNT" | rcli "$HOARD_PORT" --pipe >/dev/null 2>&1
        line="$(rb "$HOARD_PORT" "$mode" -c "$CLIENTS" -n "$N" -r "$COUNT" -P 16 \
            CACHE.GET UserPermissions __rand_int__ | tail -1)"
        assert_alive hoard "$HOARD_PID"
        rps="$(cut -f2 <<<"$line")"; p50="$(cut -f3 <<<"$line")"
        log "round $round $mode: $rps rps (p50 $p50 ms)"
        printf '%s\t%s\t%s\t%s\n' "$mode" "$round" "$rps" "$p50" >>"$RAW"
        stop_pid "$HOARD_PID"
    done
done

off="$(awk -F'\t' '$1=="off"{print $3}' "$RAW" | median)"
printf '\nCACHE.GET UserPermissions, -c %s -P 16, %s requests x %s rounds (medians)\n' "$CLIENTS" "$N" "$ROUNDS"
printf '%-8s %12s %8s %10s\n' mode rps p50_ms vs_off
for mode in off idle sampled; do
    rps="$(awk -F'\t' -v m="$mode" '$1==m{print $3}' "$RAW" | median)"
    p50="$(awk -F'\t' -v m="$mode" '$1==m{print $4}' "$RAW" | median)"
    printf '%-8s %12s %8s %9.3fx\n' "$mode" "$rps" "$p50" "$(echo "$rps $off" | awk '{print $1/$2}')"
done
printf 'OTLP batches received while sampled: %s\n' "$(wc -l <"$BENCH_TMP/batches" 2>/dev/null || echo 0)"
