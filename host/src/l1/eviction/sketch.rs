//! A count-min sketch of 4-bit counters with periodic halving (TinyLFU's frequency sketch).
//!
//! This file estimates how often a key hash was seen recently; it must not store keys or
//! decide evictions. Because it is indexed by hash rather than by entry, a key's frequency
//! survives the key's eviction, which is what lets LFU admission recognise a returning key.
//!
//! Each `u64` word holds sixteen 4-bit counters. A hash selects four words (one per row, from
//! independent re-mixes of the hash) and one counter in each; the estimate is the minimum of the
//! four. After `sample_size` increments every counter is halved, so old popularity fades.

const ROW_SEEDS: [u64; 4] = [
    0x9E37_79B9_7F4A_7C15,
    0xC2B2_AE3D_27D4_EB4F,
    0x1656_67B1_9E37_79F9,
    0xD6E8_FEB8_6659_FD93,
];
const RESET_MASK: u64 = 0x7777_7777_7777_7777;

/// Approximate recent access counts of key hashes, saturating at 15.
#[derive(Debug)]
pub(crate) struct Sketch {
    table: Vec<u64>,
    mask: usize,
    additions: u64,
    sample_size: u64,
}

impl Sketch {
    /// Sizes the sketch for a shard holding up to `capacity` entries: about eight counters per
    /// entry, and a halving period of ten times the capacity (as in Caffeine).
    pub(crate) fn new(capacity: usize) -> Sketch {
        let words = capacity.max(8).next_power_of_two();
        Sketch {
            table: vec![0; words],
            mask: words - 1,
            additions: 0,
            sample_size: (capacity as u64).saturating_mul(10).max(16),
        }
    }

    fn position(&self, hash: u64, row: usize) -> (usize, u32) {
        let seed = ROW_SEEDS.get(row).copied().unwrap_or(ROW_SEEDS[0]);
        let h = (hash ^ (hash >> 29)).wrapping_mul(seed);
        let h = h ^ (h >> 32);
        let word = (h as usize) & self.mask;
        let nibble = ((h >> 48) & 15) as u32;
        (word, nibble * 4)
    }

    /// Records one access of `hash` with a conservative update: only the counters equal to the
    /// current minimum are incremented, which sharply reduces over-estimation from collisions.
    pub(crate) fn increment(&mut self, hash: u64) {
        let min = self.estimate(hash);
        if min >= 15 {
            return;
        }
        for row in 0..4 {
            let (w, shift) = self.position(hash, row);
            if let Some(word) = self.table.get_mut(w)
                && u8::try_from((*word >> shift) & 15).unwrap_or(15) == min
            {
                *word += 1 << shift;
            }
        }
        self.additions += 1;
        if self.additions >= self.sample_size {
            self.halve();
        }
    }

    /// Estimates how many times `hash` was recorded recently (0..=15).
    pub(crate) fn estimate(&self, hash: u64) -> u8 {
        let mut min = 15u64;
        for row in 0..4 {
            let (w, shift) = self.position(hash, row);
            let c = self.table.get(w).map_or(0, |word| (word >> shift) & 15);
            min = min.min(c);
        }
        min as u8
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
            s.increment(i.wrapping_mul(0x2545_F491_4F6C_DD1D));
        }
        assert!(s.estimate(7) >= 5);
    }
}
