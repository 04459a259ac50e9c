//! Eviction policies: which entry leaves a full shard, and the bookkeeping they need.
//!
//! This module decides; it never removes anything itself and must not touch the hash index or
//! the key index. The shard asks it for a victim (an index into a slice of slots) and performs
//! the removal.
//!
//! # The approximation
//!
//! Like Redis's `allkeys-lru`/`allkeys-lfu`, neither policy keeps an exact ordering. Instead the
//! shard samples a few random slots of its dense slab and evicts the worst of the sample,
//! always preferring an already-expired sample (which is then counted as an expiration):
//!
//! * [`Policy::Lru`] ([`lru`]): evicts the sampled entry with the oldest access tick (a per-shard
//!   counter bumped on every access, stored in the slot). With 8 samples this is close to true
//!   LRU on skewed workloads and costs no list pointers per entry.
//! * [`Policy::Lfu`] ([`lfu`]): a sampled variant of W-TinyLFU. New entries go into a small
//!   *window* area (about 1 % of the shard), so a freshly written entry is always readable. When
//!   the window overflows, its oldest entry becomes a candidate for the *main* area, where it
//!   competes with the sampled main entry of lowest estimated frequency; the frequencies come
//!   from a count-min sketch of 4-bit counters with periodic halving ([`sketch`]), so popularity
//!   survives eviction. The less frequent of the two is evicted. This keeps one-hit wonders from
//!   displacing the hot set, which plain sampled LFU cannot do.

pub(crate) mod lfu;
pub(crate) mod lru;
pub(crate) mod sketch;

use crate::entry::Slot;
use sketch::Sketch;

/// Which entries a full table gives up first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Policy {
    /// Approximated least-recently-used: good for recency-driven workloads and scans of a
    /// working set that fits.
    Lru,
    /// Approximated least-frequently-used with TinyLFU admission: best hit ratio on skewed
    /// (Zipf-like) workloads typical of caches.
    #[default]
    Lfu,
}

/// Access ticks are 31 bits wide (one bit of the slot's policy word flags a deadline).
const TICK_MASK: u32 = u32::MAX >> 1;

/// How many random slots a victim search looks at.
pub(crate) const SAMPLES: usize = 8;

/// Up to this many window slots are scanned exhaustively when picking the window's oldest.
pub(crate) const WINDOW_SAMPLES: usize = 128;

/// A slot chosen for removal, and whether it was already expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Victim {
    /// Index into the slice the victim was sampled from.
    pub(crate) idx: usize,
    /// True when the victim's deadline has passed (count it as an expiration, not eviction).
    pub(crate) expired: bool,
}

/// A tiny xorshift64* generator: sampling needs speed and determinism, not cryptography.
#[derive(Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    /// Seeds the generator; a zero seed is replaced because xorshift would stay at zero.
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x2545_F491_4F6C_DD1D
        } else {
            seed
        })
    }

    /// Returns the next pseudo-random number.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Returns a number in `0..n`; `n` must be non-zero.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 32).wrapping_mul(n as u64) >> 32) as usize
    }
}

/// Per-shard policy state: the access tick, the sampling RNG and (for LFU) the sketch.
#[derive(Debug)]
pub(crate) struct PolicyState {
    pub(crate) tick: u32,
    pub(crate) rng: Rng,
    pub(crate) sketch: Option<Sketch>,
}

impl PolicyState {
    /// Creates the state for a shard of `capacity` entries (`0` = unbounded, which never
    /// evicts and therefore keeps no sketch).
    pub(crate) fn new(policy: Policy, capacity: usize, seed: u64) -> PolicyState {
        let sketch = (policy == Policy::Lfu && capacity > 0).then(|| Sketch::new(capacity));
        PolicyState {
            tick: 0,
            rng: Rng::new(seed),
            sketch,
        }
    }

    /// Records a hit or a write of `slot`.
    pub(crate) fn touch(&mut self, slot: &mut Slot) {
        self.tick = self.tick.wrapping_add(1) & TICK_MASK;
        slot.set_tick(self.tick);
        if let Some(s) = &mut self.sketch {
            s.increment(slot.hash);
        }
    }

    /// How many accesses ago `slot` was last touched.
    pub(crate) fn age(&self, slot: &Slot) -> u32 {
        self.tick.wrapping_sub(slot.tick()) & TICK_MASK
    }

    /// The estimated recent frequency of a key hash (0 when there is no sketch).
    pub(crate) fn frequency(&self, hash: u32) -> u8 {
        self.sketch.as_ref().map_or(0, |s| s.estimate(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_below_stays_in_range_and_is_deterministic() {
        let mut a = Rng::new(1);
        let mut b = Rng::new(1);
        for n in 1..200usize {
            let x = a.below(n);
            assert!(x < n);
            assert_eq!(x, b.below(n));
        }
        assert_ne!(Rng::new(0).next_u64(), 0);
    }
}
