//! How much table work invalidations may cause: a per-event cap and a per-tenant allowance
//! that refills over time (a token bucket of steps), so neither one hostile answer nor a stream
//! of them can keep the host scanning. Steps are counted by `hoard_l1` (one per key looked at
//! plus glob word operations), so the cost of an answer does not depend on machine speed.
//!
//! Figures (see README, sandbox section, and `bench/invalidation.sh`): a step is of the order of
//! a nanosecond, so the per-event default bounds one event's table work to tens of
//! milliseconds, and the tenant's refill to a fraction of one core.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hoard_l1::WorkBudget;
use parking_lot::Mutex;

/// Default cap on one event's table work, in steps.
pub const DEFAULT_PER_EVENT: u64 = 20_000_000;
/// Default tenant allowance refilled per second (also the most it can save up), in steps.
pub const DEFAULT_PER_SECOND: u64 = 100_000_000;

/// One tenant's invalidation allowance and counters; shared by every catalog snapshot of it.
#[derive(Debug)]
pub struct InvalidationBudget {
    per_event: u64,
    per_second: u64,
    bucket: Mutex<Bucket>,
    steps: AtomicU64,
    fallbacks: AtomicU64,
}

#[derive(Debug)]
struct Bucket {
    tokens: u64,
    refilled: Instant,
}

/// What the counters say, for `INFO`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BudgetCounters {
    /// Steps spent on invalidation so far.
    pub steps: u64,
    /// Events whose work ran over and cleared caches instead.
    pub fallbacks: u64,
}

impl Default for InvalidationBudget {
    fn default() -> Self {
        Self::new(DEFAULT_PER_EVENT, DEFAULT_PER_SECOND)
    }
}

impl InvalidationBudget {
    /// A budget of `per_event` steps per event, within `per_second` steps per second.
    pub fn new(per_event: u64, per_second: u64) -> Self {
        Self {
            per_event,
            per_second,
            bucket: Mutex::new(Bucket {
                tokens: per_second,
                refilled: Instant::now(),
            }),
            steps: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
        }
    }

    /// The work one event may do now: the per-event cap or what the tenant has left,
    /// whichever is smaller.
    pub fn for_event(&self) -> WorkBudget {
        let mut bucket = self.bucket.lock();
        let elapsed = bucket.refilled.elapsed();
        let refill = (elapsed.as_secs_f64() * self.per_second as f64) as u64;
        if refill > 0 {
            bucket.tokens = bucket.tokens.saturating_add(refill).min(self.per_second);
            bucket.refilled = Instant::now();
        }
        // A small floor keeps exact-key answers working while the tenant refills; anything
        // larger falls back to clearing.
        let floor = self.per_event / 100;
        WorkBudget::new(self.per_event.min(bucket.tokens.max(floor)))
    }

    /// Takes what an event spent from the tenant's allowance and counts it.
    pub fn settle(&self, work: &WorkBudget, fell_back: bool) {
        let spent = work.spent();
        {
            let mut bucket = self.bucket.lock();
            bucket.tokens = bucket.tokens.saturating_sub(spent);
        }
        self.steps.fetch_add(spent, Ordering::Relaxed);
        if fell_back {
            self.fallbacks.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counters so far.
    pub fn counters(&self) -> BudgetCounters {
        BudgetCounters {
            steps: self.steps.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_gets_the_smaller_of_its_cap_and_the_tenant_allowance() {
        let budget = InvalidationBudget::new(100, 1_000_000);
        assert_eq!(budget.for_event().left(), 100);
        let mut work = WorkBudget::new(u64::MAX);
        work.charge(999_950);
        budget.settle(&work, true);
        assert!(budget.for_event().left() <= 100);
        assert!(budget.for_event().left() >= 50);
        assert_eq!(
            budget.counters(),
            BudgetCounters {
                steps: 999_950,
                fallbacks: 1
            }
        );
        let mut all = WorkBudget::new(u64::MAX);
        all.charge(10_000_000);
        budget.settle(&all, false);
        assert!(
            budget.for_event().left() < 100,
            "an exhausted tenant gets less than the per-event cap until it refills"
        );
    }
}
