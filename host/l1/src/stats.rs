//! Counters describing a table's activity and contents.
//!
//! This file only holds and adds numbers; it must not lock or inspect entries. Each shard keeps
//! its own counters under its lock, and `Table::stats` sums them, so counting costs no atomic
//! contention on the hot path.

/// A snapshot of a table's counters, summed over shards.
///
/// These feed Redis `INFO`-style reporting and hit-ratio monitoring of each cache.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Reads that found a live entry.
    pub hits: u64,
    /// Reads that found nothing (including entries found expired).
    pub misses: u64,
    /// Writes that stored a value.
    pub sets: u64,
    /// Entries removed to respect `max_items`.
    pub evictions: u64,
    /// Entries removed because their deadline passed (lazily, by sweep, or while evicting).
    pub expirations: u64,
    /// Entries currently stored (some may be expired and not yet reclaimed).
    pub items: u64,
    /// Sum of key and value lengths of the stored entries.
    pub bytes: u64,
}

impl TableStats {
    /// Adds another shard's counters to these.
    pub(crate) fn add(&mut self, o: &TableStats) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.sets += o.sets;
        self.evictions += o.evictions;
        self.expirations += o.expirations;
        self.items += o.items;
        self.bytes += o.bytes;
    }
}
