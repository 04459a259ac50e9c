//! Storage of one shard: dense slot vectors plus a hash index of slot positions.
//!
//! This file only stores, finds, moves and removes slots; it must not decide evictions, read
//! the clock or count statistics. Two dense areas exist (main and, for LFU, a small window);
//! the index maps a key hash to a `u32` location whose top bit names the area. Removal is a
//! `swap_remove` followed by re-pointing the index entry of the slot that moved, so the areas
//! stay dense and random sampling for eviction is O(1).

use crate::entry::Slot;
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

const WINDOW_BIT: u32 = 1 << 31;

/// The most slots one area can hold (the location encoding keeps one bit for the area).
pub(crate) const MAX_SLOTS: usize = (WINDOW_BIT - 1) as usize;

/// Which dense area a slot lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Area {
    /// The protected bulk of the shard.
    Main,
    /// The small admission window of the LFU policy.
    Window,
}

/// A slot position: an area and an index into it, packed as stored in the hash index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Loc(u32);

impl Loc {
    /// Packs an area and an index (the index is below `MAX_SLOTS` by construction).
    pub(crate) fn new(area: Area, idx: usize) -> Loc {
        let idx = (idx as u32) & !WINDOW_BIT;
        match area {
            Area::Main => Loc(idx),
            Area::Window => Loc(idx | WINDOW_BIT),
        }
    }

    /// The area of this location.
    pub(crate) fn area(self) -> Area {
        if self.0 & WINDOW_BIT != 0 {
            Area::Window
        } else {
            Area::Main
        }
    }

    /// The index inside the area.
    pub(crate) fn idx(self) -> usize {
        (self.0 & !WINDOW_BIT) as usize
    }
}

/// The slots of one shard and the hash index that finds them.
#[derive(Debug)]
pub(crate) struct Slab {
    index: HashTable<u32>,
    main: Vec<Slot>,
    window: Vec<Slot>,
    hasher: RandomState,
    main_limit: usize,
}

fn slot_at<'a>(main: &'a [Slot], window: &'a [Slot], raw: u32) -> Option<&'a Slot> {
    let loc = Loc(raw);
    match loc.area() {
        Area::Main => main.get(loc.idx()),
        Area::Window => window.get(loc.idx()),
    }
}

impl Slab {
    /// Creates an empty slab; `main_limit` caps how far the main vector grows so that a bounded
    /// shard's last growth step lands exactly on its capacity instead of doubling past it.
    pub(crate) fn new(hasher: RandomState, main_limit: usize) -> Slab {
        Slab {
            index: HashTable::new(),
            main: Vec::new(),
            window: Vec::new(),
            hasher,
            main_limit: main_limit.clamp(1, MAX_SLOTS),
        }
    }

    /// Hashes a key with the table's hasher.
    pub(crate) fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Finds the location of `key`, whose hash is `hash`.
    pub(crate) fn find(&self, hash: u64, key: &[u8]) -> Option<Loc> {
        let (main, window) = (&self.main, &self.window);
        self.index
            .find(hash, |&raw| {
                slot_at(main, window, raw).is_some_and(|s| s.key() == key)
            })
            .map(|&raw| Loc(raw))
    }

    /// The slot at `loc`.
    pub(crate) fn get(&self, loc: Loc) -> Option<&Slot> {
        slot_at(&self.main, &self.window, loc.0)
    }

    /// The slot at `loc`, mutably.
    pub(crate) fn get_mut(&mut self, loc: Loc) -> Option<&mut Slot> {
        match loc.area() {
            Area::Main => self.main.get_mut(loc.idx()),
            Area::Window => self.window.get_mut(loc.idx()),
        }
    }

    /// All slots of one area, for sampling and scans.
    pub(crate) fn area(&self, area: Area) -> &[Slot] {
        match area {
            Area::Main => &self.main,
            Area::Window => &self.window,
        }
    }

    /// Number of slots in both areas.
    pub(crate) fn len(&self) -> usize {
        self.main.len() + self.window.len()
    }

    /// Stores a slot whose key is not present yet, returning its location.
    pub(crate) fn push(&mut self, hash: u64, area: Area, slot: Slot) -> Loc {
        let vec = match area {
            Area::Main => &mut self.main,
            Area::Window => &mut self.window,
        };
        if vec.len() == vec.capacity() {
            let limit = match area {
                Area::Main => self.main_limit,
                Area::Window => MAX_SLOTS,
            };
            let target = (vec.capacity() * 2).max(4).min(limit).max(vec.len() + 1);
            vec.reserve_exact(target - vec.len());
        }
        let loc = Loc::new(area, vec.len());
        vec.push(slot);
        let (main, window, hasher) = (&self.main, &self.window, &self.hasher);
        self.index.insert_unique(hash, loc.0, |&raw| {
            slot_at(main, window, raw).map_or(0, |s| hasher.hash_one(s.key()))
        });
        loc
    }

    /// Removes the slot at `loc`, keeping the area dense; returns it if it existed.
    pub(crate) fn remove(&mut self, loc: Loc) -> Option<Slot> {
        let hash = self.hash(self.get(loc)?.key());
        if let Ok(entry) = self.index.find_entry(hash, |&raw| raw == loc.0) {
            entry.remove();
        }
        let area = loc.area();
        let vec = match area {
            Area::Main => &mut self.main,
            Area::Window => &mut self.window,
        };
        let removed = vec.swap_remove(loc.idx());
        if let Some(moved) = vec.get(loc.idx()) {
            let old = Loc::new(area, vec.len()).0;
            let moved_hash = self.hasher.hash_one(moved.key());
            if let Some(raw) = self.index.find_mut(moved_hash, |&raw| raw == old) {
                *raw = loc.0;
            }
        }
        Some(removed)
    }

    /// Moves the slot at `loc` to the end of `area`, returning its new location.
    pub(crate) fn move_to(&mut self, loc: Loc, area: Area) -> Option<Loc> {
        if loc.area() == area {
            return Some(loc);
        }
        let slot = self.remove(loc)?;
        let hash = self.hash(slot.key());
        Some(self.push(hash, area, slot))
    }

    /// Drops every slot and releases the memory.
    pub(crate) fn clear(&mut self) {
        self.index = HashTable::new();
        self.main = Vec::new();
        self.window = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_find_remove_keeps_index_consistent() {
        let mut s = Slab::new(RandomState::default(), 100);
        for i in 0..50u32 {
            let key = i.to_le_bytes();
            let area = if i % 3 == 0 { Area::Window } else { Area::Main };
            s.push(s.hash(&key), area, Slot::new(&key, b"v", 0, 0, 0));
        }
        for i in (0..50u32).step_by(2) {
            let key = i.to_le_bytes();
            let loc = s.find(s.hash(&key), &key).unwrap();
            assert_eq!(s.remove(loc).unwrap().key(), key);
        }
        assert_eq!(s.len(), 25);
        for i in 0..50u32 {
            let key = i.to_le_bytes();
            let found = s.find(s.hash(&key), &key);
            assert_eq!(found.is_some(), i % 2 == 1, "key {i}");
            if let Some(loc) = found {
                assert_eq!(s.get(loc).unwrap().key(), key);
                let moved = s.move_to(loc, Area::Main).unwrap();
                assert_eq!(s.get(moved).unwrap().key(), key);
            }
        }
        assert_eq!(s.area(Area::Window).len(), 0);
        assert!(s.main.capacity() <= 100);
    }
}
