//! Turning a domain event into removed entries: which caches hear the event,
//! what each plugin says must go, and the cascade to dependent caches.
//!
//! Rules (also in README.md):
//! - Every cache that lists the event in `invalidation-events` is asked.
//! - Keys and patterns in an answer apply to the whole definition keyspace
//!   (every cache's entries; plain `SET` keys are never touched), so a plugin
//!   may name keys of caches it knows about (`UserSessions:42:*`).
//! - With `cascade`, the event is forwarded to the dependent caches (the
//!   answer's list, or else the descriptor's), which answer for themselves.
//!   A dependent that does not know the event is cleared entirely: stale
//!   derived data is worse than a miss.
//! - Each cache is asked at most once per event, which also breaks cycles.
//! - A cache whose plugin fails is reported, and the others still proceed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crate::cache::catalog::{Catalog, DefinedCache};
use crate::cache::outcome::Outcome;
use crate::definition::{EventError, Invalidation};
use hoard_l1::Glob;

/// What an invalidation removed, stated so another node (or L2) can do the
/// same without asking any plugin: keys and globs over every definition
/// (`cache: None`), or one cache emptied or stripped of some keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Effect {
    /// `None`: every definition's keyspace; `Some`: that cache only.
    pub cache: Option<String>,
    /// Exact keys.
    pub keys: Vec<String>,
    /// Glob patterns.
    pub patterns: Vec<String>,
    /// Remove every entry of `cache`.
    pub clear: bool,
}

/// Publishes `event` with a MessagePack `payload` to the caches of `catalog`.
pub fn publish(catalog: &Catalog, event: &str, payload: &[u8]) -> Outcome {
    publish_with_effects(catalog, event, payload).0
}

/// [`publish`], also returning what was removed, for L2 and the other nodes.
pub fn publish_with_effects(
    catalog: &Catalog,
    event: &str,
    payload: &[u8],
) -> (Outcome, Vec<Effect>) {
    let mut effects: Vec<Effect> = Vec::new();
    let mut per_cache: BTreeMap<String, u64> = BTreeMap::new();
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut asked: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<(Arc<DefinedCache>, bool)> = VecDeque::new();

    for cache in catalog.iter() {
        if cache
            .definition()
            .invalidation_events
            .iter()
            .any(|e| e == event)
        {
            asked.insert(cache.definition().name.clone());
            queue.push_back((Arc::clone(cache), false));
        }
    }

    while let Some((cache, by_cascade)) = queue.pop_front() {
        let name = cache.definition().name.clone();
        let answer = match cache.plugin().on_event(event, payload) {
            Ok(answer) => answer,
            Err(error) => {
                failures.push((name, format!("plugin {error}")));
                continue;
            }
        };
        let invalidation = match answer {
            Ok(invalidation) => invalidation,
            Err(EventError::UnknownEvent(_)) if by_cascade => {
                let removed = cache.table().clear();
                effects.push(Effect {
                    cache: Some(name.clone()),
                    clear: true,
                    ..Effect::default()
                });
                *per_cache.entry(name).or_default() += removed;
                continue;
            }
            Err(error) => {
                failures.push((name, error.to_string()));
                continue;
            }
        };
        tracing::debug!(cache = %name, event, reason = %invalidation.reason, "invalidating");
        apply(catalog, &invalidation, &mut per_cache);
        effects.push(Effect {
            cache: None,
            keys: invalidation.keys.clone(),
            patterns: invalidation.patterns.clone(),
            clear: false,
        });
        if invalidation.cascade {
            let targets = if invalidation.dependent_caches.is_empty() {
                &cache.definition().dependent_caches
            } else {
                &invalidation.dependent_caches
            };
            for target in targets {
                if !asked.insert(target.clone()) {
                    continue;
                }
                match catalog.get(target) {
                    Some(dependent) => queue.push_back((Arc::clone(dependent), true)),
                    None => {
                        tracing::warn!(cache = %name, dependent = %target, "dependent cache is not loaded")
                    }
                }
            }
        }
    }

    let count = per_cache.values().sum();
    let outcome = if failures.is_empty() {
        Outcome::Invalidated { count, per_cache }
    } else {
        Outcome::PartiallyInvalidated {
            count,
            per_cache,
            failures,
        }
    };
    (outcome, effects)
}

/// Applies effects decided elsewhere (another node, via the bus) to this
/// node's L1 tables; returns how many entries went.
pub fn apply_effects(catalog: &Catalog, effects: &[Effect]) -> u64 {
    let mut removed = 0;
    for effect in effects {
        let globs: Vec<Glob> = effect
            .patterns
            .iter()
            .map(|p| Glob::new(p.as_bytes()))
            .collect();
        for cache in catalog.iter() {
            if effect
                .cache
                .as_ref()
                .is_some_and(|name| *name != cache.definition().name)
            {
                continue;
            }
            let table = cache.table();
            if effect.clear {
                removed += table.clear();
                continue;
            }
            for key in &effect.keys {
                removed += u64::from(table.remove(key.as_bytes()));
            }
            for glob in &globs {
                removed += table.remove_matching(glob);
            }
        }
    }
    removed
}

/// Removes the answer's keys and pattern matches from every cache.
fn apply(catalog: &Catalog, invalidation: &Invalidation, per_cache: &mut BTreeMap<String, u64>) {
    let globs: Vec<Glob> = invalidation
        .patterns
        .iter()
        .map(|p| Glob::new(p.as_bytes()))
        .collect();
    for cache in catalog.iter() {
        let table = cache.table();
        let mut removed = 0;
        for key in &invalidation.keys {
            removed += u64::from(table.remove(key.as_bytes()));
        }
        for glob in &globs {
            removed += table.remove_matching(glob);
        }
        if removed > 0 {
            *per_cache
                .entry(cache.definition().name.clone())
                .or_default() += removed;
        }
    }
}
