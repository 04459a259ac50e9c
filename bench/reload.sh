#!/usr/bin/env bash
# Reload latency, release build: PLUGIN.LOAD to the new version serving, under
# load (50 reloads, a third to broken builds, 4 clients running), and a file
# change in the watched directory to the first request on the new version.
# Runs the integration tests that measure them against target/release/hoard.
#
#   bench/reload.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 >/dev/null
cargo build --release -p hoard
HOARD_BIN="$PWD/target/release/hoard" cargo test --release -p hoard-tests --test reload -- \
    --nocapture --test-threads 1 fifty_reloads watcher_reload_latency 2>&1 | grep -E 'reload latency|test result'
