//! Read-modify-write of one key under the shard lock, and typed reads: what counters, `APPEND`,
//! hashes, `GETDEL`, `GETEX` and conditional expiry need to be atomic without a second lookup.
//!
//! This file applies one caller-decided [`Write`] to one key; it must not lock, pick shards or
//! read the clock except through the `LazyNow` it is given, and must not interpret values.

use super::{Reason, Shard};
use crate::entry::Slot;
use crate::expiry::{self, ExpiryMode, LazyNow};
use crate::typed::Kind;

/// The live entry an update found.
#[derive(Clone, Copy, Debug)]
pub struct Found<'a> {
    /// What the value holds.
    pub kind: Kind,
    /// The stored bytes.
    pub value: &'a [u8],
    /// Milliseconds left before it expires; `None` when it never does.
    pub ttl_ms: Option<u64>,
}

/// What happens to an entry's expiry when it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtlChange {
    /// Keep the current deadline (none for a new entry): `INCR`, `APPEND`, `HSET`, `KEEPTTL`.
    Keep,
    /// Never expire (`PERSIST`, or a plain `SET`).
    Persist,
    /// Expire this many milliseconds from now (at least 1).
    In(u64),
}

/// What an update does, decided by the caller from what it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Change nothing.
    Keep,
    /// Store this value (creating the entry if needed).
    Value {
        /// What the new bytes hold.
        kind: Kind,
        /// The new bytes.
        value: Vec<u8>,
        /// The new expiry.
        ttl: TtlChange,
    },
    /// Change only the expiry of a live entry.
    Ttl(TtlChange),
    /// Delete the entry.
    Remove,
}

impl Shard {
    /// Runs `decide` on the live entry (if any) and applies its [`Write`]. Does not count a hit
    /// or miss; counts a set when a value is stored.
    pub(crate) fn update<R>(
        &mut self,
        hash: u64,
        key: &[u8],
        now: &mut LazyNow<'_>,
        decide: impl FnOnce(Option<Found<'_>>) -> (Write, R),
    ) -> R {
        let loc = self.find_live(hash, key, now);
        let found = loc.and_then(|l| self.slab.get(l)).map(|slot| Found {
            kind: slot.kind(),
            value: slot.value(),
            ttl_ms: match slot.expires_at() {
                0 => None,
                at => Some(at.saturating_sub(now.get())),
            },
        });
        let (write, result) = decide(found);
        match (write, loc) {
            (Write::Keep, _) | (Write::Ttl(_) | Write::Remove, None) => {}
            (Write::Remove, Some(loc)) => {
                self.remove_at(loc, Reason::Removed);
            }
            (Write::Ttl(change), Some(loc)) => {
                let (expires_at, ttl) = self.deadline_for(change, loc, now);
                if let Some(slot) = self.slab.get_mut(loc) {
                    let had = slot.expires_at() != 0;
                    slot.set_expiry(expires_at, ttl);
                    self.adjust_deadline_count(had, expires_at != 0);
                    self.observer.changed(key);
                }
            }
            (Write::Value { kind, value, ttl }, Some(loc)) => {
                let (expires_at, ttl) = self.deadline_for(ttl, loc, now);
                self.stats.sets += 1;
                if let Some(slot) = self.slab.get_mut(loc) {
                    let had = slot.expires_at() != 0;
                    self.stats.bytes = self.stats.bytes.saturating_sub(slot.byte_len());
                    slot.replace(&value, expires_at, ttl);
                    slot.set_kind(kind);
                    self.stats.bytes += slot.byte_len();
                    self.policy.touch(slot);
                    self.adjust_deadline_count(had, expires_at != 0);
                    self.observer.changed(key);
                }
            }
            (Write::Value { kind, value, ttl }, None) => {
                let (expires_at, ttl) = match ttl {
                    TtlChange::Keep | TtlChange::Persist => (0, 0),
                    TtlChange::In(ms) => self.fresh_deadline(ms, now),
                };
                self.stats.sets += 1;
                self.make_room(now);
                let mut slot = Slot::new(key, &value, expires_at, ttl, hash as u32);
                slot.set_kind(kind);
                self.admit(hash, key, expires_at, slot);
            }
        }
        result
    }

    /// Deadline and sliding TTL for a new expiry starting now.
    fn fresh_deadline(&self, ms: u64, now: &mut LazyNow<'_>) -> (u64, u64) {
        let ms = ms.max(1);
        let ttl = match self.mode {
            ExpiryMode::Sliding => ms,
            ExpiryMode::Absolute => 0,
        };
        (expiry::deadline(now.get(), ms), ttl)
    }

    /// Deadline and sliding TTL an existing entry gets from `change`.
    fn deadline_for(
        &self,
        change: TtlChange,
        loc: crate::slab::Loc,
        now: &mut LazyNow<'_>,
    ) -> (u64, u64) {
        match change {
            TtlChange::Keep => self
                .slab
                .get(loc)
                .map_or((0, 0), |s| (s.expires_at(), s.ttl())),
            TtlChange::Persist => (0, 0),
            TtlChange::In(ms) => self.fresh_deadline(ms, now),
        }
    }

    /// Reads a value with its kind: counts the hit or miss, refreshes sliding deadlines and
    /// records the access, like `get_with`.
    pub(crate) fn get_typed_with<R>(
        &mut self,
        hash: u64,
        key: &[u8],
        now: &mut LazyNow<'_>,
        f: impl FnOnce(Kind, &[u8]) -> R,
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
        Some(f(slot.kind(), slot.value()))
    }
}
