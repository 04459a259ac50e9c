//! A latency histogram made of atomics: recording is two relaxed adds, no
//! lock, no allocation, on the recording thread's own stripe (see
//! `striped`), so it can sit on the command path and around every plugin
//! call without the workers passing cache lines to each other. Buckets
//! double from 1 µs to ~8.4 s (Prometheus `le` bounds), which is enough
//! resolution to tell a 50 µs export from a 5 ms one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::striped::{Padded, STRIPES, stripe};

/// Finite buckets: upper bounds 1 µs · 2^i for i in 0..FINITE.
const FINITE: usize = 24;
/// Finite buckets plus +Inf.
pub(crate) const BUCKETS: usize = FINITE + 1;

/// Counts of durations by power-of-two bucket, and their sum.
#[derive(Debug)]
pub struct Histogram {
    stripes: [Padded<Counts>; STRIPES],
}

/// One thread's share of a [`Histogram`].
#[derive(Debug)]
struct Counts {
    buckets: [AtomicU64; BUCKETS],
    sum_ns: AtomicU64,
}

/// A point-in-time copy of a [`Histogram`].
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// Per-bucket (not cumulative) counts.
    pub buckets: [u64; BUCKETS],
    /// Sum of the recorded durations, in seconds.
    pub sum_seconds: f64,
    /// How many durations were recorded.
    pub count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram (usable in a `static`).
    #[allow(clippy::declare_interior_mutable_const)]
    pub const fn new() -> Self {
        Self {
            stripes: [const {
                Padded(Counts {
                    buckets: [const { AtomicU64::new(0) }; BUCKETS],
                    sum_ns: AtomicU64::new(0),
                })
            }; STRIPES],
        }
    }

    /// Records one duration.
    pub fn record(&self, elapsed: Duration) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let counts = &self.stripes[stripe()].0;
        counts.buckets[bucket_of(ns)].fetch_add(1, Ordering::Relaxed);
        counts.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Copies the counts out.
    pub fn snapshot(&self) -> Snapshot {
        let mut buckets = [0u64; BUCKETS];
        let mut sum_ns = 0u64;
        for Padded(counts) in &self.stripes {
            for (out, bucket) in buckets.iter_mut().zip(&counts.buckets) {
                *out = out.wrapping_add(bucket.load(Ordering::Relaxed));
            }
            sum_ns = sum_ns.wrapping_add(counts.sum_ns.load(Ordering::Relaxed));
        }
        Snapshot {
            buckets,
            count: buckets.iter().sum(),
            sum_seconds: sum_ns as f64 / 1e9,
        }
    }
}

/// The bucket a duration of `ns` nanoseconds falls in.
fn bucket_of(ns: u64) -> usize {
    let us = ns.div_ceil(1000);
    if us <= 1 {
        return 0;
    }
    let index = (64 - (us - 1).leading_zeros()) as usize;
    index.min(FINITE)
}

/// Upper bound of bucket `i` in seconds (`f64::MAX` for +Inf, as the
/// Prometheus encoder expects).
pub(crate) fn upper_bound_seconds(i: usize) -> f64 {
    if i >= FINITE {
        f64::MAX
    } else {
        (1u64 << i) as f64 / 1e6
    }
}

impl Snapshot {
    /// `(upper bound in seconds, count)` pairs for the Prometheus encoder.
    pub fn prometheus_buckets(&self) -> Vec<(f64, u64)> {
        self.buckets
            .iter()
            .enumerate()
            .map(|(i, n)| (upper_bound_seconds(i), *n))
            .collect()
    }

    /// The `q` quantile (0..=1) in milliseconds, as the upper bound of the
    /// bucket it falls in (so an over-estimate by at most 2x); `None` when
    /// nothing was recorded.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((self.count as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let bound = if i >= FINITE {
                    upper_bound_seconds(FINITE - 1) * 2.0
                } else {
                    upper_bound_seconds(i)
                };
                return Some(bound * 1e3);
            }
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn buckets_double_from_one_microsecond() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(1_000), 0);
        assert_eq!(bucket_of(1_001), 1);
        assert_eq!(bucket_of(2_000), 1);
        assert_eq!(bucket_of(3_000), 2);
        assert_eq!(bucket_of(4_000), 2);
        assert_eq!(bucket_of(1_000_000), 10); // 1 ms <= 1024 µs
        assert_eq!(bucket_of(u64::MAX), FINITE);
    }

    #[test]
    fn quantiles_come_from_bucket_bounds() {
        let h = Histogram::new();
        assert_eq!(h.snapshot().quantile_ms(0.99), None);
        for _ in 0..99 {
            h.record(Duration::from_micros(3)); // bucket <= 4 µs
        }
        h.record(Duration::from_millis(3)); // bucket <= 4.096 ms
        let s = h.snapshot();
        assert_eq!(s.count, 100);
        assert_eq!(s.quantile_ms(0.5), Some(0.004));
        assert_eq!(s.quantile_ms(0.99), Some(0.004));
        assert_eq!(s.quantile_ms(1.0), Some(4.096));
        assert!((s.sum_seconds - (99.0 * 3e-6 + 3e-3)).abs() < 1e-9);
    }
}
