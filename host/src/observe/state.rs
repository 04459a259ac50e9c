//! The admin page's data (`/api/state`): every tenant's definitions with
//! their figures, plugin health, recent reloads, quota use, and a few
//! minutes of history for the charts (sampled once a second, server-side,
//! so a page opened now already shows the last minutes).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::exports::Export;
use super::http::Shared;
use super::reloads::ReloadRecord;
use crate::tenant::Tenant;

/// Samples kept per tenant: five minutes at one a second.
const HISTORY: usize = 300;

/// Cumulative counters of one tenant at one moment.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Sample {
    t: u64,
    hits: u64,
    misses: u64,
    sets: u64,
}

/// Per-tenant history rings.
#[derive(Debug, Default)]
pub(crate) struct History {
    rings: parking_lot::Mutex<HashMap<String, VecDeque<Sample>>>,
}

impl History {
    fn record(&self, tenant: &str, sample: Sample) {
        let mut rings = self.rings.lock();
        let ring = rings.entry(tenant.to_owned()).or_default();
        if ring.len() >= HISTORY {
            ring.pop_front();
        }
        ring.push_back(sample);
    }

    fn of(&self, tenant: &str) -> Vec<Sample> {
        self.rings
            .lock()
            .get(tenant)
            .map(|r| r.iter().copied().collect())
            .unwrap_or_default()
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn totals(tenant: &Tenant) -> Sample {
    let mut s = Sample {
        t: unix_ms(),
        hits: 0,
        misses: 0,
        sets: 0,
    };
    let plain = tenant.cache.plain().stats();
    s.hits += plain.hits;
    s.misses += plain.misses;
    s.sets += plain.sets;
    for cache in tenant.cache.catalog().iter() {
        let stats = cache.table().stats();
        s.hits += stats.hits;
        s.misses += stats.misses;
        s.sets += stats.sets;
    }
    s
}

/// Takes a sample of every tenant each `every` until `stop` fires.
pub(crate) async fn sample_history(
    shared: Arc<Shared>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                for tenant in &shared.setup.tenants {
                    shared.history.record(&tenant.name, totals(tenant));
                }
            }
            _ = stop.changed() => break,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct State {
    now_unix_ms: u64,
    uptime_s: u64,
    /// `admin` or the tenant's name.
    viewer: String,
    /// This node's L2 and bus, when `[l2]` is configured.
    node: Option<NodeState>,
    tenants: Vec<TenantState>,
}

#[derive(Serialize)]
struct NodeState {
    breaker: &'static str,
    l2_latency_mean_ms: f64,
    l2_failures: u64,
    replay_depth: u64,
    bus_link: bool,
    bus_lag_ms: f64,
}

/// A definition's origin and what happened on it.
#[derive(Serialize)]
struct OriginState {
    name: String,
    kind: &'static str,
    counters: Vec<(&'static str, u64)>,
}

#[derive(Serialize)]
struct TenantState {
    name: String,
    connections: usize,
    items: u64,
    bytes: u64,
    max_items: u64,
    max_bytes: u64,
    reloads_installed: u64,
    reloads_refused: u64,
    definitions: Vec<DefinitionState>,
    reloads: Vec<ReloadRecord>,
    history: Vec<Sample>,
}

#[derive(Serialize)]
struct DefinitionState {
    name: String,
    id: String,
    version: String,
    source: String,
    language: &'static str,
    plugin_bytes: usize,
    items: u64,
    bytes: u64,
    hits: u64,
    misses: u64,
    sets: u64,
    rejects: u64,
    evictions: u64,
    hit_ratio: Option<f64>,
    calls: u64,
    faults: u64,
    instantiations: u64,
    quarantined: bool,
    quarantine_left_ms: u64,
    quarantines: u64,
    exports: Vec<ExportState>,
    /// Reads by level, for an L2-backed definition.
    levels: Option<crate::tier::LevelSnapshot>,
    origin: Option<OriginState>,
}

#[derive(Serialize)]
struct ExportState {
    export: &'static str,
    calls: u64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
}

/// The state `viewer` may see, of `tenants`.
pub(crate) fn snapshot(shared: &Shared, tenants: &[Arc<Tenant>], viewer: &str) -> State {
    let tenants = tenants
        .iter()
        .map(|tenant| {
            let usage = tenant.usage();
            let quota = tenant.quota();
            let (installed, refused) = tenant.lifecycle.reloads().totals();
            let definitions = tenant
                .cache
                .catalog()
                .iter()
                .map(|cache| {
                    let d = cache.definition();
                    let s = cache.table().stats();
                    let plugin = cache.plugin();
                    let (calls, faults) = plugin.call_stats();
                    let lookups = s.hits + s.misses;
                    let levels = tenant.cache.level_snapshot(&d.name);
                    let origin = tenant.cache.origin_of(&d.name).map(|o| OriginState {
                        name: o.config().name.clone(),
                        kind: o.kind(),
                        counters: o.counters.snapshot(),
                    });
                    DefinitionState {
                        levels,
                        origin,
                        name: d.name.clone(),
                        id: d.versioned_id(),
                        version: d.version.to_string(),
                        source: plugin.origin().source.clone(),
                        language: plugin.origin().language,
                        plugin_bytes: plugin.origin().size,
                        items: s.items,
                        bytes: s.bytes,
                        hits: s.hits,
                        misses: s.misses,
                        sets: s.sets,
                        rejects: cache.rejects(),
                        evictions: s.evictions,
                        hit_ratio: (lookups > 0).then(|| s.hits as f64 / lookups as f64),
                        calls,
                        faults,
                        instantiations: plugin
                            .counters()
                            .instantiations
                            .load(std::sync::atomic::Ordering::Relaxed),
                        quarantined: plugin.is_quarantined(),
                        quarantine_left_ms: plugin
                            .quarantine_left()
                            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                        quarantines: plugin.quarantines(),
                        exports: Export::ALL
                            .iter()
                            .map(|e| {
                                let snap = plugin.export_times().of(*e).snapshot();
                                ExportState {
                                    export: e.name(),
                                    calls: snap.count,
                                    p50_ms: snap.quantile_ms(0.5),
                                    p99_ms: snap.quantile_ms(0.99),
                                }
                            })
                            .collect(),
                    }
                })
                .collect();
            TenantState {
                name: tenant.name.clone(),
                connections: tenant.connections(),
                items: usage.items,
                bytes: usage.bytes,
                max_items: quota.max_items,
                max_bytes: quota.max_bytes,
                reloads_installed: installed,
                reloads_refused: refused,
                definitions,
                reloads: tenant.lifecycle.reloads().recent(),
                history: shared.history.of(&tenant.name),
            }
        })
        .collect();
    let node = shared
        .setup
        .tenants
        .iter()
        .find_map(|t| t.cache.tier().map(|tier| tier.node_stats()))
        .map(|n| NodeState {
            breaker: n.breaker.name(),
            l2_latency_mean_ms: n.mean_us as f64 / 1000.0,
            l2_failures: n.failures,
            replay_depth: n.replay_depth,
            bus_link: n.bus.link_ok,
            bus_lag_ms: n.bus.lag_us as f64 / 1000.0,
        });
    State {
        node,
        now_unix_ms: unix_ms(),
        uptime_s: shared.setup.started.elapsed().as_secs(),
        viewer: viewer.to_owned(),
        tenants,
    }
}
