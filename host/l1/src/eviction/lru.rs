//! Sampled LRU victim selection (Redis's approximated LRU).
//!
//! This file only chooses: it must not remove entries. It is also used to pick the oldest
//! entry of the LFU window, which is a small recency-ordered area.

use super::{PolicyState, Victim};
use crate::entry::Slot;
use crate::expiry::LazyNow;

/// Chooses the least recently used of `samples` random slots, or the first expired one seen.
///
/// Slices no longer than `samples` are scanned completely, so small areas get exact LRU.
/// Ages are measured with wrapping arithmetic, so the 31-bit access tick may wrap.
pub(crate) fn pick_victim(
    slots: &[Slot],
    state: &mut PolicyState,
    samples: usize,
    now: &mut LazyNow<'_>,
) -> Option<Victim> {
    let n = slots.len();
    if n == 0 {
        return None;
    }
    let exhaustive = n <= samples;
    let rounds = if exhaustive { n } else { samples };
    let mut best: Option<(usize, u32)> = None;
    for r in 0..rounds {
        let idx = if exhaustive { r } else { state.rng.below(n) };
        let Some(slot) = slots.get(idx) else { continue };
        if slot.has_deadline() && now.expired(slot.expires_at()) {
            return Some(Victim { idx, expired: true });
        }
        let age = state.age(slot);
        if best.is_none_or(|(_, a)| age > a) {
            best = Some((idx, age));
        }
    }
    best.map(|(idx, _)| Victim {
        idx,
        expired: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use crate::eviction::Policy;

    #[test]
    fn picks_oldest_in_small_slices_and_expired_first() {
        let clock = ManualClock::new(100);
        let mut now = LazyNow::new(&clock);
        let mut state = PolicyState::new(Policy::Lru, 10, 3);
        let slot = |key: &[u8], deadline: u64, tick: u32| {
            let mut s = Slot::new(key, b"", deadline, 0, 0);
            s.set_tick(tick);
            s
        };
        state.tick = 30;
        let slots = vec![slot(b"a", 0, 10), slot(b"b", 0, 5), slot(b"c", 0, 20)];
        let v = pick_victim(&slots, &mut state, 8, &mut now);
        assert_eq!(
            v,
            Some(Victim {
                idx: 1,
                expired: false
            })
        );
        let slots = vec![slot(b"a", 0, 1), slot(b"b", 50, 29)];
        let v = pick_victim(&slots, &mut state, 8, &mut now);
        assert_eq!(
            v,
            Some(Victim {
                idx: 1,
                expired: true
            })
        );
        assert_eq!(pick_victim(&[], &mut state, 8, &mut now), None);
    }
}
