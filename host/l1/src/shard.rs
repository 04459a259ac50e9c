//! One shard: its slab, policy state, optional key index and counters, and every operation
//! that runs under the shard's lock.
//!
//! This file applies table semantics to one shard (conditions, lazy expiry, sliding refresh,
//! eviction orchestration); it must not lock, pick shards or read the clock except through the
//! `LazyNow` it is given. Victims are chosen by `eviction`, storage is done by `slab`.

use crate::entry::Slot;
use crate::eviction::{self, Policy, PolicyState, lfu, lru};
use crate::expiry::{self, ExpiryMode, LazyNow};
use crate::key_index::KeyIndex;
use crate::observer::Observer;
use crate::slab::{Area, Loc, MAX_SLOTS, Slab};
use crate::stats::TableStats;
use crate::table::{InsertResult, SetCondition, Ttl};
use foldhash::fast::RandomState;

mod page;
mod scan;
mod update;

pub(crate) use page::ScanPos;
pub use update::{Found, TtlChange, Write};

/// Why an entry leaves the shard, which decides the counter it lands in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    Expired,
    Evicted,
    Removed,
}

/// The state behind one shard lock.
#[derive(Debug)]
pub(crate) struct Shard {
    slab: Slab,
    policy: PolicyState,
    mode: ExpiryMode,
    /// Entries allowed in the main area.
    main_cap: usize,
    /// Entries allowed in the LFU window (`0` = no window: new entries go to main).
    window_cap: usize,
    keys: Option<KeyIndex>,
    stats: TableStats,
    /// Entries that have a deadline; when zero, sweeping skips the shard.
    with_deadline: usize,
    cursor: usize,
    /// Told about every key change (`WATCH`, client-side caching).
    pub(crate) observer: Observer,
}

impl Shard {
    /// Stores a new slot (room already made): the policy's first touch, byte
    /// and deadline accounting, the key index, the admission area (the window
    /// when W-TinyLFU is on) and the change observer. Shared by `insert` and
    /// the read-modify-write path so the two cannot drift apart.
    pub(crate) fn admit(&mut self, hash: u64, key: &[u8], expires_at: u64, mut slot: Slot) {
        self.policy.touch(&mut slot);
        self.stats.bytes += slot.byte_len();
        if expires_at != 0 {
            self.with_deadline += 1;
        }
        if let Some(k) = &mut self.keys {
            k.insert(key);
        }
        let area = if self.window_cap > 0 {
            Area::Window
        } else {
            Area::Main
        };
        self.slab.push(hash, area, slot);
        self.observer.changed(key);
    }

    /// Creates a shard holding at most `capacity` entries (`0` = unbounded).
    pub(crate) fn new(
        capacity: usize,
        policy: Policy,
        mode: ExpiryMode,
        index_keys: bool,
        hasher: RandomState,
        seed: u64,
    ) -> Shard {
        let bounded = capacity > 0;
        let capacity = if bounded {
            capacity.min(MAX_SLOTS)
        } else {
            MAX_SLOTS
        };
        let window_cap = if bounded && policy == Policy::Lfu {
            (capacity / 100).max(1)
        } else {
            0
        };
        Shard {
            slab: Slab::new(hasher, capacity - window_cap),
            policy: PolicyState::new(policy, if bounded { capacity } else { 0 }, seed),
            mode,
            main_cap: capacity - window_cap,
            window_cap,
            keys: index_keys.then(KeyIndex::default),
            stats: TableStats::default(),
            with_deadline: 0,
            cursor: 0,
            observer: Observer::default(),
        }
    }

    /// Hashes a key the same way the table does.
    pub(crate) fn hash(&self, key: &[u8]) -> u64 {
        self.slab.hash(key)
    }

    fn remove_at(&mut self, loc: Loc, reason: Reason) -> bool {
        let Some(slot) = self.slab.remove(loc) else {
            return false;
        };
        self.stats.bytes = self.stats.bytes.saturating_sub(slot.byte_len());
        if slot.expires_at() != 0 {
            self.with_deadline = self.with_deadline.saturating_sub(1);
        }
        if let Some(k) = &mut self.keys {
            k.remove(slot.key());
        }
        self.observer.changed(slot.key());
        match reason {
            Reason::Expired => self.stats.expirations += 1,
            Reason::Evicted => self.stats.evictions += 1,
            Reason::Removed => {}
        }
        true
    }

    /// Finds a live entry, reclaiming it (as an expiration) if its deadline passed.
    fn find_live(&mut self, hash: u64, key: &[u8], now: &mut LazyNow<'_>) -> Option<Loc> {
        let loc = self.slab.find(hash, key)?;
        let expires_at = self.slab.get(loc)?.expires_at();
        if now.expired(expires_at) {
            self.remove_at(loc, Reason::Expired);
            return None;
        }
        Some(loc)
    }

    /// Reads a value: counts the hit or miss, refreshes sliding deadlines, records the access.
    pub(crate) fn get_with<R>(
        &mut self,
        hash: u64,
        key: &[u8],
        now: &mut LazyNow<'_>,
        f: impl FnOnce(&[u8]) -> R,
    ) -> Option<R> {
        let Some(loc) = self.find_live(hash, key, now) else {
            self.stats.misses += 1;
            return None;
        };
        self.stats.hits += 1;
        let sliding = self.mode == ExpiryMode::Sliding;
        let slot = self.slab.get_mut(loc)?;
        if sliding && slot.ttl() != 0 {
            slot.set_deadline(expiry::deadline(now.get(), slot.ttl()));
        }
        self.policy.touch(slot);
        Some(f(slot.value()))
    }

    /// Writes a value under a condition, evicting first if the shard is full.
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        key: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        cond: SetCondition,
        now: &mut LazyNow<'_>,
    ) -> InsertResult {
        let existing = self.find_live(hash, key, now);
        match (existing, cond) {
            (Some(_), SetCondition::IfAbsent) | (None, SetCondition::IfPresent) => {
                return InsertResult::ConditionNotMet;
            }
            _ => {}
        }
        // Zero TTLs are clamped to 1 ms so a value just written is always readable.
        let expires_at = ttl_ms.map_or(0, |t| expiry::deadline(now.get(), t.max(1)));
        let ttl = match self.mode {
            ExpiryMode::Sliding => ttl_ms.map_or(0, |t| t.max(1)),
            ExpiryMode::Absolute => 0,
        };
        self.stats.sets += 1;
        if let Some(loc) = existing {
            let Some(slot) = self.slab.get_mut(loc) else {
                return InsertResult::Replaced;
            };
            let had_deadline = slot.expires_at() != 0;
            self.stats.bytes = self.stats.bytes.saturating_sub(slot.byte_len());
            slot.replace(value, expires_at, ttl);
            slot.set_kind(crate::typed::Kind::String);
            self.stats.bytes += slot.byte_len();
            self.policy.touch(slot);
            self.adjust_deadline_count(had_deadline, expires_at != 0);
            self.observer.changed(key);
            return InsertResult::Replaced;
        }
        self.make_room(now);
        let slot = Slot::new(key, value, expires_at, ttl, hash as u32);
        self.admit(hash, key, expires_at, slot);
        InsertResult::Inserted
    }

    fn adjust_deadline_count(&mut self, had: bool, has: bool) {
        match (had, has) {
            (false, true) => self.with_deadline += 1,
            (true, false) => self.with_deadline = self.with_deadline.saturating_sub(1),
            _ => {}
        }
    }

    /// Frees one place for a new entry (in the window for LFU, in main for LRU) if needed.
    fn make_room(&mut self, now: &mut LazyNow<'_>) {
        if self.window_cap == 0 {
            if self.slab.area(Area::Main).len() < self.main_cap {
                return;
            }
            let main = self.slab.area(Area::Main);
            let picked = lru::pick_victim(main, &mut self.policy, eviction::SAMPLES, now);
            if let Some(v) = picked {
                self.evict(Loc::new(Area::Main, v.idx), v.expired);
            }
            return;
        }
        if self.slab.area(Area::Window).len() < self.window_cap {
            return;
        }
        // The window is full: its oldest entry must leave it, into main or out of the shard.
        let window = self.slab.area(Area::Window);
        let samples = eviction::WINDOW_SAMPLES;
        let Some(c) = lru::pick_victim(window, &mut self.policy, samples, now) else {
            return;
        };
        let cand = Loc::new(Area::Window, c.idx);
        if c.expired {
            self.evict(cand, true);
            return;
        }
        if self.slab.area(Area::Main).len() < self.main_cap {
            self.slab.move_to(cand, Area::Main);
            return;
        }
        let main = self.slab.area(Area::Main);
        let victim = lfu::pick_victim(main, &mut self.policy, now);
        let Some(v) = victim else {
            self.evict(cand, false);
            return;
        };
        let vloc = Loc::new(Area::Main, v.idx);
        if v.expired {
            self.evict(vloc, true);
            self.slab.move_to(cand, Area::Main);
            return;
        }
        let freq_of = |loc: Loc| {
            self.policy
                .frequency(self.slab.get(loc).map_or(0, |s| s.hash))
        };
        let (cf, vf) = (freq_of(cand), freq_of(vloc));
        if lfu::admit(&mut self.policy, cf, vf) {
            self.evict(vloc, false);
            self.slab.move_to(cand, Area::Main);
        } else {
            self.evict(cand, false);
        }
    }

    /// Evicts one entry by the shard's policy (an expired one first),
    /// whatever the capacity: for quotas that span several tables.
    /// Returns false when the shard is empty.
    pub(crate) fn evict_one(&mut self, now: &mut LazyNow<'_>) -> bool {
        let main = self.slab.area(Area::Main);
        let victim = if main.is_empty() {
            None
        } else if self.window_cap == 0 {
            lru::pick_victim(main, &mut self.policy, eviction::SAMPLES, now)
        } else {
            lfu::pick_victim(main, &mut self.policy, now)
        };
        if let Some(v) = victim {
            self.evict(Loc::new(Area::Main, v.idx), v.expired);
            return true;
        }
        let window = self.slab.area(Area::Window);
        if window.is_empty() {
            return false;
        }
        match lru::pick_victim(window, &mut self.policy, eviction::WINDOW_SAMPLES, now) {
            Some(v) => {
                self.evict(Loc::new(Area::Window, v.idx), v.expired);
                true
            }
            None => false,
        }
    }

    fn evict(&mut self, loc: Loc, expired: bool) {
        let reason = if expired {
            Reason::Expired
        } else {
            Reason::Evicted
        };
        self.remove_at(loc, reason);
    }

    /// Removes a key; false if it was absent or already expired.
    pub(crate) fn remove(&mut self, hash: u64, key: &[u8], now: &mut LazyNow<'_>) -> bool {
        match self.find_live(hash, key, now) {
            Some(loc) => self.remove_at(loc, Reason::Removed),
            None => false,
        }
    }

    /// Tells whether a live entry exists, without counting or touching it.
    pub(crate) fn contains(&mut self, hash: u64, key: &[u8], now: &mut LazyNow<'_>) -> bool {
        self.find_live(hash, key, now).is_some()
    }

    /// Sets (`Some`) or clears (`None`) the TTL of a live entry; `Some(0)` deletes it, like
    /// Redis `EXPIRE key 0`.
    pub(crate) fn set_ttl(
        &mut self,
        hash: u64,
        key: &[u8],
        ttl_ms: Option<u64>,
        now: &mut LazyNow<'_>,
    ) -> bool {
        let Some(loc) = self.find_live(hash, key, now) else {
            return false;
        };
        if ttl_ms == Some(0) {
            return self.remove_at(loc, Reason::Removed);
        }
        let expires_at = ttl_ms.map_or(0, |t| expiry::deadline(now.get(), t));
        let ttl = match self.mode {
            ExpiryMode::Sliding => ttl_ms.unwrap_or(0),
            ExpiryMode::Absolute => 0,
        };
        let Some(slot) = self.slab.get_mut(loc) else {
            return false;
        };
        let had = slot.expires_at() != 0;
        slot.set_expiry(expires_at, ttl);
        self.adjust_deadline_count(had, expires_at != 0);
        self.observer.changed(key);
        true
    }

    /// The TTL state of a key, for `TTL`/`PTTL`.
    pub(crate) fn ttl(&mut self, hash: u64, key: &[u8], now: &mut LazyNow<'_>) -> Ttl {
        let Some(loc) = self.find_live(hash, key, now) else {
            return Ttl::Missing;
        };
        match self.slab.get(loc).map_or(0, Slot::expires_at) {
            0 => Ttl::Persistent,
            at => Ttl::RemainingMs(at.saturating_sub(now.get())),
        }
    }

    /// Number of stored entries (expired ones not yet reclaimed included).
    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// Drops every entry, returning how many there were; frequencies are kept.
    pub(crate) fn clear(&mut self) -> u64 {
        let n = self.slab.len() as u64;
        self.slab.clear();
        if let Some(k) = &mut self.keys {
            k.clear();
        }
        self.stats.bytes = 0;
        self.with_deadline = 0;
        self.cursor = 0;
        if n > 0 {
            self.observer.flushed();
        }
        n
    }

    /// This shard's counters, with `items` filled in.
    pub(crate) fn stats(&self) -> TableStats {
        let mut s = self.stats.clone();
        s.items = self.slab.len() as u64;
        s
    }
}
