//! The public, sharded, thread-safe table.
//!
//! This file picks a shard by key hash, takes that shard's lock for one operation, and sums or
//! iterates over shards for table-wide operations. It must not contain per-entry logic (that is
//! in `shard`) and must never hold two shard locks at once.

use crate::clock::Clock;
use crate::eviction::Policy;
use crate::expiry::{ExpiryMode, LazyNow};
use crate::glob::Glob;
use crate::observer::{KeyObserver, Observer};
use crate::pattern_set::{OverBudget, PatternSet, WorkBudget};
use crate::shard::{Found, ScanPos, Shard, Write};
use crate::stats::TableStats;
use crate::typed::Kind;
use foldhash::fast::RandomState;
use parking_lot::Mutex;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Below this many entries per shard, a bounded table uses fewer shards, so that per-shard
/// capacities stay meaningful (a 10-item table is one shard holding 10, not 16 holding 0 or 1).
const MIN_ITEMS_PER_SHARD: u64 = 256;

/// How a table is sized and which policies it applies.
#[derive(Clone, Debug)]
pub struct TableConfig {
    /// Maximum number of entries; `0` means unbounded. Capacity is split evenly over shards,
    /// which keeps `len() <= max_items` without any global counter.
    pub max_items: u64,
    /// Which entries are evicted when the table is full.
    pub policy: Policy,
    /// Whether TTLs are absolute or refreshed by reads.
    pub expiry: ExpiryMode,
    /// Number of shards; `0` picks the next power of two at or above four times the available
    /// parallelism, and at least 16. Other values are rounded up to a power of two, and bounded
    /// tables use fewer shards when each would hold fewer than 256 entries.
    pub shards: usize,
    /// Keep an ordered key index per shard, so that patterns with a literal prefix are answered
    /// by a range scan instead of a full scan (at the cost of storing keys twice).
    pub index_keys: bool,
}

impl Default for TableConfig {
    fn default() -> Self {
        TableConfig {
            max_items: 0,
            policy: Policy::Lfu,
            expiry: ExpiryMode::Absolute,
            shards: 0,
            index_keys: false,
        }
    }
}

/// When a write should happen, mirroring Redis `SET` flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetCondition {
    /// Always write (plain `SET`).
    Always,
    /// Write only if no live entry exists (`SET NX`).
    IfAbsent,
    /// Write only if a live entry exists (`SET XX`).
    IfPresent,
}

/// What a conditional write did, so the front end can answer `OK` or nil.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertResult {
    /// A new entry was created.
    Inserted,
    /// A live entry's value (and TTL) was replaced.
    Replaced,
    /// The `SetCondition` was not met; nothing changed.
    ConditionNotMet,
}

/// The TTL state of a key, as `TTL`/`PTTL` report it (-2, -1, or milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ttl {
    /// No live entry.
    Missing,
    /// The entry never expires.
    Persistent,
    /// The entry expires in this many milliseconds.
    RemainingMs(u64),
}

/// Keys looked at per shard lock in a pattern removal: the lock is released between slices so
/// requests on that shard wait for one slice at most, never for a whole removal.
const REMOVAL_SLICE: usize = 256;

/// A sharded in-memory map from byte keys to byte values with TTLs and bounded size.
///
/// Each shard sits behind its own mutex and every operation locks exactly one shard (table-wide
/// operations visit shards one by one), so many tasks can use one `Arc<Table>` concurrently.
pub struct Table {
    shards: Box<[Mutex<Shard>]>,
    mask: usize,
    hasher: RandomState,
    clock: Arc<dyn Clock>,
    config: TableConfig,
    /// Where the next [`Table::evict`] starts, so quota eviction spreads over shards.
    evict_cursor: std::sync::atomic::AtomicUsize,
}

fn resolve_shards(config: &TableConfig) -> usize {
    let wanted = if config.shards == 0 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cores.saturating_mul(4).max(16)
    } else {
        config.shards
    };
    let mut n = wanted.clamp(1, 1 << 16).next_power_of_two();
    if config.max_items > 0 {
        while n > 1 && config.max_items / (n as u64) < MIN_ITEMS_PER_SHARD {
            n /= 2;
        }
    }
    n
}

impl Table {
    /// Creates an empty table; `config.shards` is replaced by the number actually used.
    pub fn new(config: TableConfig, clock: Arc<dyn Clock>) -> Table {
        let n = resolve_shards(&config);
        let config = TableConfig {
            shards: n,
            ..config
        };
        let hasher = RandomState::default();
        let per = config.max_items / n as u64;
        let extra = config.max_items % n as u64;
        let shards = (0..n)
            .map(|i| {
                let cap = per + u64::from((i as u64) < extra);
                let cap = usize::try_from(cap).unwrap_or(usize::MAX);
                let seed = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                Mutex::new(Shard::new(
                    cap,
                    config.policy,
                    config.expiry,
                    config.index_keys,
                    hasher,
                    seed,
                ))
            })
            .collect();
        Table {
            shards,
            mask: n - 1,
            hasher,
            clock,
            config,
            evict_cursor: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The configuration in force, with the resolved shard count.
    pub fn config(&self) -> &TableConfig {
        &self.config
    }

    fn shard(&self, key: &[u8]) -> (u64, &Mutex<Shard>) {
        let hash = self.hasher.hash_one(key);
        // The index uses the low bits and the top seven; the shard takes bits from the middle.
        let i = ((hash >> 32) as usize) & self.mask;
        // `i <= mask < shards.len()` and there is always at least one shard, so the fallback
        // to shard 0 is unreachable; it only avoids a panicking index.
        let shard = self.shards.get(i).unwrap_or_else(|| &self.shards[0]);
        (hash, shard)
    }

    /// Returns a copy of the live value, counting a hit or miss.
    ///
    /// Counts a hit or miss, expires lazily (an expired entry is removed, counted in
    /// expirations, and reported as a miss), refreshes the expiry of Sliding entries
    /// (expires_at = now + the entry's ttl), and records the access for the policy.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.get_with(key, <[u8]>::to_vec)
    }

    /// Same as [`Table::get`] but lends the value to `f` under the shard lock instead of
    /// copying it, so a caller that serialises straight into a socket buffer saves a copy.
    /// `f` must be quick and must not call back into this table.
    pub fn get_with<R>(&self, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let (hash, shard) = self.shard(key);
        let mut now = LazyNow::new(&*self.clock);
        shard.lock().get_with(hash, key, &mut now, f)
    }

    /// Stores a value if `cond` allows, with a TTL in milliseconds (`None` = never expires).
    ///
    /// Counts a set when stored. Evicts (by policy) when `max_items` would be exceeded; the
    /// entry just written is always readable right after (Redis semantics), so admission never
    /// rejects the new entry. A zero TTL is treated as 1 ms for the same reason.
    pub fn insert(
        &self,
        key: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        cond: SetCondition,
    ) -> InsertResult {
        let (hash, shard) = self.shard(key);
        let mut now = LazyNow::new(&*self.clock);
        shard
            .lock()
            .insert(hash, key, value, ttl_ms, cond, &mut now)
    }

    /// Deletes a key, returning whether a live entry was removed (`DEL`).
    pub fn remove(&self, key: &[u8]) -> bool {
        let (hash, shard) = self.shard(key);
        let mut now = LazyNow::new(&*self.clock);
        shard.lock().remove(hash, key, &mut now)
    }

    /// Tells whether a live entry exists (`EXISTS`), with lazy expiry but without counting a
    /// hit or miss, refreshing a sliding TTL, or informing the eviction policy.
    pub fn contains(&self, key: &[u8]) -> bool {
        let (hash, shard) = self.shard(key);
        let mut now = LazyNow::new(&*self.clock);
        shard.lock().contains(hash, key, &mut now)
    }

    /// Sets (`Some(ms)`, `EXPIRE`) or removes (`None`, `PERSIST`) the TTL of a live entry;
    /// returns false if there is none. `Some(0)` deletes the entry, like `EXPIRE key 0`.
    pub fn set_ttl(&self, key: &[u8], ttl_ms: Option<u64>) -> bool {
        let (hash, shard) = self.shard(key);
        let mut now = LazyNow::new(&*self.clock);
        shard.lock().set_ttl(hash, key, ttl_ms, &mut now)
    }

    /// The TTL state of a key (`TTL`/`PTTL`).
    pub fn ttl(&self, key: &[u8]) -> Ttl {
        let (hash, shard) = self.shard(key);
        let mut now = LazyNow::new(&*self.clock);
        shard.lock().ttl(hash, key, &mut now)
    }

    /// Number of stored entries; expired entries not yet reclaimed are included, as in Redis
    /// `DBSIZE`.
    pub fn len(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().len() as u64).sum()
    }

    /// True when no entries are stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every entry (`FLUSHDB`), returning how many were stored.
    pub fn clear(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().clear()).sum()
    }

    /// Live keys matching a pattern (`KEYS`), unordered.
    ///
    /// With `index_keys`, a pattern with a literal prefix (`user:42:*`) range-scans the ordered
    /// index; a pattern starting with a wildcard scans every key. A pattern without wildcards is
    /// a single lookup. Each shard is locked in turn, so the result is not an atomic snapshot.
    pub fn keys_matching(&self, pattern: &Glob) -> Vec<Vec<u8>> {
        if pattern.is_literal() {
            let key = pattern.literal_prefix();
            let (_, shard) = self.shard(key);
            let mut now = LazyNow::new(&*self.clock);
            return shard.lock().keys_matching(pattern, &mut now);
        }
        let mut out = Vec::new();
        for s in self.shards.iter() {
            let mut now = LazyNow::new(&*self.clock);
            out.extend(s.lock().keys_matching(pattern, &mut now));
        }
        out
    }

    /// Removes live keys matching a pattern, returning how many; same scanning as
    /// [`Table::keys_matching`].
    pub fn remove_matching(&self, pattern: &Glob) -> u64 {
        if pattern.is_literal() {
            return u64::from(self.remove(pattern.literal_prefix()));
        }
        let mut n = 0;
        for s in self.shards.iter() {
            let mut now = LazyNow::new(&*self.clock);
            n += s.lock().remove_matching(pattern, &mut now);
        }
        n
    }

    /// Removes every live entry `set` names, in one pass over the table for all its patterns,
    /// charging the work to `budget`; returns how many went.
    ///
    /// Exact keys are single lookups. With a key index, each disjoint literal-prefix range (or
    /// the whole index, when a pattern starts with a wildcard) is walked in slices of a few
    /// hundred keys, the shard lock dropped between slices. Without one, each shard is scanned
    /// under its lock once. When the budget runs out, the work stops and `OverBudget` says how
    /// much was already removed: the caller must then invalidate more (e.g. [`Table::clear`]),
    /// since some matching entries may remain.
    pub fn remove_matching_set(
        &self,
        set: &PatternSet,
        budget: &mut WorkBudget,
    ) -> Result<u64, OverBudget> {
        let mut removed = 0;
        for key in set.exact_keys() {
            if !budget.charge(1) {
                return Err(OverBudget { removed });
            }
            removed += u64::from(self.remove(key));
        }
        if set.glob_count() == 0 {
            return Ok(removed);
        }
        for shard in self.shards.iter() {
            if !shard.lock().is_indexed() {
                let mut now = LazyNow::new(&*self.clock);
                let end = shard.lock().remove_set_all(set, budget, &mut now);
                removed += end.removed;
                if end.exhausted {
                    return Err(OverBudget { removed });
                }
                continue;
            }
            for prefix in set.ranges() {
                let mut after: Option<Vec<u8>> = None;
                loop {
                    let mut now = LazyNow::new(&*self.clock);
                    let end = shard.lock().remove_set_slice(
                        set,
                        prefix,
                        after.as_deref(),
                        REMOVAL_SLICE,
                        budget,
                        &mut now,
                    );
                    removed += end.removed;
                    if end.exhausted {
                        return Err(OverBudget { removed });
                    }
                    match end.resume_after {
                        Some(key) => after = Some(key),
                        None => break,
                    }
                }
            }
        }
        Ok(removed)
    }

    /// Bounded background reclamation: looks at no more than `max_per_shard` entries per shard
    /// (a rotating cursor), removes the expired ones, and returns how many. Shards holding no
    /// entry with a TTL are skipped at no cost.
    pub fn sweep_expired(&self, max_per_shard: usize) -> u64 {
        let mut n = 0;
        for s in self.shards.iter() {
            let mut now = LazyNow::new(&*self.clock);
            n += s.lock().sweep_expired(max_per_shard, &mut now);
        }
        n
    }

    /// Evicts up to `count` entries by the table's policy, spread over the
    /// shards, regardless of `max_items`: a tenant over its byte or item
    /// quota sheds its own entries this way. Returns how many went.
    pub fn evict(&self, count: u64) -> u64 {
        let mut evicted = 0;
        let mut idle_rounds = 0;
        let shards = self.shards.len();
        let mut i = self
            .evict_cursor
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        while evicted < count && idle_rounds < shards {
            let mut now = LazyNow::new(&*self.clock);
            if let Some(shard) = self.shards.get(i % shards) {
                if shard.lock().evict_one(&mut now) {
                    evicted += 1;
                    idle_rounds = 0;
                } else {
                    idle_rounds += 1;
                }
            }
            i = i.wrapping_add(1);
        }
        evicted
    }

    /// Counters summed over shards (each shard read under its lock, one at a time).
    pub fn stats(&self) -> TableStats {
        let mut total = TableStats::default();
        for s in self.shards.iter() {
            total.add(&s.lock().stats());
        }
        total
    }

    /// Reads a value with its [`Kind`], counting a hit or miss like [`Table::get_with`]; the
    /// typed commands use it to answer `WRONGTYPE` without a second lookup.
    pub fn get_typed_with<R>(&self, key: &[u8], f: impl FnOnce(Kind, &[u8]) -> R) -> Option<R> {
        let (hash, shard) = self.shard(key);
        let mut now = LazyNow::new(&*self.clock);
        shard.lock().get_typed_with(hash, key, &mut now, f)
    }

    /// Atomic read-modify-write of one key: `decide` sees the live entry (if any) under the
    /// shard lock and returns the [`Write`] to apply and a result for the caller. Counters,
    /// `APPEND`, hashes and conditional expiry are built on it. Counts no hit or miss.
    /// `decide` must be quick and must not call back into this table.
    pub fn update<R>(&self, key: &[u8], decide: impl FnOnce(Option<Found<'_>>) -> (Write, R)) -> R {
        let (hash, shard) = self.shard(key);
        let mut now = LazyNow::new(&*self.clock);
        shard.lock().update(hash, key, &mut now, decide)
    }

    /// One page of a `SCAN` from `cursor` (`0` starts), visiting about `count` slots and
    /// handing each live key with its kind to `found`. Returns the next cursor, `0` when the
    /// iteration is complete. A key present for the whole iteration is reported at least once
    /// (see `shard/page.rs`); keys may be reported twice. An unknown cursor ends the iteration.
    ///
    /// The cursor packs the shard index (bits 32..), the area (bit 31) and the slots left in
    /// that area (bits 0..31), XOR the start position so that a fresh scan is cursor `0`.
    pub fn scan(&self, cursor: u64, count: usize, mut found: impl FnMut(&[u8], Kind)) -> u64 {
        const AREA_BIT: u64 = 1 << 31;
        const LEFT: u64 = AREA_BIT - 1;
        let raw = cursor ^ LEFT;
        let mut index = usize::try_from(raw >> 32).unwrap_or(usize::MAX);
        let mut pos = ScanPos {
            in_main: raw & AREA_BIT != 0,
            remaining: (raw & LEFT) as usize,
        };
        let mut budget = count.max(1);
        while let Some(shard) = self.shards.get(index) {
            let mut now = LazyNow::new(&*self.clock);
            let (next, visited) = shard.lock().scan_page(pos, budget, &mut now, &mut found);
            budget = budget.saturating_sub(visited.max(1));
            match next {
                Some(next) => pos = next,
                None => {
                    index += 1;
                    pos = ScanPos::START;
                }
            }
            if budget == 0 {
                break;
            }
        }
        if index >= self.shards.len() {
            return 0;
        }
        let raw = ((index as u64) << 32)
            | if pos.in_main { AREA_BIT } else { 0 }
            | (pos.remaining as u64).min(LEFT);
        raw ^ LEFT
    }

    /// The [`Table::scan`] cursor at the start of shard `index` (modulo the shard count), for
    /// a scan that starts somewhere random (`RANDOMKEY`).
    pub fn scan_cursor_at_shard(&self, index: usize) -> u64 {
        ((index % self.shards.len().max(1)) as u64) << 32
    }

    /// Installs the observer told about every key change of this table (see
    /// [`KeyObserver`]); replaces any previous one.
    pub fn observe(&self, observer: std::sync::Arc<dyn KeyObserver>) {
        for s in self.shards.iter() {
            s.lock().observer = Observer::new(std::sync::Arc::clone(&observer));
        }
    }
}
