//! Counters that every worker thread adds to without sharing a cache line.
//!
//! A relaxed `fetch_add` is cheap only while its cache line stays with one
//! core. Two workers bumping the same counter for every command hand the
//! line back and forth on every add, which costs more than the add; with
//! more cores it gets worse. So each thread adds to its own stripe (threads
//! take stripes in turn) and a reader sums the stripes: writes stay local,
//! reads (a scrape, `CACHE.INFO`) pay the few extra loads.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Stripes per counter: enough that the handful of threads on the command
/// path (async workers, plugin threads) rarely share one.
pub const STRIPES: usize = 4;

/// The stripe the current thread writes.
pub fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static MINE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    MINE.with(|s| *s)
}

/// A value alone on its cache lines (two: adjacent-line prefetch pairs them).
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct Padded<T>(pub T);

/// A sum that many threads add to and few read.
#[derive(Debug, Default)]
pub struct StripedCounter {
    cells: [Padded<AtomicU64>; STRIPES],
}

impl StripedCounter {
    /// A zero counter (usable in a `static`).
    pub const fn new() -> Self {
        Self {
            cells: [const { Padded(AtomicU64::new(0)) }; STRIPES],
        }
    }

    /// Adds `n` on this thread's stripe.
    pub fn add(&self, n: u64) {
        self.cells[stripe()].0.fetch_add(n, Ordering::Relaxed);
    }

    /// The sum over all stripes (not a snapshot: adds may land meanwhile).
    pub fn get(&self) -> u64 {
        self.cells
            .iter()
            .fold(0u64, |sum, c| sum.wrapping_add(c.0.load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn adds_from_many_threads_all_count() {
        let counter = StripedCounter::new();
        std::thread::scope(|s| {
            for _ in 0..(STRIPES * 2 + 1) {
                s.spawn(|| {
                    for _ in 0..1000 {
                        counter.add(1);
                    }
                });
            }
        });
        assert_eq!(counter.get(), (STRIPES as u64 * 2 + 1) * 1000);
    }

    #[test]
    fn a_thread_keeps_its_stripe_and_threads_spread_over_them() {
        let first = stripe();
        assert!(first < STRIPES);
        assert_eq!(stripe(), first);
        // Threads take stripes in turn: of STRIPES * 4 new threads, not all
        // land on one stripe, whatever other tests spawn meanwhile.
        let mut seen: Vec<usize> = (0..STRIPES * 4)
            .map(|_| std::thread::spawn(stripe).join().unwrap())
            .collect();
        seen.sort_unstable();
        seen.dedup();
        assert!(seen.len() > 1, "{seen:?}");
    }
}
