//! Sampled LFU victim selection and TinyLFU admission for the main area.
//!
//! This file only chooses and compares: it must not remove or move entries. Frequencies come
//! from the shard's count-min sketch, looked up by key hash.

use super::{PolicyState, Victim};
use crate::entry::Slot;
use crate::expiry::LazyNow;

/// How many main-area slots an LFU victim search samples; more than LRU because the
/// admission decision compares against this victim, and a better victim admits more.
pub(crate) const MAIN_SAMPLES: usize = 16;

/// Chooses the sampled slot with the lowest estimated frequency (ties: least recently used),
/// or the first expired slot seen.
pub(crate) fn pick_victim(
    slots: &[Slot],
    state: &mut PolicyState,
    now: &mut LazyNow<'_>,
) -> Option<Victim> {
    let n = slots.len();
    if n == 0 {
        return None;
    }
    let exhaustive = n <= MAIN_SAMPLES;
    let rounds = if exhaustive { n } else { MAIN_SAMPLES };
    let mut best: Option<(usize, u8, u32)> = None;
    for r in 0..rounds {
        let idx = if exhaustive { r } else { state.rng.below(n) };
        let Some(slot) = slots.get(idx) else { continue };
        if slot.has_deadline() && now.expired(slot.expires_at()) {
            return Some(Victim { idx, expired: true });
        }
        let freq = state.frequency(slot.hash);
        let age = state.age(slot);
        let better = match best {
            None => true,
            Some((_, f, a)) => freq < f || (freq == f && age > a),
        };
        if better {
            best = Some((idx, freq, age));
        }
    }
    best.map(|(idx, _, _)| Victim {
        idx,
        expired: false,
    })
}

/// Decides whether a window candidate replaces the main-area victim.
///
/// The candidate must be strictly more frequent. As in Caffeine, a warm candidate (frequency
/// above 5) is admitted with a small probability anyway, so an attacker who inflates a victim's
/// counters through hash collisions cannot freeze the main area.
pub(crate) fn admit(state: &mut PolicyState, candidate_freq: u8, victim_freq: u8) -> bool {
    if candidate_freq > victim_freq {
        return true;
    }
    candidate_freq > 5 && state.rng.below(128) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use crate::eviction::Policy;

    #[test]
    fn picks_least_frequent() {
        let clock = ManualClock::new(0);
        let mut now = LazyNow::new(&clock);
        let mut state = PolicyState::new(Policy::Lfu, 100, 1);
        let slots: Vec<Slot> = (0u32..4)
            .map(|i| Slot::new(&[i as u8], b"", 0, 0, i * 77))
            .collect();
        for (i, times) in [(0u32, 5), (1, 1), (2, 9), (3, 3)] {
            for _ in 0..times {
                if let Some(s) = &mut state.sketch {
                    s.increment(i * 77);
                }
            }
        }
        let v = pick_victim(&slots, &mut state, &mut now);
        assert_eq!(
            v,
            Some(Victim {
                idx: 1,
                expired: false
            })
        );
        assert!(admit(&mut state, 3, 2));
        assert!(!admit(&mut state, 2, 2));
    }
}
