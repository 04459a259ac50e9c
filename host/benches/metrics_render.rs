//! Cost of rendering `/metrics` for a large server: 1,000 definitions across
//! 10 tenants (synthetic figures: gathering them is a few relaxed loads per
//! definition; this measures the encoding, which dominates). The anchor, in
//! the same run, is the render of one tenant with 100 definitions: the
//! ratio shows whether the cost grows linearly with the series count.
//!
//! Run: `cargo bench -p hoard --bench metrics_render` (a few seconds).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use hoard::observe::{TenantFigures, render_figures};

fn median_render(tenants: usize, per_tenant: usize, rounds: usize) -> (Duration, usize, usize) {
    let figures: Vec<TenantFigures> = (0..tenants)
        .map(|t| TenantFigures::synthetic(&format!("tenant{t}"), per_tenant))
        .collect();
    let mut times = Vec::with_capacity(rounds);
    let mut size = 0;
    let mut lines = 0;
    for _ in 0..rounds {
        let input = figures.clone();
        let started = Instant::now();
        let text = black_box(render_figures(input, true));
        times.push(started.elapsed());
        size = text.len();
        lines = text.lines().filter(|l| !l.starts_with('#')).count();
    }
    times.sort();
    (times[times.len() / 2], size, lines)
}

fn main() {
    let (anchor, anchor_bytes, anchor_lines) = median_render(1, 100, 31);
    let (big, big_bytes, big_lines) = median_render(10, 100, 31);
    println!(
        "anchor: 1 tenant x 100 definitions: {:.2} ms median, {} samples, {} KiB",
        anchor.as_secs_f64() * 1e3,
        anchor_lines,
        anchor_bytes / 1024
    );
    println!(
        "10 tenants x 100 definitions: {:.2} ms median, {} samples, {} KiB",
        big.as_secs_f64() * 1e3,
        big_lines,
        big_bytes / 1024
    );
    println!(
        "ratio: {:.2}x the anchor's time for {:.2}x its samples",
        big.as_secs_f64() / anchor.as_secs_f64(),
        big_lines as f64 / anchor_lines as f64
    );
}
