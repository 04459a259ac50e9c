//! `/metrics`: Prometheus text built at scrape time from the counters the
//! store, the plugin pools, the lifecycles and the command probe keep.
//!
//! Labels are bounded by construction: `tenant` (from the configuration),
//! `cache` (loaded definitions, capped by the operator), `operation`,
//! `outcome`, `export`, `command` (fixed lists). No key, no client-chosen
//! string, ever becomes a label. Names follow Prometheus conventions
//! (`_total` counters, `_seconds`, `_bytes`), prefixed `hoard_`.

use std::sync::Arc;

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::Snapshot;
use super::exports::Export;
use crate::tenant::{Quota, Tenant, Usage};
use hoard_l1::TableStats;

/// Renders the metrics of `tenants`; `server_wide` adds what belongs to no
/// one tenant (command latencies, trace export), which only the admin sees.
pub fn render(tenants: &[Arc<Tenant>], server_wide: bool) -> String {
    let figures: Vec<TenantFigures> = tenants.iter().map(|t| TenantFigures::of(t)).collect();
    render_figures(figures, server_wide)
}

/// Renders figures already gathered (what `render` does after reading the
/// tenants; benches feed it synthetic ones).
pub fn render_figures(tenants: Vec<TenantFigures>, server_wide: bool) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape {
        tenants,
        server_wide,
    }));
    let mut out = String::new();
    // Writing to a String cannot fail; an error here would be an encoder bug.
    if let Err(error) = prometheus_client::encoding::text::encode(&mut out, &registry) {
        tracing::error!(%error, "encoding /metrics failed");
    }
    out
}

/// One tenant's figures at scrape time.
#[derive(Debug, Clone)]
pub struct TenantFigures {
    name: String,
    caches: Vec<CacheFigures>,
    reloads: (u64, u64),
    usage: Usage,
    quota: Quota,
    connections: usize,
    /// This node's L2 and bus figures (the same for every tenant).
    node: Option<crate::tier::NodeStats>,
}

#[derive(Debug, Clone)]
struct CacheFigures {
    name: String,
    stats: TableStats,
    /// `None` for the plain keyspace, which has no definition.
    rejects: Option<u64>,
    plugin: Option<PluginFigures>,
    /// Read-through, lease and write-through counters, for a definition with an origin.
    origin: Option<Vec<(&'static str, u64)>>,
    /// Reads by the level that answered, for an L2-backed definition.
    levels: Option<crate::tier::LevelSnapshot>,
}

#[derive(Debug, Clone)]
struct PluginFigures {
    calls: u64,
    faults: u64,
    instantiations: u64,
    quarantines: u64,
    quarantined: bool,
    size: usize,
    exports: Vec<(&'static str, Snapshot)>,
}

impl TenantFigures {
    /// Reads a tenant's counters (relaxed loads; no lock on the data path).
    pub fn of(tenant: &Tenant) -> TenantFigures {
        let mut caches = vec![CacheFigures {
            name: "@plain".to_owned(),
            stats: tenant.cache.plain().stats(),
            rejects: None,
            plugin: None,
            origin: None,
            levels: None,
        }];
        for cache in tenant.cache.catalog().iter() {
            let plugin = cache.plugin();
            let (calls, faults) = plugin.call_stats();
            let name = &cache.definition().name;
            let levels = tenant.cache.level_snapshot(name);
            caches.push(CacheFigures {
                name: clean(name),
                stats: cache.table().stats(),
                rejects: Some(cache.rejects()),
                origin: tenant.cache.origin_of(name).map(|o| o.counters.snapshot()),
                levels,
                plugin: Some(PluginFigures {
                    calls,
                    faults,
                    instantiations: plugin
                        .counters()
                        .instantiations
                        .load(std::sync::atomic::Ordering::Relaxed),
                    quarantines: plugin.quarantines(),
                    quarantined: plugin.is_quarantined(),
                    size: plugin.origin().size,
                    exports: Export::ALL
                        .iter()
                        .map(|e| (e.name(), plugin.export_times().of(*e).snapshot()))
                        .collect(),
                }),
            });
        }
        TenantFigures {
            // The single unnamed tenant of a server without [[tenants]].
            name: if tenant.name.is_empty() {
                "default".to_owned()
            } else {
                clean(&tenant.name)
            },
            caches,
            reloads: tenant.lifecycle.reloads().totals(),
            usage: tenant.usage(),
            quota: tenant.quota(),
            connections: tenant.connections(),
            node: tenant.cache.tier().map(|tier| tier.node_stats()),
        }
    }

    /// A made-up tenant with `definitions` busy definitions, for benches.
    #[doc(hidden)]
    pub fn synthetic(name: &str, definitions: usize) -> TenantFigures {
        let histogram = super::Histogram::new();
        for i in 0..1000u64 {
            histogram.record(std::time::Duration::from_micros(5 + i % 300));
        }
        let snap = histogram.snapshot();
        let stats = TableStats {
            hits: 123_456,
            misses: 7_890,
            sets: 45_678,
            evictions: 12,
            expirations: 345,
            items: 10_000,
            bytes: 4_000_000,
        };
        let mut caches = vec![CacheFigures {
            name: "@plain".to_owned(),
            stats: stats.clone(),
            rejects: None,
            plugin: None,
            origin: None,
            levels: None,
        }];
        for i in 0..definitions {
            caches.push(CacheFigures {
                name: format!("Definition{i}"),
                stats: stats.clone(),
                rejects: Some(3),
                origin: None,
                levels: None,
                plugin: Some(PluginFigures {
                    calls: 200_000,
                    faults: 2,
                    instantiations: 9,
                    quarantines: 0,
                    quarantined: false,
                    size: 180_000,
                    exports: Export::ALL.iter().map(|e| (e.name(), snap)).collect(),
                }),
            });
        }
        TenantFigures {
            name: name.to_owned(),
            caches,
            reloads: (3, 1),
            usage: Usage::default(),
            quota: Quota::default(),
            connections: 4,
            node: None,
        }
    }
}

struct Scrape {
    tenants: Vec<TenantFigures>,
    server_wide: bool,
}

impl std::fmt::Debug for Scrape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scrape({} tenants)", self.tenants.len())
    }
}

/// A label value safe in the text format (names come from plugins).
fn clean(value: &str) -> String {
    value
        .chars()
        .take(128)
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' => '_',
            c => c,
        })
        .collect()
}

type Labels = Vec<(&'static str, String)>;

/// One metric family: its samples (labels, value) are gathered first.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    samples: Vec<(Labels, f64)>,
}

impl Family {
    fn new(name: &'static str, help: &'static str, kind: MetricType) -> Self {
        Self {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: Labels, value: impl Into<f64>) {
        self.samples.push((labels, value.into()));
    }

    fn encode(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut metric = encoder.encode_descriptor(self.name, self.help, None, self.kind)?;
        for (labels, value) in &self.samples {
            let family = metric.encode_family(labels)?;
            if matches!(self.kind, MetricType::Counter) {
                ConstCounter::new(*value as u64).encode(family)?;
            } else {
                ConstGauge::new(*value).encode(family)?;
            }
        }
        Ok(())
    }
}

/// This node's L2 and bus figures (server-wide: one node, whatever the tenant).
fn encode_node(
    encoder: &mut DescriptorEncoder,
    n: &crate::tier::NodeStats,
) -> Result<(), std::fmt::Error> {
    use MetricType::{Counter, Gauge};
    // Labelled with the node's bus id: one series per process, and no empty
    // `{}` label set (which some parsers refuse).
    let node = format!("{:016x}", n.node);
    let one = |name, help, kind, value: f64| {
        let mut family = Family::new(name, help, kind);
        family.add(vec![("node", node.clone())], value);
        family
    };
    let open = matches!(n.breaker, crate::tier::breaker::BreakerState::Open);
    for family in [
        one("hoard_l2_calls", "Calls made to L2.", Counter, u(n.calls)),
        one(
            "hoard_l2_failures",
            "L2 calls that failed or timed out.",
            Counter,
            u(n.failures),
        ),
        one(
            "hoard_l2_latency_mean_seconds",
            "Mean L2 call time.",
            Gauge,
            u(n.mean_us) / 1e6,
        ),
        one(
            "hoard_l2_breaker_open",
            "1 while the L2 circuit breaker refuses calls.",
            Gauge,
            if open { 1.0 } else { 0.0 },
        ),
        one(
            "hoard_l2_breaker_opens",
            "Times the L2 breaker opened.",
            Counter,
            u(n.breaker_opens),
        ),
        one(
            "hoard_l2_replay_depth",
            "Writes queued for L2, waiting to be replayed.",
            Gauge,
            u(n.replay_depth),
        ),
        one(
            "hoard_l2_replayed",
            "Queued writes replayed into L2.",
            Counter,
            u(n.replayed),
        ),
        one(
            "hoard_l2_read_pipe_up",
            "1 while L2 reads take the batched read connection (standalone Redis).",
            Gauge,
            if n.pipe.link == crate::tier::read_pipe::PipeLink::Up {
                1.0
            } else {
                0.0
            },
        ),
        one(
            "hoard_l2_piped_reads",
            "L2 reads answered through the batched read connection.",
            Counter,
            u(n.pipe.reads),
        ),
        one(
            "hoard_bus_link_up",
            "1 while the invalidation bus link is confirmed.",
            Gauge,
            if n.bus.link_ok { 1.0 } else { 0.0 },
        ),
        one(
            "hoard_bus_lag_seconds",
            "Time from publishing to receiving the node's own bus heartbeat.",
            Gauge,
            u(n.bus.lag_us) / 1e6,
        ),
        one(
            "hoard_bus_gaps",
            "Bus sequence gaps seen (each flushes L2-backed L1).",
            Counter,
            u(n.bus.gaps),
        ),
        one(
            "hoard_bus_received",
            "Bus messages received.",
            Counter,
            u(n.bus.received),
        ),
        one(
            "hoard_l2_tracking_link_up",
            "1 while client tracking of direct writes to L2 is on and confirmed (0 when nothing opts in).",
            Gauge,
            if n.tracking.link_ok { 1.0 } else { 0.0 },
        ),
        one(
            "hoard_l2_tracking_invalidations",
            "Keys Redis reported modified under a tracked definition (any writer).",
            Counter,
            u(n.tracking.invalidations),
        ),
        one(
            "hoard_l2_tracking_flushes",
            "L1 flushes of tracked definitions (lost link, reconnect, FLUSHALL in Redis).",
            Counter,
            u(n.tracking.flushes),
        ),
    ] {
        family.encode(encoder)?;
    }
    Ok(())
}

fn u(n: u64) -> f64 {
    n as f64
}

impl prometheus_client::collector::Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use MetricType::{Counter, Gauge};
        let mut ops = Family::new(
            "hoard_cache_operations",
            "Cache operations by outcome (get: hit/miss; set: stored/rejected).",
            Counter,
        );
        let mut items = Family::new("hoard_cache_items", "Entries held in L1.", Gauge);
        let mut bytes = Family::new(
            "hoard_cache_bytes",
            "Bytes of keys and values held in L1.",
            Gauge,
        );
        let mut evictions = Family::new(
            "hoard_cache_evictions",
            "Entries evicted to stay within size.",
            Counter,
        );
        let mut expirations = Family::new(
            "hoard_cache_expirations",
            "Entries removed because their TTL ran out.",
            Counter,
        );
        let mut calls = Family::new("hoard_plugin_calls", "Plugin export calls.", Counter);
        let mut faults = Family::new(
            "hoard_plugin_faults",
            "Plugin calls that trapped, timed out or hit a limit.",
            Counter,
        );
        let mut instantiations = Family::new(
            "hoard_plugin_instantiations",
            "Plugin instances created.",
            Counter,
        );
        let mut quarantines = Family::new(
            "hoard_plugin_quarantines",
            "Times the plugin's circuit breaker opened.",
            Counter,
        );
        let mut quarantined = Family::new(
            "hoard_plugin_quarantined",
            "1 while the plugin is quarantined.",
            Gauge,
        );
        let mut plugin_bytes = Family::new(
            "hoard_plugin_size_bytes",
            "Size of the plugin component.",
            Gauge,
        );
        let mut reloads = Family::new(
            "hoard_plugin_reloads",
            "Plugin loads and reloads by outcome (installed/refused).",
            Counter,
        );
        let mut tenant_items = Family::new(
            "hoard_tenant_items",
            "Entries across the tenant's caches.",
            Gauge,
        );
        let mut tenant_bytes = Family::new(
            "hoard_tenant_bytes",
            "Bytes across the tenant's caches.",
            Gauge,
        );
        let mut tenant_max_items = Family::new(
            "hoard_tenant_max_items",
            "The tenant's item quota (0 = unlimited).",
            Gauge,
        );
        let mut tenant_max_bytes = Family::new(
            "hoard_tenant_max_bytes",
            "The tenant's byte quota (0 = unlimited).",
            Gauge,
        );
        let mut connections = Family::new(
            "hoard_connections",
            "Client connections holding the tenant's seat.",
            Gauge,
        );
        let mut origin_ops = Family::new(
            "hoard_origin_operations",
            "Read-through, lease and write-through events of a definition's origin, by kind.",
            Counter,
        );
        let mut origin_latency = Family::new(
            "hoard_origin_latency_mean_seconds",
            "Mean time of one origin call.",
            Gauge,
        );
        let mut level_reads = Family::new(
            "hoard_level_reads",
            "Reads of an L2-backed definition by the level that answered.",
            Counter,
        );
        let mut partial_writes = Family::new(
            "hoard_l2_partial_writes",
            "Writes kept in L1 and queued for L2 because L2 could not take them.",
            Counter,
        );
        let mut node = None;
        let mut call_times: Vec<(Labels, Snapshot)> = Vec::new();

        for tenant in &self.tenants {
            let t = &tenant.name;
            let tl = || vec![("tenant", t.clone())];
            for cache in &tenant.caches {
                let name = &cache.name;
                let s = &cache.stats;
                let l = |op: &'static str, outcome: &'static str| {
                    vec![
                        ("tenant", t.clone()),
                        ("cache", name.clone()),
                        ("operation", op.to_owned()),
                        ("outcome", outcome.to_owned()),
                    ]
                };
                ops.add(l("get", "hit"), u(s.hits));
                ops.add(l("get", "miss"), u(s.misses));
                ops.add(l("set", "stored"), u(s.sets));
                if let Some(rejects) = cache.rejects {
                    ops.add(l("set", "rejected"), u(rejects));
                }
                let cl = || vec![("tenant", t.clone()), ("cache", name.clone())];
                if let Some(counters) = &cache.origin {
                    for (kind, value) in counters {
                        if *kind == "latency_mean_us" {
                            origin_latency.add(cl(), u(*value) / 1e6);
                        } else {
                            let mut labels = cl();
                            labels.push(("kind", (*kind).to_owned()));
                            origin_ops.add(labels, u(*value));
                        }
                    }
                }
                if let Some(l) = &cache.levels {
                    for (level, value) in [
                        ("l1", l.l1_hits),
                        ("l2", l.l2_hits),
                        ("none", l.misses),
                        ("stale", l.stale_hits),
                    ] {
                        let mut labels = cl();
                        labels.push(("level", level.to_owned()));
                        level_reads.add(labels, u(value));
                    }
                    partial_writes.add(cl(), u(l.partial_writes));
                }
                items.add(cl(), u(s.items));
                bytes.add(cl(), u(s.bytes));
                evictions.add(cl(), u(s.evictions));
                expirations.add(cl(), u(s.expirations));
                let Some(plugin) = &cache.plugin else {
                    continue;
                };
                calls.add(cl(), u(plugin.calls));
                faults.add(cl(), u(plugin.faults));
                instantiations.add(cl(), u(plugin.instantiations));
                quarantines.add(cl(), u(plugin.quarantines));
                quarantined.add(cl(), if plugin.quarantined { 1.0 } else { 0.0 });
                plugin_bytes.add(cl(), u(plugin.size as u64));
                for (export, snap) in &plugin.exports {
                    let mut labels = cl();
                    labels.push(("export", (*export).to_owned()));
                    call_times.push((labels, *snap));
                }
            }
            let (installed, refused) = tenant.reloads;
            let mut l = tl();
            l.push(("outcome", "installed".to_owned()));
            reloads.add(l, u(installed));
            let mut l = tl();
            l.push(("outcome", "refused".to_owned()));
            reloads.add(l, u(refused));
            tenant_items.add(tl(), u(tenant.usage.items));
            tenant_bytes.add(tl(), u(tenant.usage.bytes));
            tenant_max_items.add(tl(), u(tenant.quota.max_items));
            tenant_max_bytes.add(tl(), u(tenant.quota.max_bytes));
            connections.add(tl(), u(tenant.connections as u64));
            if node.is_none() {
                node.clone_from(&tenant.node);
            }
        }

        for family in [
            &ops,
            &items,
            &bytes,
            &evictions,
            &expirations,
            &calls,
            &faults,
            &instantiations,
            &quarantines,
            &quarantined,
            &plugin_bytes,
            &reloads,
            &tenant_items,
            &tenant_bytes,
            &tenant_max_items,
            &tenant_max_bytes,
            &connections,
            &origin_ops,
            &origin_latency,
            &level_reads,
            &partial_writes,
        ] {
            family.encode(&mut encoder)?;
        }
        if self.server_wide
            && let Some(n) = &node
        {
            encode_node(&mut encoder, n)?;
        }

        {
            let mut metric = encoder.encode_descriptor(
                "hoard_plugin_call_duration_seconds",
                "Time spent in each plugin export call.",
                None,
                MetricType::Histogram,
            )?;
            for (labels, snap) in &call_times {
                metric
                    .encode_family(labels)?
                    .encode_histogram::<NoLabelSet>(
                        snap.sum_seconds,
                        snap.count,
                        &snap.prometheus_buckets(),
                        None,
                    )?;
            }
        }

        if self.server_wide {
            {
                let mut metric = encoder.encode_descriptor(
                    "hoard_command_duration_seconds",
                    "Time to run each command, by reply class.",
                    None,
                    MetricType::Histogram,
                )?;
                for (command, outcome, snap) in super::commands::snapshot() {
                    let labels = [("command", command), ("outcome", outcome)];
                    metric
                        .encode_family(&labels)?
                        .encode_histogram::<NoLabelSet>(
                            snap.sum_seconds,
                            snap.count,
                            &snap.prometheus_buckets(),
                            None,
                        )?;
                }
            }
            if let Some(tracer) = super::trace::tracer() {
                let mut spans = Family::new(
                    "hoard_trace_spans",
                    "Spans by fate (exported, dropped when the queue was full).",
                    Counter,
                );
                let load = |a: &std::sync::atomic::AtomicU64| {
                    u(a.load(std::sync::atomic::Ordering::Relaxed))
                };
                spans.add(
                    vec![("fate", "exported".to_owned())],
                    load(&tracer.exported),
                );
                spans.add(vec![("fate", "dropped".to_owned())], load(&tracer.dropped));
                spans.encode(&mut encoder)?;
                let mut failures = Family::new(
                    "hoard_trace_export_failures",
                    "Batches the collector did not take.",
                    Counter,
                );
                failures.add(Vec::new(), load(&tracer.export_failures));
                failures.encode(&mut encoder)?;
            }
        }
        Ok(())
    }
}
