//! Building a running cache from a [`Config`]: plugin runtime, plugins
//! (bundled or from a directory), plain table, sealer. Shared by the binary,
//! the benchmarks and library users, so they all start the same way.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;

use crate::cache::Cache;
use crate::cache::catalog::{self, PluginSource};
use crate::cache::encryption::Sealer;
use crate::config::Config;
use crate::plugin::PluginRuntime;
use crate::reload::lifecycle::Lifecycle;
use crate::tenant::{Quota, Tenant, Tenants};
use crate::tier::{Node, Tier};
use crate::write_behind::WriteBehind;
use hoard_l1::{Clock, ExpiryMode, SystemClock, TableConfig};

/// A cache and the lifecycle that can change its plugins while it serves.
pub struct Started {
    /// The data path.
    pub cache: Cache,
    /// Hot reload: load, reload, unload.
    pub lifecycle: Arc<Lifecycle>,
}

/// Builds the cache. Plugins that fail to load are logged and left out;
/// the others serve.
pub fn build_cache(config: &Config) -> anyhow::Result<Started> {
    build_labelled(config, "", false, None, None)
}

/// [`build_cache`] for one tenant: `label` names its plugin threads; with
/// `strict` (a tenant of a multi-tenant server), `PLUGIN.LOAD` and
/// `PLUGIN.RELOAD` read nothing outside the plugin directory; its
/// L2-backed definitions use `tier`.
fn build_labelled(
    config: &Config,
    label: &str,
    strict: bool,
    tier: Option<Arc<Tier>>,
    write_behind: Option<&Arc<WriteBehind>>,
) -> anyhow::Result<Started> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let runtime = Arc::new(PluginRuntime::new(config.plugin.clone())?);
    let mut refused_files = Vec::new();
    let mut plugins_dir = None;
    let sources: Vec<PluginSource> = match &config.plugins {
        Some(dir) => {
            // Canonical, so the watcher's event paths match the sources' labels.
            let dir = dir
                .canonicalize()
                .with_context(|| format!("plugin directory {}", dir.display()))?;
            let (sources, refused) = catalog::sources_from_dir(&dir)
                .with_context(|| format!("reading plugin directory {}", dir.display()))?;
            refused_files = refused;
            plugins_dir = Some(dir);
            sources
        }
        None => crate::bundled::examples(),
    };
    let artifact_dir = config.artifact_dir();
    let caps = config.caps();
    let (catalog, refused) =
        catalog::load_all(&runtime, &sources, artifact_dir.as_deref(), &caps, &clock);
    for (source, error) in refused_files.iter().chain(&refused) {
        tracing::error!(plugin = %source, "refused plugin: {error}");
    }
    for cache in catalog.iter() {
        let origin = cache.plugin().origin();
        tracing::info!(
            cache = %cache.definition().name,
            id = %cache.definition().versioned_id(),
            source = %origin.source,
            artifact = ?origin.artifact,
            load_ms = origin.compile_time.as_millis() as u64,
            "loaded definition"
        );
    }

    let sealer = match std::env::var("HOARD_ENCRYPTION_KEY")
        .ok()
        .or_else(|| config.encryption_key.clone())
    {
        Some(key) => Sealer::from_hex(&key).context("encryption key")?,
        // Entries in L2 are read by every node: a per-process key would make
        // the others' entries unreadable.
        None if tier.is_some() => anyhow::bail!(
            "[l2] needs a shared `encryption_key` (or HOARD_ENCRYPTION_KEY), the same on every node"
        ),
        None => Sealer::random().context("generating an encryption key")?,
    };
    let origins =
        Arc::new(crate::origin::Origins::new(&config.origins).map_err(anyhow::Error::msg)?);
    let cache = Cache::builder(Arc::clone(&clock), sealer)
        .plain(TableConfig {
            max_items: config.plain.max_items,
            policy: config.plain_policy()?,
            expiry: ExpiryMode::Absolute,
            shards: 0,
            index_keys: false,
        })
        .catalog(catalog)
        .max_value_bytes(config.max_value_bytes)
        .plugin_threads(config.plugin.tenant_workers(), config.plugin.worker_nice)
        .label(label)
        .tier(tier)
        .origins(Arc::clone(&origins))
        .write_behind(write_behind.cloned())
        .build()
        .context("starting the plugin threads")?;
    if let Some(wb) = write_behind {
        wb.register(label, origins);
    }
    for origin in &config.origins {
        for name in &origin.definitions {
            match cache.catalog().get(name) {
                Some(defined) if !defined.plugin().has_origin_mapping() => tracing::warn!(
                    origin = %origin.name,
                    cache = %name,
                    "the definition's plugin exports no origin mapping (hoard:definition/origin@0.2.0): reads and writes will fail until it does"
                ),
                Some(_) => {}
                None => {
                    tracing::warn!(origin = %origin.name, cache = %name, "no such definition is loaded (yet)")
                }
            }
        }
    }
    let lifecycle = Arc::new(
        Lifecycle::new(cache.clone(), runtime, artifact_dir, caps, clock)
            .confined_to(plugins_dir, strict),
    );
    Ok(Started { cache, lifecycle })
}

/// Builds every tenant: one per `[[tenants]]` entry, or the single default
/// tenant when there are none.
pub fn build_tenants(config: &Config) -> anyhow::Result<Tenants> {
    build_tenants_on(config, None, None)
}

/// The node's write-behind queue, when an origin writes behind (not
/// flushing yet: [`WriteBehind::start`] does that inside the runtime).
pub fn build_write_behind(config: &Config, port: u16) -> anyhow::Result<Option<Arc<WriteBehind>>> {
    if !config.writes_behind() {
        return Ok(None);
    }
    config.write_behind.check().map_err(anyhow::Error::msg)?;
    config
        .write_behind
        .check_port(port)
        .map_err(anyhow::Error::msg)?;
    let path = config.write_behind.path(port);
    let wb = WriteBehind::open(config.write_behind.clone(), port)
        .with_context(|| format!("opening the write-behind queue {}", path.display()))?;
    Ok(Some(wb))
}

/// The L2 node `[l2]` asks for (not connected yet: [`Node::start`] does
/// that inside the runtime), or `None` for a single node.
pub fn build_l2(config: &Config) -> anyhow::Result<Option<Arc<Node>>> {
    config
        .l2
        .as_ref()
        .map(|l2| Node::new(l2, config.port))
        .transpose()
}

/// [`build_tenants`] whose caches share `node`'s L2 and bus, and the
/// node's write-behind queue.
pub fn build_tenants_on(
    config: &Config,
    node: Option<&Arc<Node>>,
    write_behind: Option<&Arc<WriteBehind>>,
) -> anyhow::Result<Tenants> {
    if config.tenants.is_empty() {
        let started = build_labelled(config, "", false, node.map(|n| n.tier("")), write_behind)?;
        if let Some(node) = node {
            node.register("", started.cache.clone());
        }
        return Ok(Tenants::Single(Arc::new(Tenant::new(
            String::new(),
            started.cache,
            started.lifecycle,
            config
                .plugins
                .as_ref()
                .and_then(|dir| dir.canonicalize().ok()),
            None,
            0,
            Quota::default(),
        ))));
    }
    let mut tenants = BTreeMap::new();
    for tenant in &config.tenants {
        if tenant.name.is_empty() || tenant.name == "admin" || tenants.contains_key(&tenant.name) {
            anyhow::bail!(
                "tenant name {:?} is empty, reserved or repeated",
                tenant.name
            );
        }
        let started = build_labelled(
            &config.for_tenant(tenant),
            &tenant.name,
            true,
            node.map(|n| n.tier(&tenant.name)),
            write_behind,
        )
        .with_context(|| format!("tenant {}", tenant.name))?;
        if let Some(node) = node {
            node.register(&tenant.name, started.cache.clone());
        }
        let plugins_dir = tenant.plugins.canonicalize().ok();
        tracing::info!(tenant = %tenant.name, caches = started.cache.list().len(), "tenant ready");
        tenants.insert(
            tenant.name.clone(),
            Arc::new(Tenant::new(
                tenant.name.clone(),
                started.cache,
                started.lifecycle,
                plugins_dir,
                Some(tenant.credential()?),
                tenant.max_connections,
                Quota {
                    max_items: tenant.max_items,
                    max_bytes: tenant.max_bytes,
                },
            )),
        );
    }
    Ok(Tenants::Many(tenants))
}
