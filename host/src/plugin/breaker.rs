//! The circuit breaker that quarantines a plugin after repeated faults.
//!
//! A plugin that keeps trapping or timing out costs every caller a full
//! deadline and the host a fresh instance per call. After
//! `quarantine_after_faults` consecutive faults the breaker opens: calls fail
//! at once with `PluginError::Quarantined` until `quarantine_ms` has passed.
//! Then one call is let through (half-open): a success closes the breaker, a
//! fault opens it for another cool-down. Reloading the plugin starts a fresh
//! breaker. Pure bookkeeping: no clock of its own, no I/O.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Whether a call may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Closed, or half-open and this call is the probe.
    Allowed,
    /// Open: refuse, with the time left.
    Refused(Duration),
}

/// Consecutive-fault counter with a cool-down, shared by all calls of one plugin.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown_ms: u64,
    consecutive: AtomicU32,
    /// Milliseconds (on the caller's clock) until which calls are refused; 0 = closed.
    open_until_ms: AtomicU64,
    /// How many times the breaker opened.
    trips: AtomicU64,
}

impl Breaker {
    /// A closed breaker; `threshold` 0 disables quarantine.
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold,
            cooldown_ms: u64::try_from(cooldown.as_millis()).unwrap_or(u64::MAX),
            consecutive: AtomicU32::new(0),
            open_until_ms: AtomicU64::new(0),
            trips: AtomicU64::new(0),
        }
    }

    /// Asks before a call; the clock (`now_ms`) is read only while the
    /// breaker is open, so a healthy plugin's calls do not pay for it.
    pub(crate) fn admit(&self, now_ms: impl FnOnce() -> u64) -> Admission {
        let until = self.open_until_ms.load(Ordering::Acquire);
        if until == 0 {
            return Admission::Allowed;
        }
        let now_ms = now_ms();
        if now_ms < until {
            return Admission::Refused(Duration::from_millis(until - now_ms));
        }
        // Cool-down over: exactly one caller gets to probe; the others wait
        // another cool-down's worth while the probe runs.
        let reopen = now_ms.saturating_add(self.cooldown_ms);
        match self.open_until_ms.compare_exchange(
            until,
            reopen,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Admission::Allowed,
            Err(_) => Admission::Refused(Duration::from_millis(self.cooldown_ms)),
        }
    }

    /// Records a call that returned normally: the breaker closes.
    pub(crate) fn success(&self) {
        // Loads first: a store would take the line from the other workers'
        // caches on every call, though it almost never changes anything.
        if self.consecutive.load(Ordering::Relaxed) != 0 {
            self.consecutive.store(0, Ordering::Relaxed);
        }
        if self.open_until_ms.load(Ordering::Relaxed) != 0 {
            self.open_until_ms.store(0, Ordering::Release);
        }
    }

    /// Records a fault at time `now_ms`; returns true when this fault opened the breaker.
    pub(crate) fn fault(&self, now_ms: u64) -> bool {
        if self.threshold == 0 {
            return false;
        }
        let faults = self
            .consecutive
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        if faults >= self.threshold {
            self.open_until_ms.store(
                now_ms.saturating_add(self.cooldown_ms).max(1),
                Ordering::Release,
            );
            self.trips.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Whether calls are refused at `now_ms`.
    pub(crate) fn is_open(&self, now_ms: u64) -> bool {
        now_ms < self.open_until_ms.load(Ordering::Acquire)
    }

    /// Until when (on the caller's clock) calls are refused; 0 = closed.
    pub(crate) fn open_until_ms(&self) -> u64 {
        self.open_until_ms.load(Ordering::Acquire)
    }

    /// How many times the breaker has opened.
    pub(crate) fn trips(&self) -> u64 {
        self.trips.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_probes_after_the_cooldown() {
        let b = Breaker::new(3, Duration::from_millis(100));
        assert_eq!(b.admit(|| 0), Admission::Allowed);
        assert!(!b.fault(10));
        assert!(!b.fault(20));
        assert!(b.fault(30), "third consecutive fault opens");
        assert_eq!(
            b.admit(|| 50),
            Admission::Refused(Duration::from_millis(80))
        );
        assert!(b.is_open(129));
        // Cool-down over: one probe, the next caller is refused.
        assert_eq!(b.admit(|| 130), Admission::Allowed);
        assert!(matches!(b.admit(|| 131), Admission::Refused(_)));
        b.success();
        assert_eq!(b.admit(|| 132), Admission::Allowed);
        assert_eq!(b.trips(), 1);
    }

    #[test]
    fn a_success_resets_the_count() {
        let b = Breaker::new(2, Duration::from_millis(100));
        assert!(!b.fault(0));
        b.success();
        assert!(!b.fault(1), "count restarted");
        assert!(b.fault(2));
    }

    #[test]
    fn a_failed_probe_reopens() {
        let b = Breaker::new(1, Duration::from_millis(100));
        assert!(b.fault(0));
        assert_eq!(b.admit(|| 100), Admission::Allowed);
        assert!(b.fault(101));
        assert!(matches!(b.admit(|| 150), Admission::Refused(_)));
        assert_eq!(b.trips(), 2);
    }

    #[test]
    fn threshold_zero_never_opens() {
        let b = Breaker::new(0, Duration::from_millis(100));
        for t in 0..100 {
            assert!(!b.fault(t));
        }
        assert_eq!(b.admit(|| 100), Admission::Allowed);
    }
}
