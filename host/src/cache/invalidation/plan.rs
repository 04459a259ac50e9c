//! Asking the plugins what an event makes stale: the listeners first, then the cascade, each
//! cache at most once (the cycle guard). Touches no table; the result is plain data for
//! `apply.rs`, so the plan can be shown, tested and applied separately.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use crate::cache::catalog::{Catalog, DefinedCache};
use crate::definition::EventError;

/// Everything the plugins said about one event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// The answers with keys or patterns to remove, in the order the caches were asked.
    pub answers: Vec<PlannedAnswer>,
    /// Dependents reached by the cascade that do not know the event: cleared entirely.
    pub clear: Vec<String>,
    /// Caches whose plugin could not answer, and why.
    pub failures: Vec<(String, String)>,
}

/// One cache's answer: what to remove across the whole definition keyspace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlannedAnswer {
    /// The cache that answered.
    pub cache: String,
    /// Exact keys.
    pub keys: Vec<String>,
    /// Redis glob patterns.
    pub patterns: Vec<String>,
}

impl Plan {
    /// Every key and pattern of every answer, for one pass over each table.
    pub fn keys_and_patterns(&self) -> (Vec<&[u8]>, Vec<&[u8]>) {
        let keys = self
            .answers
            .iter()
            .flat_map(|a| a.keys.iter().map(|k| k.as_bytes()))
            .collect();
        let patterns = self
            .answers
            .iter()
            .flat_map(|a| a.patterns.iter().map(|p| p.as_bytes()))
            .collect();
        (keys, patterns)
    }
}

/// Asks every listening cache, and the cascade's dependents, what `event` makes stale.
pub fn plan(catalog: &Catalog, event: &str, payload: &[u8]) -> Plan {
    let mut plan = Plan::default();
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
                plan.failures.push((name, format!("plugin {error}")));
                continue;
            }
        };
        let invalidation = match answer {
            Ok(invalidation) => invalidation,
            Err(EventError::UnknownEvent(_)) if by_cascade => {
                plan.clear.push(name);
                continue;
            }
            Err(error) => {
                plan.failures.push((name, error.to_string()));
                continue;
            }
        };
        tracing::debug!(cache = %name, event, reason = %invalidation.reason, "invalidating");
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
        plan.answers.push(PlannedAnswer {
            cache: name,
            keys: invalidation.keys,
            patterns: invalidation.patterns,
        });
    }
    plan
}
