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
            Outcome::Hit(_) => "hit",
            Outcome::Miss => "miss",
            Outcome::Set => "set",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Invalidated { .. } => "invalidated",
            Outcome::PartiallyInvalidated { .. } => "partially-invalidated",
            Outcome::Fallback { .. } => "fallback",
        }
    }
}
