//! The key memo of a pure-key definition: key parts → the key its plugin
//! made, so a repeated request skips the plugin call.
//!
//! A lookup sits on every keyed request, so the memo is laid out for few
//! cache misses rather than built on the store's `Table` (shard lock, hash
//! index, slot, entry bytes, frequency sketch: five lines to touch). It is
//! a two-way set-associative cache: the parts' hash picks a set, whose
//! lock and two ways (hash, entry pointer) share a cache line; a hit reads
//! that line and one entry allocation (parts and key together). Within a
//! set the ways are kept most-recent-first, so a full set drops its least
//! recently used key. Sets are allocated in chunks as keys land in them:
//! a definition with few keys does not pay for 65,536.
//!
//! Once the memo is full, every new key would evict one, which costs more
//! than the plugin call it would save for a key that never comes back —
//! and on a random key space most never do. So a full memo takes a key only
//! on its second sighting: a doorkeeper (a bit array in which each key sets
//! two bits, cleared after `capacity` new sightings) remembers the first
//! one. This is TinyLFU's doorkeeper, in front of the memo rather than
//! inside it. Until the memo is full the doorkeeper does not exist.

use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Keys per set.
const WAYS: usize = 2;
/// Sets allocated together, on the first key that lands in one of them.
const CHUNK_SETS: usize = 512;

/// One remembered key: the parts' hash, and `[parts length: u32][parts,
/// each as u32 length + bytes][key]` in one allocation.
type Way = Option<(u64, Box<[u8]>)>;
/// A set: its lock and its ways, most recently used first.
type Set = Mutex<[Way; WAYS]>;

/// One definition's memo of the keys its plugin made.
pub(crate) struct KeyMemo {
    chunks: Box<[OnceLock<Box<[Set]>>]>,
    /// Sets per chunk (fewer than [`CHUNK_SETS`] in a small memo).
    chunk_sets: usize,
    set_mask: u64,
    hasher: foldhash::fast::RandomState,
    capacity: u64,
    /// Keys put so far: once it reaches `capacity` the memo is full (a
    /// pure key is never removed, only replaced).
    put: AtomicU64,
    doorkeeper: OnceLock<Doorkeeper>,
}

impl KeyMemo {
    /// A memo of about `capacity` keys (rounded up to a power of two).
    pub(crate) fn new(capacity: u64) -> KeyMemo {
        let sets = usize::try_from(capacity.div_ceil(WAYS as u64))
            .unwrap_or(usize::MAX)
            .clamp(1, 1 << 24)
            .next_power_of_two();
        let chunk_sets = sets.min(CHUNK_SETS);
        KeyMemo {
            chunks: (0..sets / chunk_sets).map(|_| OnceLock::new()).collect(),
            chunk_sets,
            set_mask: sets as u64 - 1,
            hasher: foldhash::fast::RandomState::default(),
            capacity: (sets * WAYS) as u64,
            put: AtomicU64::new(0),
            doorkeeper: OnceLock::new(),
        }
    }

    /// The key remembered for `parts`.
    pub(crate) fn get(&self, parts: &[String]) -> Option<String> {
        let hash = self.hash(parts);
        let (chunk, index) = self.locate(hash);
        let set = self.chunks.get(chunk)?.get()?.get(index)?;
        let mut ways = set.lock();
        for at in 0..WAYS {
            if let Some((h, entry)) = &ways[at]
                && *h == hash
                && let Some(key) = key_for(entry, parts)
            {
                let key = key.to_owned();
                ways[..=at].rotate_right(1);
                return Some(key);
            }
        }
        None
    }

    /// Remembers that `parts` make `key`: at once while the memo has room,
    /// on the second sighting once it is full.
    pub(crate) fn remember(&self, parts: &[String], key: &str) {
        let hash = self.hash(parts);
        if self.put.load(Ordering::Relaxed) >= self.capacity {
            let doorkeeper = self
                .doorkeeper
                .get_or_init(|| Doorkeeper::new(self.capacity));
            if !doorkeeper.seen_before(hash) {
                return;
            }
        } else {
            self.put.fetch_add(1, Ordering::Relaxed);
        }
        let (chunk, index) = self.locate(hash);
        let Some(chunk) = self.chunks.get(chunk) else {
            return;
        };
        let sets = chunk.get_or_init(|| (0..self.chunk_sets).map(|_| Mutex::default()).collect());
        let Some(set) = sets.get(index) else {
            return;
        };
        let entry = encode(parts, key);
        let mut ways = set.lock();
        // Replace the same parts' entry if present, else the least recent.
        let at = ways
            .iter()
            .position(|way| {
                way.as_ref()
                    .is_some_and(|(h, old)| *h == hash && key_for(old, parts).is_some())
            })
            .unwrap_or(WAYS - 1);
        ways[at] = Some((hash, entry));
        ways[..=at].rotate_right(1);
    }

    fn hash(&self, parts: &[String]) -> u64 {
        let mut hasher = self.hasher.build_hasher();
        for part in parts {
            hasher.write_usize(part.len());
            hasher.write(part.as_bytes());
        }
        hasher.finish()
    }

    /// The chunk and the set within it for `hash`.
    fn locate(&self, hash: u64) -> (usize, usize) {
        let set = (hash & self.set_mask) as usize;
        (set / self.chunk_sets, set % self.chunk_sets)
    }
}

/// One entry's bytes (see [`Way`]). Each part is length-prefixed, so that
/// `["a:b"]` and `["a", "b"]` never match each other's entry.
fn encode(parts: &[String], key: &str) -> Box<[u8]> {
    let parts_len: usize = parts.iter().map(|p| 4 + p.len()).sum();
    let mut out = Vec::with_capacity(4 + parts_len + key.len());
    out.extend_from_slice(&u32::try_from(parts_len).unwrap_or(u32::MAX).to_le_bytes());
    for part in parts {
        out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(key.as_bytes());
    out.into_boxed_slice()
}

/// The key stored in `entry` if `entry` is the one of `parts`.
fn key_for<'e>(entry: &'e [u8], parts: &[String]) -> Option<&'e str> {
    let (len, rest) = split_u32(entry)?;
    let (mut stored, key) = rest.split_at_checked(len)?;
    for part in parts {
        let (len, rest) = split_u32(stored)?;
        let (bytes, rest) = rest.split_at_checked(len)?;
        if bytes != part.as_bytes() {
            return None;
        }
        stored = rest;
    }
    if !stored.is_empty() {
        return None;
    }
    std::str::from_utf8(key).ok()
}

fn split_u32(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*len) as usize, rest))
}

/// Remembers which keys were seen since its last reset, approximately: a
/// key reported as seen may not have been (two bits set by others; about
/// 5% once `window` keys are in), a key seen is always reported.
struct Doorkeeper {
    words: Box<[AtomicU64]>,
    mask: u64,
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
            fresh: AtomicUsize::new(0),
            window: usize::try_from(window).unwrap_or(usize::MAX).max(1),
        }
    }

    /// Records a sighting of the key whose parts hash to `hash`; true when
    /// it had been seen since the last reset. Its bits come from the hash's
    /// upper half: the lower one picks the memo's set.
    fn seen_before(&self, hash: u64) -> bool {
        let mut seen = true;
        for bit in [
            (hash >> 32) & self.mask,
            (hash >> 32).rotate_left(21) & self.mask,
        ] {
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
        KeyMemo::new(capacity)
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
    fn a_full_set_drops_its_least_recently_used_key() {
        let memo = memo(2); // one set of two ways: every key lands in it
        memo.remember(&parts(1), "User:1");
        memo.remember(&parts(2), "User:2");
        assert!(memo.get(&parts(1)).is_some(), "1 is now the most recent");
        // The memo is full: a new key is taken on its second sighting.
        memo.remember(&parts(3), "User:3");
        memo.remember(&parts(3), "User:3");
        assert_eq!(memo.get(&parts(3)).as_deref(), Some("User:3"));
        assert_eq!(memo.get(&parts(1)).as_deref(), Some("User:1"));
        assert_eq!(memo.get(&parts(2)), None, "the least recent went");
    }

    #[test]
    fn sets_are_allocated_only_where_keys_land() {
        let memo = memo(1 << 16);
        let allocated = |m: &KeyMemo| m.chunks.iter().filter(|c| c.get().is_some()).count();
        assert_eq!(allocated(&memo), 0);
        memo.remember(&parts(1), "User:1");
        assert_eq!(allocated(&memo), 1);
        assert!(memo.chunks.len() > 1);
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
        const X: u64 = 0x0123_4567_89ab_cdef;
        let keeper = Doorkeeper::new(100);
        assert!(!keeper.seen_before(X));
        assert!(keeper.seen_before(X));
        // New sightings up to the window (100, "x" included) reset it.
        let mut id = 0u64;
        loop {
            let fresh = !keeper.seen_before(id.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            id += 1;
            if fresh && keeper.fresh.load(Ordering::Relaxed) == 0 {
                break;
            }
        }
        // 99 keys, and the few the doorkeeper took for seen (false positives).
        assert!((99..150).contains(&id), "reset after {id} keys");
        assert!(!keeper.seen_before(X), "still remembered after a reset");
    }
}
