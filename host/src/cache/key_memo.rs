//! The key memo of a pure-key definition: key parts → the key its plugin
//! made, so a repeated request skips the plugin call.
//!
//! Once the memo is full, every new entry evicts one (LFU admission included),
//! which costs more than the plugin call it would save for a key that never
//! comes back — and on a random key space most never do. So a full memo
//! takes an entry only on its second sighting: a doorkeeper (a bit array
//! in which each key sets two bits, cleared after `capacity` new sightings)
//! remembers the first one. This is TinyLFU's doorkeeper, in front of the memo rather
//! than inside it. Until the memo is full the doorkeeper does not exist:
//! filling an empty memo evicts nothing.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use hoard_l1::{Clock, Policy, SetCondition, Table, TableConfig};

/// One definition's memo of the keys its plugin made.
pub(crate) struct KeyMemo {
    table: Table,
    capacity: u64,
    /// Entries put so far: once it reaches `capacity` the table is full
    /// (a pure key's entry is never removed, only evicted).
    put: AtomicU64,
    doorkeeper: OnceLock<Doorkeeper>,
}

impl KeyMemo {
    /// A memo of at most `capacity` keys.
    pub(crate) fn new(capacity: u64, clock: Arc<dyn Clock>) -> KeyMemo {
        KeyMemo {
            table: Table::new(
                TableConfig {
                    max_items: capacity,
                    policy: Policy::Lfu,
                    expiry: hoard_l1::ExpiryMode::Absolute,
                    shards: 0,
                    index_keys: false,
                },
                clock,
            ),
            capacity,
            put: AtomicU64::new(0),
            doorkeeper: OnceLock::new(),
        }
    }

    /// The key remembered for `parts`.
    pub(crate) fn get(&self, parts: &[String]) -> Option<String> {
        self.table.get_with(&memo_key(parts), |k| {
            String::from_utf8_lossy(k).into_owned()
        })
    }

    /// Remembers that `parts` make `key`: at once while the memo has room,
    /// on the second sighting once it is full.
    pub(crate) fn remember(&self, parts: &[String], key: &str) {
        let memo_key = memo_key(parts);
        if self.put.load(Ordering::Relaxed) >= self.capacity {
            let doorkeeper = self
                .doorkeeper
                .get_or_init(|| Doorkeeper::new(self.capacity));
            if !doorkeeper.seen_before(&memo_key) {
                return;
            }
        } else {
            self.put.fetch_add(1, Ordering::Relaxed);
        }
        self.table
            .insert(&memo_key, key.as_bytes(), None, SetCondition::Always);
    }
}

/// Length-prefixes every part so that `["a:b"]` and `["a", "b"]` never collide.
fn memo_key(parts: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        out.extend_from_slice(&(part.len() as u32).to_le_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// Remembers which keys were seen since its last reset, approximately: a
/// key reported as seen may not have been (two bits set by others; about
/// 5% once `window` keys are in), a key seen is always reported.
struct Doorkeeper {
    words: Box<[AtomicU64]>,
    mask: u64,
    hasher: foldhash::fast::RandomState,
    /// Sightings that set a bit since the last reset.
    fresh: AtomicUsize,
    window: usize,
}

impl Doorkeeper {
    /// Sized for `window` keys between resets: 8 bits per key.
    fn new(window: u64) -> Doorkeeper {
        let bits = window
            .saturating_mul(8)
            .clamp(1 << 10, 1 << 30)
            .next_power_of_two();
        let words = (0..bits / 64).map(|_| AtomicU64::new(0)).collect();
        Doorkeeper {
            words,
            mask: bits - 1,
            hasher: foldhash::fast::RandomState::default(),
            fresh: AtomicUsize::new(0),
            window: usize::try_from(window).unwrap_or(usize::MAX).max(1),
        }
    }

    /// Records a sighting of `key`; true when it had been seen since the
    /// last reset.
    fn seen_before(&self, key: &[u8]) -> bool {
        let hash = self.hasher.hash_one(key);
        let mut seen = true;
        for bit in [hash & self.mask, hash.rotate_left(32) & self.mask] {
            let (word, flag) = (&self.words[(bit / 64) as usize], 1u64 << (bit % 64));
            seen &= word.fetch_or(flag, Ordering::Relaxed) & flag != 0;
        }
        if !seen && self.fresh.fetch_add(1, Ordering::Relaxed) + 1 >= self.window {
            // A reset racing with sightings loses a few of them: those keys
            // need one sighting more.
            self.fresh.store(0, Ordering::Relaxed);
            for word in &*self.words {
                word.store(0, Ordering::Relaxed);
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memo(capacity: u64) -> KeyMemo {
        KeyMemo::new(capacity, Arc::new(hoard_l1::ManualClock::new(0)))
    }

    fn parts(id: u64) -> Vec<String> {
        vec![id.to_string()]
    }

    #[test]
    fn a_memo_with_room_remembers_a_key_at_once() {
        let memo = memo(64);
        memo.remember(&parts(1), "User:1");
        assert_eq!(memo.get(&parts(1)).as_deref(), Some("User:1"));
        assert_eq!(memo.get(&parts(2)), None);
    }

    #[test]
    fn parts_that_concatenate_alike_stay_apart() {
        let memo = memo(64);
        memo.remember(&["a:b".to_owned()], "one");
        assert_eq!(memo.get(&["a".to_owned(), "b".to_owned()]), None);
    }

    #[test]
    fn a_full_memo_takes_a_key_on_its_second_sighting() {
        let memo = memo(64);
        for id in 0..64 {
            memo.remember(&parts(id), &format!("User:{id}"));
        }
        memo.remember(&parts(1000), "User:1000");
        assert_eq!(memo.get(&parts(1000)), None, "taken on first sight");
        memo.remember(&parts(1000), "User:1000");
        assert_eq!(memo.get(&parts(1000)).as_deref(), Some("User:1000"));
    }

    #[test]
    fn one_hit_keys_mostly_stay_out_of_a_full_memo() {
        let memo = memo(1024);
        for id in 0..1024 {
            memo.remember(&parts(id), "k");
        }
        let taken = (10_000..20_000)
            .filter(|&id| {
                memo.remember(&parts(id), "k");
                memo.get(&parts(id)).is_some()
            })
            .count();
        // Only false positives of the doorkeeper get in: ~5% at its fullest.
        assert!(taken < 800, "{taken} of 10000 one-hit keys were memoized");
    }

    #[test]
    fn the_doorkeeper_forgets_after_its_window() {
        let keeper = Doorkeeper::new(100);
        assert!(!keeper.seen_before(b"x"));
        assert!(keeper.seen_before(b"x"));
        // New sightings up to the window (100, "x" included) reset it.
        let mut id = 0u64;
        loop {
            let fresh = !keeper.seen_before(&id.to_le_bytes());
            id += 1;
            if fresh && keeper.fresh.load(Ordering::Relaxed) == 0 {
                break;
            }
        }
        // 99 keys, and the few the doorkeeper took for seen (false positives).
        assert!((99..150).contains(&id), "reset after {id} keys");
        assert!(!keeper.seen_before(b"x"), "still remembered after a reset");
    }
}
