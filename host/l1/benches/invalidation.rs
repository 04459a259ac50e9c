//! Worst-case invalidation work and its budget: how long the costliest `on-event` answers the
//! caps allow keep the host busy before the work budget stops them, against an anchor measured
//! in the same run (one full pass of one glob over the same table). Plain binary (no criterion).
//!
//! `INV_BENCH_KEYS` sets the entries (default 50_000, keys of ~1 kB), `INV_BENCH_BUDGET` the
//! per-event budget in steps (default 20_000_000, the server's default).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use hoard_l1::{Glob, ManualClock, PatternSet, SetCondition, Table, TableConfig, WorkBudget};
use std::sync::Arc;
use std::time::Instant;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn filled(n: u64) -> Table {
    let t = Table::new(
        TableConfig {
            index_keys: true,
            ..TableConfig::default()
        },
        Arc::new(ManualClock::new(0)),
    );
    let long = "a".repeat(1_000);
    for i in 0..n {
        t.insert(
            format!("{long}{i:06}").as_bytes(),
            b"v",
            None,
            SetCondition::Always,
        );
    }
    t
}

/// Runs `set` over a fresh table; returns (ms, steps, fell back).
fn run(n: u64, set: &PatternSet, budget: u64) -> (f64, u64, bool) {
    let t = filled(n);
    let mut work = WorkBudget::new(budget);
    let started = Instant::now();
    let over = t.remove_matching_set(set, &mut work).is_err();
    if over {
        t.clear();
    }
    (started.elapsed().as_secs_f64() * 1e3, work.spent(), over)
}

fn main() {
    let n = env("INV_BENCH_KEYS", 50_000);
    let budget = env("INV_BENCH_BUDGET", 20_000_000);
    println!("invalidation bench: {n} entries with ~1 kB keys, budget {budget} steps per event");

    let anchor_set = PatternSet::new([], [&b"*nomatch*"[..]]);
    let (anchor_ms, anchor_steps, _) = run(n, &anchor_set, u64::MAX);
    println!(
        "anchor   one prefixless glob, full pass        {anchor_ms:8.1} ms  {anchor_steps:>11} steps  {:.2} ns/step",
        anchor_ms * 1e6 / anchor_steps as f64
    );

    let prefixless: Vec<Vec<u8>> = (0..10_000)
        .map(|i| format!("*nomatch{i}*").into_bytes())
        .collect();
    let tail = format!("*{}b", "a".repeat(900)).into_bytes();
    let quadratic: Vec<Vec<u8>> = (0..8)
        .map(|i| {
            let mut p = tail.clone();
            p.insert(p.len() - 1, b'0' + i);
            p
        })
        .collect();
    let cases: [(&str, &[Vec<u8>]); 2] = [
        ("10k prefixless patterns", &prefixless),
        ("8 globs, 900 B tail after *", &quadratic),
    ];
    for (name, patterns) in cases {
        let set = PatternSet::new([], patterns.iter().map(Vec::as_slice));
        let (ms, steps, over) = run(n, &set, budget);
        println!(
            "budgeted {name:<32} {ms:8.1} ms  {steps:>11} steps  fallback={over}  {:.1}x anchor",
            ms / anchor_ms
        );
        // What the same answer would cost unbudgeted, estimated from a sample of 200 keys.
        let sample = filled(200);
        let mut unbounded = WorkBudget::new(u64::MAX);
        let _ = sample.remove_matching_set(&set, &mut unbounded);
        let est_steps = unbounded.spent() as f64 * n as f64 / 200.0;
        println!(
            "         unbudgeted estimate                 {:8.0} ms  {:>11.0} steps",
            est_steps * anchor_ms / anchor_steps as f64,
            est_steps
        );
    }

    // The matcher itself: the old single-backtrack shape on the 900-byte tail, by step count.
    let g = Glob::new(&tail);
    let key = "a".repeat(1_024);
    let (_, steps) = g.matches_counted(key.as_bytes());
    println!(
        "glob     `*` + 900 B tail on a 1 kB key: {steps} word steps (a backtracking matcher: ~{} byte comparisons)",
        (1_024 - 900) * 900 + 1_024
    );
}
