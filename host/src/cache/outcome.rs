//! Typed results of cache operations, mirroring the envelope codes of the
//! design (Hit, Miss, Set, Rejected, Invalidated, PartiallyInvalidated), so
//! that replies and metrics are decided by a `match`, not by strings.

use std::collections::BTreeMap;

/// What a cache operation did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The entry was there; the value is MessagePack.
    Hit(Vec<u8>),
    /// No live entry.
    Miss,
    /// The value was stored.
    Set,
    /// The value reached L1 but not L2 (Redis away or slow); it is queued
    /// and will be written to L2 when Redis is back.
    PartialSet {
        /// Why L2 did not take it.
        reason: String,
    },
    /// The plugin (or a host rule such as allow-null) refused the value; nothing was stored.
    Rejected {
        /// One sentence per reason.
        errors: Vec<String>,
    },
    /// Entries were removed; `per_cache` says where.
    Invalidated {
        /// Entries removed in all.
        count: u64,
        /// Entries removed per cache name.
        per_cache: BTreeMap<String, u64>,
    },
    /// Some caches were invalidated, others failed to answer.
    PartiallyInvalidated {
        /// Entries removed in all.
        count: u64,
        /// Entries removed per cache name.
        per_cache: BTreeMap<String, u64>,
        /// Cache name and why it could not be invalidated.
        failures: Vec<(String, String)>,
    },
}

impl Outcome {
    /// The envelope code, for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Hit(_) => "hit",
            Outcome::Miss => "miss",
            Outcome::Set => "set",
            Outcome::PartialSet { .. } => "partial-set",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Invalidated { .. } => "invalidated",
            Outcome::PartiallyInvalidated { .. } => "partially-invalidated",
        }
    }
}

/// Which level answered a read, for `CACHE.GETMETA` and the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// This node's memory.
    L1,
    /// The shared Redis (the value was promoted into L1).
    L2,
    /// An L1 entry past its freshness, served because L2 could not answer
    /// (fail-safe).
    Stale,
    /// Neither level had it.
    None,
}

impl Level {
    /// The name shown to clients.
    pub fn name(self) -> &'static str {
        match self {
            Level::L1 => "l1",
            Level::L2 => "l2",
            Level::Stale => "stale",
            Level::None => "none",
        }
    }
}
