//! All the keys and patterns of one invalidation, matched against a table in one pass and
//! charged against a work budget.
//!
//! This file decides which keys a set names and what that costs; it must not lock or scan a
//! shard (that is `shard/scan.rs`) nor pick shards (`table.rs`). The budget counts work, not
//! time, so the same answer always costs the same and tests can reason about it exactly: one
//! unit per key looked at, plus each glob's word operations (see [`Glob::matches_counted`]).

use crate::glob::Glob;

/// The work an invalidation may still do, in steps (keys looked at plus glob word operations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkBudget {
    left: u64,
    spent: u64,
}

impl WorkBudget {
    /// A budget of `steps`.
    pub fn new(steps: u64) -> WorkBudget {
        WorkBudget {
            left: steps,
            spent: 0,
        }
    }

    /// Charges `steps`; false once the budget is exhausted (the charge is still recorded).
    pub fn charge(&mut self, steps: u64) -> bool {
        self.spent = self.spent.saturating_add(steps);
        match self.left.checked_sub(steps) {
            Some(left) => {
                self.left = left;
                true
            }
            None => {
                self.left = 0;
                false
            }
        }
    }

    /// Steps not yet spent.
    pub fn left(&self) -> u64 {
        self.left
    }

    /// Steps spent so far (including the charge that exhausted it).
    pub fn spent(&self) -> u64 {
        self.spent
    }
}

/// The table work stopped because the budget ran out; `removed` entries had gone by then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverBudget {
    /// Entries removed before the budget ran out.
    pub removed: u64,
}

/// Exact keys plus compiled patterns, grouped so a table is visited once for all of them.
///
/// Patterns without wildcards are exact keys. When every pattern has a literal prefix, the
/// table's key index is range-scanned once per disjoint prefix (a prefix that extends another
/// is covered by the shorter one's range); when any pattern starts with a wildcard, one full
/// pass tests every key against every pattern.
#[derive(Clone, Debug, Default)]
pub struct PatternSet {
    exact: Vec<Vec<u8>>,
    globs: Vec<Glob>,
    ranges: Vec<Vec<u8>>,
}

impl PatternSet {
    /// Compiles `patterns` (Redis globs) and takes `keys` as exact keys.
    pub fn new<'a>(
        keys: impl IntoIterator<Item = &'a [u8]>,
        patterns: impl IntoIterator<Item = &'a [u8]>,
    ) -> PatternSet {
        let mut exact: Vec<Vec<u8>> = keys.into_iter().map(<[u8]>::to_vec).collect();
        let mut globs = Vec::new();
        for pattern in patterns {
            let glob = Glob::new(pattern);
            if glob.is_literal() {
                exact.push(glob.literal_prefix().to_vec());
            } else {
                globs.push(glob);
            }
        }
        exact.sort_unstable();
        exact.dedup();
        let mut prefixes: Vec<Vec<u8>> =
            globs.iter().map(|g| g.literal_prefix().to_vec()).collect();
        prefixes.sort_unstable();
        let mut ranges: Vec<Vec<u8>> = Vec::new();
        for prefix in prefixes {
            // Sorted order puts a prefix right before every key range it contains.
            if ranges.last().is_some_and(|r| prefix.starts_with(r)) {
                continue;
            }
            ranges.push(prefix);
        }
        PatternSet {
            exact,
            globs,
            ranges,
        }
    }

    /// Whether the set names nothing.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.globs.is_empty()
    }

    /// Keys named exactly (and wildcard-free patterns).
    pub fn exact_keys(&self) -> &[Vec<u8>] {
        &self.exact
    }

    /// Number of wildcard patterns.
    pub fn glob_count(&self) -> usize {
        self.globs.len()
    }

    /// Whether some pattern starts with a wildcard, so a table must be scanned in full.
    pub fn needs_full_scan(&self) -> bool {
        self.ranges.first().is_some_and(Vec::is_empty)
    }

    /// Disjoint literal prefixes whose key ranges hold every possible match (one empty prefix
    /// when a full scan is needed; none when there are no wildcard patterns).
    pub(crate) fn ranges(&self) -> &[Vec<u8>] {
        &self.ranges
    }

    /// Whether `key` matches any pattern, charging the work to `budget`; `None` when the budget
    /// ran out before an answer.
    pub(crate) fn matches(&self, key: &[u8], budget: &mut WorkBudget) -> Option<bool> {
        if !budget.charge(1) {
            return None;
        }
        for glob in &self.globs {
            if !key.starts_with(glob.literal_prefix()) {
                continue;
            }
            let (hit, steps) = glob.matches_counted(key);
            if !budget.charge(steps) {
                return None;
            }
            if hit {
                return Some(true);
            }
        }
        Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_prefixes_into_disjoint_ranges() {
        let set = PatternSet::new(
            [&b"k1"[..]],
            [
                &b"user:*"[..],
                b"user:42:*",
                b"users?",
                b"order:[0-9]*",
                b"exact",
            ],
        );
        assert_eq!(set.exact_keys(), &[b"exact".to_vec(), b"k1".to_vec()]);
        assert_eq!(set.glob_count(), 4);
        assert_eq!(
            set.ranges(),
            &[b"order:".to_vec(), b"user:".to_vec(), b"users".to_vec()],
            "user:42: is inside the user: range"
        );
        assert!(!set.needs_full_scan());
        let full = PatternSet::new([], [&b"*x"[..], b"a*"]);
        assert!(full.needs_full_scan());
        assert_eq!(full.ranges(), &[Vec::<u8>::new()]);
    }

    #[test]
    fn matching_charges_the_budget_and_stops_when_it_runs_out() {
        let set = PatternSet::new([], [&b"*a*b"[..], b"*c"]);
        let mut budget = WorkBudget::new(1_000);
        assert_eq!(set.matches(b"xxaxxb", &mut budget), Some(true));
        assert_eq!(
            budget.spent(),
            1 + 6,
            "one for the key, six bytes for the first glob"
        );
        assert_eq!(set.matches(b"zzzz", &mut budget), Some(false));
        assert_eq!(budget.spent(), 7 + 1 + 4 + 4);
        let mut small = WorkBudget::new(3);
        assert_eq!(set.matches(b"zzzz", &mut small), None);
        assert_eq!(small.left(), 0);
    }
}
