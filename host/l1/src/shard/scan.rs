//! Multi-entry operations of one shard: pattern matching over keys and budgeted expiry sweeps.
//!
//! This file scans a shard that is already locked; it must not lock, pick shards or read the
//! clock except through the `LazyNow` it is given. Single-key semantics live in `shard.rs`.

use super::{Reason, Shard};
use crate::entry::Slot;
use crate::expiry::LazyNow;
use crate::glob::Glob;
use crate::slab::{Area, Loc};

impl Shard {
    /// Live keys matching `glob`: an exact lookup for literal patterns, a range scan of the key
    /// index for patterns with a literal prefix (when indexed), a full scan otherwise.
    pub(crate) fn keys_matching(&self, glob: &Glob, now: &mut LazyNow<'_>) -> Vec<Vec<u8>> {
        let live = |slot: &Slot, now: &mut LazyNow<'_>| !now.expired(slot.expires_at());
        let mut out = Vec::new();
        if glob.is_literal() {
            let key = glob.literal_prefix();
            let found = self.slab.find(self.hash(key), key);
            if found
                .and_then(|l| self.slab.get(l))
                .is_some_and(|s| live(s, now))
            {
                out.push(key.to_vec());
            }
            return out;
        }
        let prefix = glob.literal_prefix();
        if let (Some(keys), false) = (&self.keys, prefix.is_empty()) {
            for key in keys.with_prefix(prefix) {
                let found = self.slab.find(self.hash(key), key);
                let slot = found.and_then(|l| self.slab.get(l));
                if slot.is_some_and(|s| live(s, now)) && glob.matches(key) {
                    out.push(key.to_vec());
                }
            }
            return out;
        }
        for area in [Area::Main, Area::Window] {
            for slot in self.slab.area(area) {
                if live(slot, now) && glob.matches(slot.key()) {
                    out.push(slot.key().to_vec());
                }
            }
        }
        out
    }

    /// Removes live keys matching `glob`, returning how many.
    pub(crate) fn remove_matching(&mut self, glob: &Glob, now: &mut LazyNow<'_>) -> u64 {
        let keys = self.keys_matching(glob, now);
        let mut n = 0;
        for key in keys {
            let hash = self.hash(&key);
            if let Some(loc) = self.slab.find(hash, &key)
                && self.remove_at(loc, Reason::Removed)
            {
                n += 1;
            }
        }
        n
    }

    /// Examines at most `budget` slots from a rotating cursor, reclaiming expired ones.
    pub(crate) fn sweep_expired(&mut self, budget: usize, now: &mut LazyNow<'_>) -> u64 {
        let mut removed = 0;
        for _ in 0..budget {
            if self.with_deadline == 0 {
                break;
            }
            let main_len = self.slab.area(Area::Main).len();
            let total = self.slab.len();
            if total == 0 {
                break;
            }
            if self.cursor >= total {
                self.cursor = 0;
            }
            let loc = if self.cursor < main_len {
                Loc::new(Area::Main, self.cursor)
            } else {
                Loc::new(Area::Window, self.cursor - main_len)
            };
            let expired = self
                .slab
                .get(loc)
                .is_some_and(|s| now.expired(s.expires_at()));
            if expired {
                // The last slot moved into this position; look at it next, without advancing.
                self.remove_at(loc, Reason::Expired);
                removed += 1;
            } else {
                self.cursor += 1;
            }
        }
        removed
    }
}
