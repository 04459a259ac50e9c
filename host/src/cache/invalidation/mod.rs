//! Turning a domain event into removed entries, in two steps that share only plain data:
//! [`plan`] asks the plugins (and follows the cascade), [`apply`] removes from the tables under
//! a work budget. Plugin calls need a plugin permit; table work does not, so a caller may run
//! the two under different permits. [`publish`] does both.
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
//! - The host work an answer causes is budgeted, per event and per tenant (`budget.rs`).
//!   When it would run over, the caches not yet fully processed are cleared instead:
//!   invalidating more is always correct for a cache, invalidating less never is. The reply
//!   says so (`outcome: fallback`, `fallback: [caches]`) and the tenant's counters count it.

mod apply;
mod budget;
mod effect;
mod plan;

pub use apply::apply;
pub use budget::{BudgetCounters, InvalidationBudget};
pub use effect::{Effect, apply_effects, effects_of, publish_with_effects};
pub use plan::{Plan, PlannedAnswer, plan};

use crate::cache::catalog::Catalog;
use crate::cache::outcome::Outcome;

/// Publishes `event` with a MessagePack `payload` to the caches of `catalog`: [`plan`], then
/// [`apply`] under the catalog's (the tenant's) budget.
pub fn publish(catalog: &Catalog, event: &str, payload: &[u8]) -> Outcome {
    let plan = plan(catalog, event, payload);
    apply(catalog, &plan, catalog.invalidation_budget())
}
