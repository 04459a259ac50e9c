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
