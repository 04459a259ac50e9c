//! A circuit breaker for L2 calls: after `failures` consecutive failures it
//! opens and refuses calls for `open_for`, then lets one trial call through
//! (half-open); a success closes it. While open, reads answer from L1 (or
//! stale) at once instead of each waiting out a timeout.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Closed, open or half-open, for `INFO`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls flow.
    Closed,
    /// Calls are refused until the cool-down ends.
    Open,
    /// One trial call is allowed.
    HalfOpen,
}

impl BreakerState {
    /// The name shown in `INFO`.
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

/// The breaker. Lock-free: a failure count and the instant it opened.
pub struct Breaker {
    threshold: u32,
    open_for: Duration,
    epoch: Instant,
    failures: AtomicU32,
    /// Micros since `epoch` when it opened; 0 = closed.
    opened_at: AtomicU64,
    /// Micros since `epoch` when the current trial started; 0 = none.
    trial_at: AtomicU64,
    opens: AtomicU64,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            open_for,
            epoch: Instant::now(),
            failures: AtomicU32::new(0),
            opened_at: AtomicU64::new(0),
            trial_at: AtomicU64::new(0),
            opens: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// The state now.
    pub fn state(&self) -> BreakerState {
        self.state_at(self.now())
    }

    fn state_at(&self, now: u64) -> BreakerState {
        let opened = self.opened_at.load(Ordering::Acquire);
        if opened == 0 {
            BreakerState::Closed
        } else if now.saturating_sub(opened) < self.open_for.as_micros() as u64 {
            BreakerState::Open
        } else {
            BreakerState::HalfOpen
        }
    }

    /// Whether a call may go out now. In half-open state only one caller
    /// per cool-down gets `true`.
    pub fn allow(&self) -> bool {
        self.allow_at(self.now())
    }

    fn allow_at(&self, now: u64) -> bool {
        match self.state_at(now) {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => {
                let trial = self.trial_at.load(Ordering::Acquire);
                let stale_trial =
                    trial == 0 || now.saturating_sub(trial) >= self.open_for.as_micros() as u64;
                stale_trial
                    && self
                        .trial_at
                        .compare_exchange(trial, now, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
            }
        }
    }

    /// A call succeeded: close.
    pub fn success(&self) {
        self.failures.store(0, Ordering::Release);
        self.opened_at.store(0, Ordering::Release);
        self.trial_at.store(0, Ordering::Release);
    }

    /// A call failed: count it, and open (or re-open) at the threshold.
    pub fn failure(&self) {
        let failures = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        if failures >= self.threshold {
            if self.opened_at.swap(self.now(), Ordering::AcqRel) == 0 {
                self.opens.fetch_add(1, Ordering::Relaxed);
            }
            self.trial_at.store(0, Ordering::Release);
        }
    }

    /// How many times it opened.
    pub fn opens(&self) -> u64 {
        self.opens.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_at_the_threshold_and_a_success_closes_it() {
        let breaker = Breaker::new(3, Duration::from_secs(3600));
        breaker.failure();
        breaker.failure();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.allow());
        breaker.failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow());
        assert_eq!(breaker.opens(), 1);
        breaker.success();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn half_open_lets_exactly_one_trial_through_per_cool_down() {
        let breaker = Breaker::new(1, Duration::from_millis(10));
        breaker.failure();
        let opened = breaker.opened_at.load(Ordering::Acquire);
        assert!(!breaker.allow_at(opened + 5_000), "still cooling down");
        let later = opened + 10_000;
        assert_eq!(breaker.state_at(later), BreakerState::HalfOpen);
        assert!(breaker.allow_at(later), "the trial");
        assert!(!breaker.allow_at(later + 1), "only one trial at a time");
        // A trial that never reported frees the slot after another cool-down.
        assert!(breaker.allow_at(later + 10_000));
    }
}
