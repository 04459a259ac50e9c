//! An ordered set of a shard's keys, for prefix range scans in `keys_matching` and for
//! resumable slices of a pattern removal.
//!
//! This file only mirrors which keys exist; it must not decide liveness or matching. It is
//! optional (`TableConfig::index_keys`) because it stores every key a second time.

use std::collections::BTreeSet;
use std::ops::Bound;

/// The keys of one shard in byte order.
#[derive(Debug, Default)]
pub(crate) struct KeyIndex {
    keys: BTreeSet<Box<[u8]>>,
}

impl KeyIndex {
    /// Records a new key.
    pub(crate) fn insert(&mut self, key: &[u8]) {
        self.keys.insert(key.into());
    }

    /// Forgets a key.
    pub(crate) fn remove(&mut self, key: &[u8]) {
        self.keys.remove(key);
    }

    /// Forgets every key.
    pub(crate) fn clear(&mut self) {
        self.keys.clear();
    }

    /// Keys starting with `prefix`, in order, found by a range scan rather than a full scan.
    pub(crate) fn with_prefix<'a>(&'a self, prefix: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
        self.keys
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .map(|k| &**k)
            .take_while(move |k| k.starts_with(prefix))
    }

    /// Keys starting with `prefix` that sort after `after` (from the range start when `None`),
    /// so a long scan can stop, drop the shard lock and resume exactly where it was: keys that
    /// stay in the shard meanwhile are visited once, whatever is inserted or removed around them.
    pub(crate) fn with_prefix_after<'a>(
        &'a self,
        prefix: &'a [u8],
        after: Option<&'a [u8]>,
    ) -> impl Iterator<Item = &'a [u8]> {
        let start = match after {
            Some(key) if key >= prefix => Bound::Excluded(key),
            _ => Bound::Included(prefix),
        };
        self.keys
            .range::<[u8], _>((start, Bound::Unbounded))
            .map(|k| &**k)
            .take_while(move |k| k.starts_with(prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_scan_is_exact() {
        let mut idx = KeyIndex::default();
        for k in ["user:1", "user:10", "user:2", "usr", "user", "v"] {
            idx.insert(k.as_bytes());
        }
        idx.remove(b"user:2");
        let got: Vec<&[u8]> = idx.with_prefix(b"user:").collect();
        assert_eq!(got, vec![&b"user:1"[..], b"user:10"]);
        assert_eq!(idx.with_prefix(b"").count(), 5);
        let resumed: Vec<&[u8]> = idx.with_prefix_after(b"user", Some(b"user:1")).collect();
        assert_eq!(resumed, vec![&b"user:10"[..]]);
        let from_start: Vec<&[u8]> = idx.with_prefix_after(b"user:", Some(b"a")).collect();
        assert_eq!(from_start.len(), 2);
        idx.clear();
        assert_eq!(idx.with_prefix(b"").count(), 0);
    }
}
