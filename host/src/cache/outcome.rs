//! Typed results, one per cache operation, so that a command matches exactly
//! the answers its operation can give and replies and metrics are decided by
//! a `match`, not by strings. Failures are [`CacheError`](super::error::CacheError).

use std::collections::BTreeMap;

/// What a lookup found (`CACHE.GET`).
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// The entry was there; the value is MessagePack.
    Hit(Vec<u8>),
    /// No live entry.
    Miss,
}

/// What a store did (`CACHE.SET`, `CACHE.PSETEX`).
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// The value was stored.
    Stored,
    /// The value reached L1 but not L2 (Redis away or slow); it is queued
    /// and will be written to L2 when Redis is back.
    Partial {
        /// Why L2 did not take it.
        reason: String,
    },
    /// The plugin (or a host rule such as allow-null) refused the value;
    /// nothing was stored.
    Rejected {
        /// One sentence per reason, never empty.
        errors: Vec<String>,
    },
}

/// Whether a value would be stored (`CACHE.VALIDATE`), without storing it.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// It would be stored.
    Accepted,
    /// It would be refused, for these reasons (never empty).
    Refused(Vec<String>),
}

/// What an invalidation removed (`CACHE.EVENT`).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
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
    /// The table work the answers asked for ran over its budget, so the caches in `cleared`
    /// were emptied instead: more than asked, never less.
    Fallback {
        /// Entries removed in all.
        count: u64,
        /// Entries removed per cache name.
        per_cache: BTreeMap<String, u64>,
        /// Cache name and why it could not be invalidated.
        failures: Vec<(String, String)>,
        /// Caches cleared entirely because the budget ran out.
        cleared: Vec<String>,
    },
}

impl Outcome {
    /// The envelope code, for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Invalidated { .. } => "invalidated",
            Outcome::PartiallyInvalidated { .. } => "partially-invalidated",
            Outcome::Fallback { .. } => "fallback",
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
