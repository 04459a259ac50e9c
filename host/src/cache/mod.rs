//! THE data path. Only this module decides the order of plugin calls, value
//! conversions and L1 operations; commands call it and never reach past it.
//!
//! `CACHE.GET UserCache 42` arrives here as `Cache::get("UserCache", ["42"])`:
//! take the current catalog snapshot, find the definition, ask its plugin for
//! the key (or the memo, for pure keys), look the key up in the definition's
//! L1 table, unwrap the stored envelope (decrypt, decompress), and answer
//! with a typed [`Outcome`].

pub mod catalog;
pub mod compression;
pub mod encryption;
pub mod envelope;
pub mod error;
pub mod invalidation;
pub mod outcome;
pub mod tiered;
pub mod transcode;

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::cache::catalog::{Catalog, DefinedCache};
use crate::cache::encryption::Sealer;
use crate::cache::error::CacheError;
use crate::cache::outcome::Outcome;
use crate::definition::{Definition, EventError, Invalidation};
use crate::plugin::{LoadedPlugin, PluginError, PluginOrigin};
use hoard_l1::{SetCondition, Table, TableStats, Ttl};

/// A handle to the whole cache: plain keyspace plus every definition.
/// Cheap to clone; every connection holds one.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    plain: Table,
    catalog: ArcSwap<Catalog>,
    sealer: Sealer,
    max_value_bytes: usize,
    plugin_permits: Arc<tokio::sync::Semaphore>,
    /// The shared level, when `[l2]` is configured.
    tier: Option<Arc<crate::tier::Tier>>,
    /// Bumped by every invalidation from another node, so a read of L2 that
    /// an invalidation overtook does not promote the old value.
    remote_epoch: std::sync::atomic::AtomicU64,
}

/// What `CACHE.INFO` shows.
#[derive(Debug, Clone)]
pub struct CacheInfo {
    /// The declared rules.
    pub definition: Definition,
    /// L1 counters.
    pub stats: TableStats,
    /// Values refused.
    pub rejects: u64,
    /// Plugin calls made.
    pub plugin_calls: u64,
    /// Plugin calls that failed.
    pub plugin_faults: u64,
    /// Where the plugin came from.
    pub origin: PluginOrigin,
    /// Ready instances in the pool.
    pub idle_instances: usize,
    /// Instances created since load (the warm pool, replacements, bursts).
    pub instantiations: u64,
    /// Whether the plugin is quarantined right now.
    pub quarantined: bool,
    /// How many times it was quarantined.
    pub quarantines: u64,
}

impl Cache {
    /// A cache over a plain table and a catalog of definitions, whose
    /// plugins may run `plugin_concurrency` calls at once.
    pub fn new(
        plain: Table,
        catalog: Catalog,
        sealer: Sealer,
        max_value_bytes: usize,
        plugin_concurrency: usize,
    ) -> Self {
        Self::with_tier(
            plain,
            catalog,
            sealer,
            max_value_bytes,
            plugin_concurrency,
            None,
        )
    }

    /// [`Cache::new`] with a shared second level (`[l2]`).
    pub fn with_tier(
        plain: Table,
        catalog: Catalog,
        sealer: Sealer,
        max_value_bytes: usize,
        plugin_concurrency: usize,
        tier: Option<Arc<crate::tier::Tier>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                plain,
                catalog: ArcSwap::from_pointee(catalog),
                sealer,
                max_value_bytes,
                plugin_permits: Arc::new(tokio::sync::Semaphore::new(plugin_concurrency.max(1))),
                tier,
                remote_epoch: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// Permits for plugin calls of this cache (one tenant's share of the
    /// plugin workers), so a neighbour's CPU bomb cannot take every worker.
    pub fn plugin_permits(&self) -> Arc<tokio::sync::Semaphore> {
        Arc::clone(&self.inner.plugin_permits)
    }

    /// The keyspace of plain `GET`/`SET` (no definition, raw bytes).
    pub fn plain(&self) -> &Table {
        &self.inner.plain
    }

    /// Largest value accepted, in bytes.
    pub fn max_value_bytes(&self) -> usize {
        self.inner.max_value_bytes
    }

    /// The current catalog snapshot; requests keep the one they started with.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.inner.catalog.load_full()
    }

    /// Replaces the catalog atomically (hot reload).
    pub fn swap_catalog(&self, catalog: Catalog) {
        self.inner.catalog.store(Arc::new(catalog));
    }

    fn find(catalog: &Catalog, name: &str) -> Result<Arc<DefinedCache>, CacheError> {
        catalog
            .get(name)
            .cloned()
            .ok_or_else(|| CacheError::NoCache(name.to_owned()))
    }

    /// Looks up the entry for `parts`; the value of a hit is MessagePack.
    /// May call the plugin: run it where blocking is allowed.
    pub fn get(&self, name: &str, parts: &[String]) -> Result<Outcome, CacheError> {
        let cache = Self::find(&self.catalog(), name)?;
        let key = cache.key(parts)?;
        self.lookup(&cache, name, &key)
    }

    /// [`Cache::get`] if it needs no plugin call (unknown cache, or a
    /// memoized pure key); `None` when the plugin must be asked.
    pub fn get_without_plugin(
        &self,
        name: &str,
        parts: &[String],
    ) -> Option<Result<Outcome, CacheError>> {
        let cache = match Self::find(&self.catalog(), name) {
            Ok(cache) => cache,
            Err(e) => return Some(Err(e)),
        };
        let key = cache.memoized_key(parts)?;
        Some(self.lookup(&cache, name, &key))
    }

    fn lookup(&self, cache: &DefinedCache, name: &str, key: &str) -> Result<Outcome, CacheError> {
        // Unwrapped under the shard lock: one copy of the value instead of two.
        let unpacked = cache.table().get_with(key.as_bytes(), |stored| {
            envelope::unpack(
                &self.inner.sealer,
                key.as_bytes(),
                stored,
                self.inner.max_value_bytes,
            )
        });
        match unpacked {
            None => Ok(Outcome::Miss),
            Some(Ok(value)) => Ok(Outcome::Hit(value)),
            Some(Err(error)) => {
                // An entry we cannot read is useless: drop it, report it.
                cache.table().remove(key.as_bytes());
                tracing::error!(cache = name, %key, %error, "dropping unreadable entry");
                Err(error.into())
            }
        }
    }

    /// Validates and stores a MessagePack value under the key of `parts`,
    /// with the definition's default TTL or `ttl_ms` (clamped to its max).
    pub fn set(
        &self,
        name: &str,
        value: &[u8],
        parts: &[String],
        ttl_ms: Option<u64>,
    ) -> Result<Outcome, CacheError> {
        if value.len() > self.inner.max_value_bytes {
            return Err(CacheError::TooLarge {
                size: value.len(),
                limit: self.inner.max_value_bytes,
            });
        }
        let prepared = match self.prepare_set(name, value, parts, ttl_ms)? {
            Ok(prepared) => prepared,
            Err(rejected) => return Ok(rejected),
        };
        let cache = Self::find(&self.catalog(), name)?;
        cache.table().insert(
            prepared.key.as_bytes(),
            &prepared.stored,
            Some(prepared.ttl_ms),
            SetCondition::Always,
        );
        Ok(Outcome::Set)
    }

    /// The plugin's part of a write (key, verdict, envelope), without
    /// storing anything: `Err(Outcome::Rejected)` when the value is refused.
    /// May call the plugin: run it where blocking is allowed.
    pub fn prepare_set(
        &self,
        name: &str,
        value: &[u8],
        parts: &[String],
        ttl_ms: Option<u64>,
    ) -> Result<Result<tiered::Prepared, Outcome>, CacheError> {
        if value.len() > self.inner.max_value_bytes {
            return Err(CacheError::TooLarge {
                size: value.len(),
                limit: self.inner.max_value_bytes,
            });
        }
        let cache = Self::find(&self.catalog(), name)?;
        let definition = cache.definition();
        let key = cache.key(parts)?;
        if let Err(errors) = verdict(&cache, name, value)? {
            cache.count_reject();
            return Ok(Err(Outcome::Rejected { errors }));
        }
        let ttl_ms = definition.effective_ttl_ms(ttl_ms);
        let stored = envelope::pack(
            definition,
            &self.inner.sealer,
            key.as_bytes(),
            value.to_vec(),
        )?;
        Ok(Ok(tiered::Prepared {
            name: name.to_owned(),
            key,
            stored,
            ttl_ms,
        }))
    }

    /// Removes the entry for `parts`.
    pub fn remove(&self, name: &str, parts: &[String]) -> Result<Outcome, CacheError> {
        let cache = Self::find(&self.catalog(), name)?;
        let key = cache.key(parts)?;
        let removed = u64::from(cache.table().remove(key.as_bytes()));
        let mut per_cache = BTreeMap::new();
        if removed > 0 {
            per_cache.insert(name.to_owned(), removed);
        }
        Ok(Outcome::Invalidated {
            count: removed,
            per_cache,
        })
    }

    /// Time left for the entry of `parts` (what `CACHE.TTL` shows).
    pub fn ttl(&self, name: &str, parts: &[String]) -> Result<Ttl, CacheError> {
        let cache = Self::find(&self.catalog(), name)?;
        let key = cache.key(parts)?;
        Ok(cache.table().ttl(key.as_bytes()))
    }

    /// The key the plugin makes of `parts` (what `CACHE.KEY` shows).
    pub fn key(&self, name: &str, parts: &[String]) -> Result<String, CacheError> {
        Self::find(&self.catalog(), name)?.key(parts)
    }

    /// Whether `value` (MessagePack) would be stored, without storing it
    /// (what `CACHE.VALIDATE` shows): `Err` lists every reason it would not.
    pub fn check_value(
        &self,
        name: &str,
        value: &[u8],
    ) -> Result<Result<(), Vec<String>>, CacheError> {
        let cache = Self::find(&self.catalog(), name)?;
        verdict(&cache, name, value)
    }

    /// What `event` would invalidate in one cache, without invalidating
    /// anything (what `CACHE.PLAN` shows): the plugin's own answer, before
    /// the host expands patterns or follows the cascade.
    pub fn plan(
        &self,
        name: &str,
        event: &str,
        payload: &[u8],
    ) -> Result<Result<Invalidation, EventError>, CacheError> {
        let cache = Self::find(&self.catalog(), name)?;
        cache
            .plugin()
            .on_event(event, payload)
            .map_err(|error| CacheError::Plugin {
                cache: name.to_owned(),
                error,
            })
    }

    /// Publishes a domain event (payload MessagePack) to every cache that listens.
    pub fn publish_event(&self, event: &str, payload: &[u8]) -> Result<Outcome, CacheError> {
        if payload.len() > self.inner.max_value_bytes {
            return Err(CacheError::TooLarge {
                size: payload.len(),
                limit: self.inner.max_value_bytes,
            });
        }
        Ok(invalidation::publish(&self.catalog(), event, payload))
    }

    /// [`Cache::publish_event`], also returning what was removed, so the
    /// tiers can remove it from L2 and from the other nodes.
    pub fn publish_event_with_effects(
        &self,
        event: &str,
        payload: &[u8],
    ) -> Result<(Outcome, Vec<invalidation::Effect>), CacheError> {
        if payload.len() > self.inner.max_value_bytes {
            return Err(CacheError::TooLarge {
                size: payload.len(),
                limit: self.inner.max_value_bytes,
            });
        }
        Ok(invalidation::publish_with_effects(
            &self.catalog(),
            event,
            payload,
        ))
    }

    /// Descriptor, counters and origin of one cache.
    pub fn info(&self, name: &str) -> Result<CacheInfo, CacheError> {
        let cache = Self::find(&self.catalog(), name)?;
        let (plugin_calls, plugin_faults) = cache.plugin().call_stats();
        Ok(CacheInfo {
            definition: cache.definition().clone(),
            stats: cache.table().stats(),
            rejects: cache.rejects(),
            plugin_calls,
            plugin_faults,
            origin: cache.plugin().origin().clone(),
            idle_instances: cache.plugin().idle_instances(),
            instantiations: cache
                .plugin()
                .counters()
                .instantiations
                .load(std::sync::atomic::Ordering::Relaxed),
            quarantined: cache.plugin().is_quarantined(),
            quarantines: cache.plugin().quarantines(),
        })
    }

    /// Every cache: short name and versioned id.
    pub fn list(&self) -> Vec<(String, String)> {
        self.catalog()
            .iter()
            .map(|c| (c.definition().name.clone(), c.definition().versioned_id()))
            .collect()
    }

    /// Removes every entry, plain and defined; returns how many.
    pub fn flush_all(&self) -> u64 {
        let mut removed = self.inner.plain.clear();
        for cache in self.catalog().iter() {
            removed += cache.table().clear();
        }
        removed
    }

    /// One bounded pass of background expiry over every table.
    pub fn sweep_expired(&self, per_shard: usize) -> u64 {
        let mut removed = self.inner.plain.sweep_expired(per_shard);
        for cache in self.catalog().iter() {
            removed += cache.table().sweep_expired(per_shard);
        }
        removed
    }
}

/// The host's and the plugin's verdict on a value: nulls first (a host
/// rule), then the plugin's `validate`. A refusal always has a reason.
/// `plugin check` judges values with it too, so its verdicts are the server's.
pub fn value_verdict(
    plugin: &LoadedPlugin,
    value: &[u8],
) -> Result<Result<(), Vec<String>>, PluginError> {
    let definition = plugin.definition();
    if transcode::is_nil(value) && !definition.allow_null {
        return Ok(Err(vec![format!(
            "{} does not allow null values",
            definition.name
        )]));
    }
    Ok(plugin.validate(value)?.map_err(|mut errors| {
        if errors.is_empty() {
            errors.push("rejected by the definition".to_owned());
        }
        errors
    }))
}

fn verdict(
    cache: &DefinedCache,
    name: &str,
    value: &[u8],
) -> Result<Result<(), Vec<String>>, CacheError> {
    value_verdict(cache.plugin(), value).map_err(|error| CacheError::Plugin {
        cache: name.to_owned(),
        error,
    })
}
