//! Multi-entry operations of one shard: pattern matching over keys and budgeted expiry sweeps.
//!
//! This file scans a shard that is already locked; it must not lock, pick shards or read the
//! clock except through the `LazyNow` it is given. Single-key semantics live in `shard.rs`.

use super::{Reason, Shard};
use crate::entry::Slot;
use crate::expiry::LazyNow;
use crate::glob::Glob;
use crate::pattern_set::{PatternSet, WorkBudget};
use crate::slab::{Area, Loc};

/// Where one slice of a pattern removal stopped.
#[derive(Debug, Default)]
pub(crate) struct SliceEnd {
    /// Live entries removed in this slice.
    pub(crate) removed: u64,
    /// The last key looked at, to resume after; `None` when the range is done.
    pub(crate) resume_after: Option<Vec<u8>>,
    /// The budget ran out inside this slice.
    pub(crate) exhausted: bool,
}

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

    /// Whether this shard keeps a key index (so removals can be sliced and resumed).
    pub(crate) fn is_indexed(&self) -> bool {
        self.keys.is_some()
    }

    /// Looks at up to `max_keys` keys of the range `prefix` after `after` (indexed shards
    /// only), removing those `set` matches; charges `budget` and stops when it runs out.
    pub(crate) fn remove_set_slice(
        &mut self,
        set: &PatternSet,
        prefix: &[u8],
        after: Option<&[u8]>,
        max_keys: usize,
        budget: &mut WorkBudget,
        now: &mut LazyNow<'_>,
    ) -> SliceEnd {
        let Some(index) = &self.keys else {
            return SliceEnd::default();
        };
        let mut doomed = Vec::new();
        let mut last: Option<&[u8]> = None;
        let mut seen = 0;
        let mut exhausted = false;
        for key in index.with_prefix_after(prefix, after).take(max_keys) {
            seen += 1;
            match set.matches(key, budget) {
                Some(true) => doomed.push(key.to_vec()),
                Some(false) => {}
                None => {
                    exhausted = true;
                    break;
                }
            }
            last = Some(key);
        }
        let resume_after = if seen < max_keys || exhausted {
            None
        } else {
            last.map(<[u8]>::to_vec)
        };
        let removed = self.remove_keys(&doomed, now);
        SliceEnd {
            removed,
            resume_after,
            exhausted,
        }
    }

    /// Removes every key of an unindexed shard that `set` matches, in one locked pass (the
    /// slot order is not stable across unlocks, so it cannot be resumed safely).
    pub(crate) fn remove_set_all(
        &mut self,
        set: &PatternSet,
        budget: &mut WorkBudget,
        now: &mut LazyNow<'_>,
    ) -> SliceEnd {
        let mut doomed = Vec::new();
        let mut exhausted = false;
        'areas: for area in [Area::Main, Area::Window] {
            for slot in self.slab.area(area) {
                match set.matches(slot.key(), budget) {
                    Some(true) => doomed.push(slot.key().to_vec()),
                    Some(false) => {}
                    None => {
                        exhausted = true;
                        break 'areas;
                    }
                }
            }
        }
        SliceEnd {
            removed: self.remove_keys(&doomed, now),
            resume_after: None,
            exhausted,
        }
    }

    /// Removes the given keys, counting the ones that were live.
    fn remove_keys(&mut self, keys: &[Vec<u8>], now: &mut LazyNow<'_>) -> u64 {
        let mut n = 0;
        for key in keys {
            let hash = self.hash(key);
            if let Some(loc) = self.slab.find(hash, key) {
                let live = self
                    .slab
                    .get(loc)
                    .is_some_and(|s| !now.expired(s.expires_at()));
                let reason = if live {
                    Reason::Removed
                } else {
                    Reason::Expired
                };
                if self.remove_at(loc, reason) && live {
                    n += 1;
                }
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
