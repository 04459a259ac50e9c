//! Millisecond clocks for expiry decisions.
//!
//! This file only tells time: it must not sleep, spawn, or know about entries. Tests use
//! [`ManualClock`] so that expiry is deterministic and no test ever sleeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A source of monotonic milliseconds.
///
/// The table asks the clock for "now" instead of calling the operating system directly, so
/// that expiry can be driven by a [`ManualClock`] in tests and by [`SystemClock`] in production.
pub trait Clock: Send + Sync + 'static {
    /// Returns monotonic milliseconds since an arbitrary, fixed origin.
    fn now_ms(&self) -> u64;
}

/// A monotonic clock backed by [`Instant`].
///
/// It counts from the moment it was created, so it never goes backwards when the wall clock is
/// adjusted, which keeps TTLs correct across NTP corrections.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// Creates a clock whose origin is now.
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// A clock that only moves when told to.
///
/// Clones share the same time, so a test can keep one clone and hand another (or an `Arc`) to
/// the table, then advance time without sleeping.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// Creates a clock that reads `start_ms` until it is advanced or set.
    pub fn new(start_ms: u64) -> ManualClock {
        ManualClock {
            now: Arc::new(AtomicU64::new(start_ms)),
        }
    }

    /// Moves time forward by `ms`, saturating at `u64::MAX`.
    pub fn advance(&self, ms: u64) {
        let _ = self
            .now
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(ms))
            });
    }

    /// Sets the current time; callers are responsible for keeping it monotonic.
    pub fn set(&self, ms: u64) {
        self.now.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_is_shared_between_clones() {
        let a = ManualClock::new(10);
        let b = a.clone();
        a.advance(5);
        assert_eq!(b.now_ms(), 15);
        b.set(100);
        assert_eq!(a.now_ms(), 100);
    }

    #[test]
    fn system_clock_is_monotonic() {
        let c = SystemClock::new();
        let t1 = c.now_ms();
        let t2 = c.now_ms();
        assert!(t2 >= t1);
    }
}
