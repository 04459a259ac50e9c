//! What an invalidation removed, as data another node (or L2) can apply without asking any
//! plugin: the tier sends [`Effect`]s over the bus and each node applies them to its own L1
//! tables, under the same work budget and with the same fallback (clear more, never less).

use super::apply::apply;
use super::plan::{Plan, plan};
use crate::cache::catalog::Catalog;
use crate::cache::outcome::Outcome;
use hoard_l1::PatternSet;

/// One removal: keys and globs over every definition (`cache: None`), or one cache emptied.
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

/// The effects of applying `plan` with `outcome`: its answers, the dependents it cleared, and
/// the caches the budget fallback cleared (so other nodes clear them too).
pub fn effects_of(plan: &Plan, outcome: &Outcome) -> Vec<Effect> {
    let mut effects: Vec<Effect> = plan
        .answers
        .iter()
        .filter(|a| !a.keys.is_empty() || !a.patterns.is_empty())
        .map(|a| Effect {
            cache: None,
            keys: a.keys.clone(),
            patterns: a.patterns.clone(),
            clear: false,
        })
        .collect();
    let cleared = match outcome {
        Outcome::Fallback { cleared, .. } => cleared.as_slice(),
        _ => &[],
    };
    for name in plan.clear.iter().chain(cleared) {
        effects.push(Effect {
            cache: Some(name.clone()),
            clear: true,
            ..Effect::default()
        });
    }
    effects
}

/// [`super::publish`], also returning what was removed, for L2 and the other nodes.
pub fn publish_with_effects(
    catalog: &Catalog,
    event: &str,
    payload: &[u8],
) -> (Outcome, Vec<Effect>) {
    let plan = plan(catalog, event, payload);
    let outcome = apply(catalog, &plan, catalog.invalidation_budget());
    let effects = effects_of(&plan, &outcome);
    (outcome, effects)
}

/// Applies effects decided elsewhere (another node, via the bus) to this node's L1 tables,
/// charged to the catalog's budget; a table the budget cannot finish is cleared. Returns how
/// many entries went.
pub fn apply_effects(catalog: &Catalog, effects: &[Effect]) -> u64 {
    let budget = catalog.invalidation_budget();
    let mut removed = 0;
    for effect in effects {
        let set = PatternSet::new(
            effect.keys.iter().map(|k| k.as_bytes()),
            effect.patterns.iter().map(|p| p.as_bytes()),
        );
        let mut work = budget.for_event();
        let mut over = false;
        for cache in catalog.iter() {
            if effect
                .cache
                .as_ref()
                .is_some_and(|name| *name != cache.definition().name)
            {
                continue;
            }
            let table = cache.table();
            if effect.clear || over {
                removed += table.clear();
                continue;
            }
            if set.is_empty() {
                continue;
            }
            match table.remove_matching_set(&set, &mut work) {
                Ok(n) => removed += n,
                Err(partial) => {
                    over = true;
                    removed += partial.removed + table.clear();
                }
            }
        }
        budget.settle(&work, over);
    }
    removed
}
