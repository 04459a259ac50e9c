//! One page of a `SCAN`: a bounded number of slots, from a position that survives writes.
//!
//! This file walks an already-locked shard; it must not lock or pick shards. Each area is walked
//! from its end towards index 0. Removal swaps the last slot into the hole and LFU promotion
//! moves a window slot to the end of main, so a slot only ever moves to a lower index of its
//! area or from the window to main; walking the window first and each area downwards therefore
//! never skips a slot that stays in the shard, which is Redis's `SCAN` guarantee.

use super::Shard;
use crate::expiry::LazyNow;
use crate::slab::{Area, MAX_SLOTS};
use crate::typed::Kind;

/// Where a scan stands in one shard: which area, and how many slots of it are left to visit
/// (indices `0..remaining`; values above the area's length mean "all of it").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ScanPos {
    pub(crate) in_main: bool,
    pub(crate) remaining: usize,
}

impl ScanPos {
    /// The start of a shard.
    pub(crate) const START: ScanPos = ScanPos {
        in_main: false,
        remaining: MAX_SLOTS,
    };
}

impl Shard {
    /// Visits at most `budget` slots from `pos`, handing each live key and its kind to `found`.
    /// Returns the next position, or `None` when the shard is done, and how many slots it
    /// visited.
    pub(crate) fn scan_page(
        &self,
        pos: ScanPos,
        budget: usize,
        now: &mut LazyNow<'_>,
        found: &mut impl FnMut(&[u8], Kind),
    ) -> (Option<ScanPos>, usize) {
        let mut pos = pos;
        let mut visited = 0;
        loop {
            let area = self.slab.area(if pos.in_main {
                Area::Main
            } else {
                Area::Window
            });
            pos.remaining = pos.remaining.min(area.len());
            while pos.remaining > 0 && visited < budget {
                pos.remaining -= 1;
                visited += 1;
                if let Some(slot) = area.get(pos.remaining)
                    && !now.expired(slot.expires_at())
                {
                    found(slot.key(), slot.kind());
                }
            }
            if pos.remaining > 0 {
                return (Some(pos), visited);
            }
            if pos.in_main {
                return (None, visited);
            }
            pos = ScanPos {
                in_main: true,
                remaining: MAX_SLOTS,
            };
        }
    }
}
