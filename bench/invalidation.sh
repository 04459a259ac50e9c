#!/usr/bin/env bash
# Worst-case invalidation work and its budget (issue 9): the costliest on-event answers the
# caps allow (10,000 prefixless patterns; globs whose 900-byte literal tail follows a `*`),
# applied by hoard-l1 to a table of 50k entries with ~1 kB keys under the default per-event
# budget (20M steps), against an anchor from the same run: one prefixless glob, one full pass.
#
#   bench/invalidation.sh                       # defaults
#   INV_BENCH_KEYS=20000 bench/invalidation.sh  # smaller table
#   INV_BENCH_BUDGET=5000000 bench/invalidation.sh
#
# Seconds, not minutes: the budget is what bounds it. Release build of hoard-l1 only (no wasm).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo bench -p hoard-l1 --bench invalidation 2>/dev/null | tee bench/results/invalidation.txt
