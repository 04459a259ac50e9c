//! Sampled LRU victim selection (Redis's approximated LRU).
//!
//! This file only chooses: it must not remove entries. It is also used to pick the oldest
//! entry of the LFU window, which is a small recency-ordered area.

use super::{Rng, Victim};
use crate::l1::entry::Slot;
use crate::l1::expiry::LazyNow;

/// Chooses the least recently used of `samples` random slots, or the first expired one seen.
///
/// Slices no longer than `samples` are scanned completely, so small areas get exact LRU.
/// Ages are measured as `tick - meta` with wrapping arithmetic, so the 32-bit tick may wrap.
pub(crate) fn pick_victim(
    slots: &[Slot],
    tick: u32,
    samples: usize,
    rng: &mut Rng,
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
        let idx = if exhaustive { r } else { rng.below(n) };
        let Some(slot) = slots.get(idx) else { continue };
        if now.expired(slot.expires_at()) {
            return Some(Victim { idx, expired: true });
        }
        let age = tick.wrapping_sub(slot.meta);
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
    use crate::l1::ManualClock;

    #[test]
    fn picks_oldest_in_small_slices_and_expired_first() {
        let clock = ManualClock::new(100);
        let mut now = LazyNow::new(&clock);
        let mut rng = Rng::new(3);
        let slots = vec![
            Slot::new(b"a", b"", 0, 0, 10),
            Slot::new(b"b", b"", 0, 0, 5),
            Slot::new(b"c", b"", 0, 0, 20),
        ];
        let v = pick_victim(&slots, 30, 8, &mut rng, &mut now);
        assert_eq!(
            v,
            Some(Victim {
                idx: 1,
                expired: false
            })
        );
        let slots = vec![
            Slot::new(b"a", b"", 0, 0, 1),
            Slot::new(b"b", b"", 50, 0, 29),
        ];
        let v = pick_victim(&slots, 30, 8, &mut rng, &mut now);
        assert_eq!(
            v,
            Some(Victim {
                idx: 1,
                expired: true
            })
        );
        assert_eq!(pick_victim(&[], 0, 8, &mut rng, &mut now), None);
    }
}
