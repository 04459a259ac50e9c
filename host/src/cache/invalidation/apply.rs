//! Removing what a [`Plan`] names, under a work budget: one pass per table for all of the
//! event's keys and patterns (`hoard_l1::PatternSet`), shard locks held for bounded slices.
//! Calls no plugin. When the budget runs out, every table not yet fully processed is cleared
//! instead: more than asked, never less.

use std::collections::BTreeMap;

use super::budget::InvalidationBudget;
use super::plan::Plan;
use crate::cache::catalog::Catalog;
use crate::cache::outcome::Outcome;
use hoard_l1::PatternSet;

/// Applies `plan` to the tables of `catalog`, charging the work to `budget`.
pub fn apply(catalog: &Catalog, plan: &Plan, budget: &InvalidationBudget) -> Outcome {
    let mut per_cache: BTreeMap<String, u64> = BTreeMap::new();
    let mut cleared: Vec<String> = Vec::new();
    for name in &plan.clear {
        if let Some(cache) = catalog.get(name) {
            let removed = cache.table().clear();
            *per_cache.entry(name.clone()).or_default() += removed;
        }
    }
    let (keys, patterns) = plan.keys_and_patterns();
    let set = PatternSet::new(keys, patterns);
    if !set.is_empty() {
        let mut work = budget.for_event();
        let mut over = false;
        for cache in catalog.iter() {
            let name = &cache.definition().name;
            if plan.clear.contains(name) {
                continue;
            }
            let table = cache.table();
            let removed = if over {
                cleared.push(name.clone());
                table.clear()
            } else {
                match table.remove_matching_set(&set, &mut work) {
                    Ok(n) => n,
                    Err(partial) => {
                        over = true;
                        cleared.push(name.clone());
                        partial.removed + table.clear()
                    }
                }
            };
            if removed > 0 {
                *per_cache.entry(name.clone()).or_default() += removed;
            }
        }
        budget.settle(&work, over);
        if over {
            tracing::warn!(
                caches = ?cleared,
                steps = work.spent(),
                patterns = set.glob_count(),
                keys = set.exact_keys().len(),
                "invalidation over its work budget: caches cleared instead"
            );
        }
    }
    let count = per_cache.values().sum();
    let failures = plan.failures.clone();
    if !cleared.is_empty() {
        Outcome::Fallback {
            count,
            per_cache,
            failures,
            cleared,
        }
    } else if failures.is_empty() {
        Outcome::Invalidated { count, per_cache }
    } else {
        Outcome::PartiallyInvalidated {
            count,
            per_cache,
            failures,
        }
    }
}
