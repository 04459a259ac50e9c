#!/usr/bin/env bash
# Plain SET/GET throughput: hoard vs redis-server, same machine, same client.
#
#   bench/redis-compare.sh            # 3 rounds, N=200k (P1) / 1M (P16)
#   ROUNDS=1 N_P1=100000 N_P16=500000 bench/redis-compare.sh
#
# Each round runs, one after the other:
#   redis P1, hoard P1, redis P16, hoard P16
# with  redis-benchmark -c 50 -r 100000 -n N -t set,get -P {1,16} --csv
# and the table shows the median over rounds of requests/s and hoard/redis.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS="${ROUNDS:-3}"
N_P1="${N_P1:-200000}"
N_P16="${N_P16:-1000000}"
CLIENTS="${CLIENTS:-50}"
KEYSPACE="${KEYSPACE:-100000}"

bench_init
start_redis
start_hoard

RAW="$BENCH_TMP/compare.tsv"   # server  pipeline  round  test  rps  p50  errors
: >"$RAW"
for round in $(seq 1 "$ROUNDS"); do
    for p in 1 16; do
        n="$N_P1"; [[ "$p" == 16 ]] && n="$N_P16"
        for server in redis hoard; do
            port="$REDIS_PORT"; pid="$REDIS_PID"
            [[ "$server" == hoard ]] && { port="$HOARD_PORT"; pid="$HOARD_PID"; }
            log "round $round/$ROUNDS: $server P$p (n=$n)"
            rb "$port" "$server P$p" -c "$CLIENTS" -r "$KEYSPACE" -n "$n" -t set,get -P "$p" |
                awk -v s="$server" -v p="$p" -v r="$round" -F'\t' '{print s"\t"p"\t"r"\t"$0}' >>"$RAW"
            assert_alive "$server" "$pid"
        done
    done
done

# Sanity: both servers hold data and agree on a key written by the benchmark.
log "DBSIZE after SETs of up to $KEYSPACE distinct keys: redis $(rcli "$REDIS_PORT" DBSIZE), hoard $(rcli "$HOARD_PORT" DBSIZE)"
log "hoard VmRSS after run: $(vmrss_kb "$HOARD_PID") kB, redis VmRSS: $(vmrss_kb "$REDIS_PID") kB"

echo
echo "# redis-benchmark -c $CLIENTS -r $KEYSPACE -t set,get (n=$N_P1 at P1, $N_P16 at P16), median of $ROUNDS round(s)"
printf '%-5s %-3s %14s %14s %8s   %s\n' test P "redis rps" "hoard rps" "hoard/redis" "per-round hoard/redis; p50 ms redis/hoard"
for p in 1 16; do
    for t in SET GET; do
        med() { awk -F'\t' -v s="$1" -v p="$p" -v t="$t" '$1==s && $2==p && $4==t {print $5}' "$RAW" | median; }
        r="$(med redis)"; h="$(med hoard)"
        rounds="$(awk -F'\t' -v p="$p" -v t="$t" '
            $2==p && $4==t { v[$1,$3]=$5; l[$1,$3]=$6; if ($3>m) m=$3 }
            END { for (i=1;i<=m;i++) printf "%s%.2f", (i>1?" ":""), v["hoard",i]/v["redis",i];
                  printf "; "; for (i=1;i<=m;i++) printf "%s%s/%s", (i>1?" ":""), l["redis",i], l["hoard",i] }' "$RAW")"
        printf '%-5s %-3s %14.0f %14.0f %8.2f      %s\n' "$t" "$p" "$r" "$h" "$(echo "$h $r" | awk '{print $1/$2}')" "$rounds"
    done
done
errs="$(awk -F'\t' '$7>0' "$RAW" | wc -l)"
if [[ "$errs" -gt 0 ]]; then
    echo "WARNING: redis-benchmark reported server errors in $errs test(s):"
    awk -F'\t' '$7>0 {print "  "$1" P"$2" round "$3" "$4}' "$RAW"
fi
