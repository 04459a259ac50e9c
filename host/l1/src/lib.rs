//! L1: hoard's in-memory store of opaque byte keys and values.
//!
//! This module does no I/O, no async, no wasm and no logging. It offers a sharded [`Table`]
//! with Redis-like semantics (conditional `SET`, TTLs, `KEYS`-style globs), bounded size with
//! approximated LRU or LFU eviction, and lazy plus budgeted background expiry.
//!
//! Where to look: `table.rs` (public type, sharding), `shard.rs` (per-shard semantics) and
//! `shard/scan.rs` (pattern scans, sweeps), `slab.rs` (storage and hash index), `entry.rs`
//! (entry layout), `expiry.rs`, `clock.rs`, `eviction/` (`lru.rs`, `lfu.rs`, `sketch.rs`),
//! `glob.rs`, `pattern_set.rs` (one removal's keys, patterns and work budget), `key_index.rs`,
//! `stats.rs`; table-level tests are in `tests.rs`.

mod clock;
mod entry;
mod eviction;
mod expiry;
mod glob;
mod key_index;
mod observer;
mod pattern_set;
mod shard;
mod slab;
mod stats;
mod table;
mod typed;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_typed;

pub use clock::{Clock, ManualClock, SystemClock};
pub use eviction::Policy;
pub use expiry::ExpiryMode;
pub use glob::Glob;
pub use observer::KeyObserver;
pub use pattern_set::{OverBudget, PatternSet, WorkBudget};
pub use shard::{Found, TtlChange, Write};
pub use stats::TableStats;
pub use table::{InsertResult, SetCondition, Table, TableConfig, Ttl};
pub use typed::{HashFields, Kind};
