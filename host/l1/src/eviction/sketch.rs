//! A count-min sketch of 4-bit counters with periodic halving (TinyLFU's frequency sketch).
//!
//! This file estimates how often a key hash was seen recently; it must not store keys or
//! decide evictions. Because it is indexed by hash rather than by entry, a key's frequency
//! survives the key's eviction, which is what lets LFU admission recognise a returning key.
//!
//! Each `u64` word holds sixteen 4-bit counters. A hash selects one 64-byte block and, inside
//! it, four counters; the estimate is the minimum of the four. After `sample_size` increments
//! every counter is halved, so old popularity fades.

const RESET_MASK: u64 = 0x7777_7777_7777_7777;

/// Approximate recent access counts of 32-bit key hashes, saturating at 15.
///
/// The four counters of a key live in one 64-byte block (eight words), as in Caffeine's
/// sketch, so recording or estimating a key costs one cache miss instead of four.
#[derive(Debug)]
pub(crate) struct Sketch {
    table: Vec<u64>,
    block_mask: u64,
    additions: u64,
    sample_size: u64,
}

impl Sketch {
    /// Sizes the sketch for a shard holding up to `capacity` entries: about sixteen counters
    /// per entry, and a halving period of ten times the capacity (as in Caffeine).
    pub(crate) fn new(capacity: usize) -> Sketch {
        let words = capacity.max(8).next_power_of_two();
        Sketch {
            table: vec![0; words],
            block_mask: (words / 8 - 1) as u64,
            additions: 0,
            sample_size: (capacity as u64).saturating_mul(32).max(16),
        }
    }

    /// The word index and bit shift of each of the four counters of `hash`.
    fn positions(&self, hash: u32) -> [(usize, u32); 4] {
        let h = u64::from(hash)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let h = h ^ (h >> 29);
        let block = (((h >> 32) & self.block_mask) * 8) as usize;
        let mut out = [(0usize, 0u32); 4];
        for (row, slot) in out.iter_mut().enumerate() {
            let bits = (h >> (row * 8)) as u32;
            *slot = (block + (bits & 7) as usize, ((bits >> 3) & 15) * 4);
        }
        out
    }

    /// Records one access of `hash` with a conservative update: only the counters equal to the
    /// current minimum are incremented, which sharply reduces over-estimation from collisions.
    pub(crate) fn increment(&mut self, hash: u32) {
        let pos = self.positions(hash);
        let min = self.min_of(&pos);
        if min >= 15 {
            return;
        }
        for (w, shift) in pos {
            if let Some(word) = self.table.get_mut(w)
                && (*word >> shift) & 15 == min
            {
                *word += 1 << shift;
            }
        }
        self.additions += 1;
        if self.additions >= self.sample_size {
            self.halve();
        }
    }

    fn min_of(&self, pos: &[(usize, u32); 4]) -> u64 {
        pos.iter()
            .map(|&(w, shift)| self.table.get(w).map_or(0, |word| (word >> shift) & 15))
            .min()
            .unwrap_or(0)
    }

    /// Estimates how many times `hash` was recorded recently (0..=15).
    pub(crate) fn estimate(&self, hash: u32) -> u8 {
        self.min_of(&self.positions(hash)) as u8
    }

    fn halve(&mut self) {
        for word in &mut self.table {
            *word = (*word >> 1) & RESET_MASK;
        }
        self.additions /= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_and_halve() {
        let mut s = Sketch::new(1000);
        for _ in 0..20 {
            s.increment(42);
        }
        assert_eq!(s.estimate(42), 15);
        assert!(s.estimate(43) <= 1);
        s.halve();
        assert_eq!(s.estimate(42), 7);
    }

    #[test]
    fn hot_beats_cold_after_many_additions() {
        let mut s = Sketch::new(64);
        for i in 0..10_000u64 {
            s.increment(7);
            s.increment((i as u32).wrapping_mul(0x2545_F491));
        }
        assert!(s.estimate(7) >= 5);
    }
}
