//! THE data path, with an async face. Only this module decides the order
//! of plugin calls, value conversions and L1 operations, and where each step
//! runs; commands parse, call one method and turn its result into a reply.
//!
//! `CACHE.GET UserCache 42` arrives here as `Cache::get("UserCache", ["42"])`:
//! take the current catalog snapshot (once), find the definition, look the
//! parts up in its key memo (once, for pure keys) or else ask its plugin for
//! the key: inline under a small budget, or on a plugin thread (see
//! `Cache::call` and `plugin/workers.rs`) within the definition's call
//! budget (`BUSY` when it is spent); then look the key up
//! in the definition's L1 table, unwrap the stored envelope (decrypt,
//! decompress) and answer with a [`Lookup`]. Table work stays on the async
//! worker: it is short and never waits for a plugin.
//!
//! Later tiers (L2, origins) are asked from here too, which is why every
//! operation that may reach a plugin is `async`.

mod budget;
pub mod catalog;
pub mod compression;
pub mod encryption;
pub mod envelope;
pub mod error;
pub mod invalidation;
pub mod json_msgpack;
#[cfg(test)]
mod json_strategy;
mod key_memo;
mod l1_head;
pub mod msgpack_json;
pub mod msgpack_strict;
pub mod outcome;
pub mod read_through;
pub mod tiered;
pub mod transcode;
pub mod write_behind;

#[cfg(test)]
mod tests;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::cache::catalog::{Catalog, DefinedCache};
use crate::cache::encryption::Sealer;
use crate::cache::error::CacheError;
use crate::cache::outcome::{Lookup, Outcome, Stored, Verdict};
use crate::definition::{Definition, Invalidation};
use crate::plugin::{LoadedPlugin, PluginError, PluginOrigin, PluginWorkers};
use hoard_l1::{Clock, KeyObserver, SetCondition, Table, TableConfig, TableStats, Ttl};

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
    workers: PluginWorkers,
    clock: Arc<dyn Clock>,
    /// The shared level, when `[l2]` is configured.
    tier: Option<Arc<crate::tier::Tier>>,
    /// Bumped by every invalidation from another node, so a read of L2 that
    /// an invalidation overtook does not promote the old value.
    remote_epoch: std::sync::atomic::AtomicU64,
    /// The tenant's origins, by definition (`[[origins]]`).
    origins: Arc<crate::origin::Origins>,
    /// Who may store a loaded value (read-through and `CACHE.LEASE`).
    leases: crate::origin::lease::Leases,
    /// Sequence numbers of writes to origins.
    write_sequence: read_through::WriteSequence,
    /// The node's write-behind queue, when an origin writes behind.
    write_behind: Option<Arc<crate::write_behind::WriteBehind>>,
    /// The tenant's name (its plugin threads' label; "" for the single tenant).
    tenant: String,
    /// Told about every definition entry's change (client tracking); held while the
    /// catalog is swapped, so no table of a new catalog misses it.
    definition_observer: parking_lot::Mutex<Option<Arc<dyn DefinitionObserver>>>,
}

/// Hears about the changes of every definition's entries (client-side caching), whichever
/// definitions are loaded now or later: the cache installs the observer it hands out on each
/// definition's table, and again on every table of a new catalog.
pub trait DefinitionObserver: Send + Sync {
    /// The observer for the table of the cache called `name`.
    fn for_cache(&self, name: &str) -> Arc<dyn KeyObserver>;
}

/// Builds a [`Cache`]; the clock is the one every table of it reads, so
/// tests can drive expiry with `hoard_l1::ManualClock`.
pub struct CacheBuilder {
    clock: Arc<dyn Clock>,
    sealer: Sealer,
    plain: TableConfig,
    catalog: Catalog,
    max_value_bytes: usize,
    threads: usize,
    nice: i32,
    label: String,
    tier: Option<Arc<crate::tier::Tier>>,
    origins: Arc<crate::origin::Origins>,
    write_behind: Option<Arc<crate::write_behind::WriteBehind>>,
}

impl CacheBuilder {
    /// The node's write-behind queue, for definitions whose origin writes behind.
    pub fn write_behind(
        mut self,
        write_behind: Option<Arc<crate::write_behind::WriteBehind>>,
    ) -> Self {
        self.write_behind = write_behind;
        self
    }

    /// The tenant's origins (`[[origins]]`): read-through, leases, write-through.
    pub fn origins(mut self, origins: Arc<crate::origin::Origins>) -> Self {
        self.origins = origins;
        self
    }

    /// Settings of the plain keyspace (`GET`/`SET`).
    pub fn plain(mut self, config: TableConfig) -> Self {
        self.plain = config;
        self
    }

    /// The definitions it starts with (built on the same clock).
    pub fn catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = catalog;
        self
    }

    /// Largest value accepted, in bytes.
    pub fn max_value_bytes(mut self, bytes: usize) -> Self {
        self.max_value_bytes = bytes;
        self
    }

    /// How many plugin threads run this cache's plugin calls, and their
    /// niceness (see `PluginLimits::workers` and `worker_nice`).
    pub fn plugin_threads(mut self, threads: usize, nice: i32) -> Self {
        self.threads = threads;
        self.nice = nice;
        self
    }

    /// A name for its plugin threads (the tenant's), for `top -H` and logs.
    pub fn label(mut self, label: &str) -> Self {
        self.label = label.to_owned();
        self
    }

    /// The shared second level (`[l2]`) its L2-backed definitions use.
    pub fn tier(mut self, tier: Option<Arc<crate::tier::Tier>>) -> Self {
        self.tier = tier;
        self
    }

    /// Starts the plugin threads and returns the cache.
    pub fn build(self) -> std::io::Result<Cache> {
        let workers = PluginWorkers::start(self.threads, self.nice, &self.label)?;
        Ok(Cache {
            inner: Arc::new(Inner {
                plain: Table::new(self.plain, Arc::clone(&self.clock)),
                catalog: ArcSwap::from_pointee(self.catalog),
                sealer: self.sealer,
                max_value_bytes: self.max_value_bytes,
                workers,
                clock: self.clock,
                tier: self.tier,
                remote_epoch: std::sync::atomic::AtomicU64::new(0),
                origins: self.origins,
                leases: crate::origin::lease::Leases::default(),
                write_sequence: read_through::WriteSequence::default(),
                write_behind: self.write_behind,
                tenant: self.label,
                definition_observer: parking_lot::Mutex::new(None),
            }),
        })
    }
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
    /// Instances retired after a call near their memory limit.
    pub retired_instances: u64,
    /// Whether the plugin is quarantined right now.
    pub quarantined: bool,
    /// How many times it was quarantined.
    pub quarantines: u64,
    /// Calls waiting for a plugin thread right now.
    pub waiting_calls: usize,
}

impl Cache {
    /// Starts building a cache whose tables read `clock` and whose
    /// encrypted definitions are sealed with `sealer`.
    pub fn builder(clock: Arc<dyn Clock>, sealer: Sealer) -> CacheBuilder {
        CacheBuilder {
            clock,
            sealer,
            plain: TableConfig {
                max_items: 1_000_000,
                policy: hoard_l1::Policy::Lru,
                expiry: hoard_l1::ExpiryMode::Absolute,
                shards: 0,
                index_keys: false,
            },
            catalog: Catalog::default(),
            max_value_bytes: 1 << 20,
            threads: 1,
            nice: 0,
            label: String::new(),
            tier: None,
            origins: Arc::default(),
            write_behind: None,
        }
    }

    /// The keyspace of plain `GET`/`SET` (no definition, raw bytes).
    pub fn plain(&self) -> &Table {
        &self.inner.plain
    }

    /// The clock every table of this cache reads (new definitions must use it too).
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.inner.clock)
    }

    /// Largest value accepted, in bytes.
    pub fn max_value_bytes(&self) -> usize {
        self.inner.max_value_bytes
    }

    /// The current catalog snapshot; requests keep the one they started with.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.inner.catalog.load_full()
    }

    /// Replaces the catalog atomically (hot reload). With a definition observer, every table
    /// of the new catalog gets it, and the entries of a table the new catalog no longer has
    /// (unloaded, or replaced by an empty or copied table) are reported gone.
    pub fn swap_catalog(&self, catalog: Catalog) {
        let observer = self.inner.definition_observer.lock();
        let old = self.inner.catalog.swap(Arc::new(catalog));
        let Some(observer) = observer.as_ref() else {
            return;
        };
        let new = self.inner.catalog.load();
        for cache in new.iter() {
            cache
                .table()
                .observe(observer.for_cache(&cache.definition().name));
        }
        for gone in old.iter() {
            let kept = new.iter().any(|c| std::ptr::eq(c.table(), gone.table()));
            if !kept && !gone.table().is_empty() {
                observer.for_cache(&gone.definition().name).flushed();
            }
        }
    }

    /// Installs `observer` on every definition's table, now and after every catalog swap.
    pub fn observe_definitions(&self, observer: Arc<dyn DefinitionObserver>) {
        let mut slot = self.inner.definition_observer.lock();
        for cache in self.catalog().iter() {
            cache
                .table()
                .observe(observer.for_cache(&cache.definition().name));
        }
        *slot = Some(observer);
    }

    /// The definition called `name` in the current snapshot: the one
    /// snapshot a request works with.
    fn find(&self, name: &str) -> Result<Arc<DefinedCache>, CacheError> {
        self.inner
            .catalog
            .load()
            .get(name)
            .cloned()
            .ok_or_else(|| CacheError::NoCache(name.to_owned()))
    }

    fn check_size(&self, bytes: &[u8]) -> Result<(), CacheError> {
        if bytes.len() > self.inner.max_value_bytes {
            return Err(CacheError::TooLarge {
                size: bytes.len(),
                limit: self.inner.max_value_bytes,
            });
        }
        Ok(())
    }

    /// Runs `work` (which calls `cache`'s plugin) on `input`: the only way
    /// a request reaches a plugin. Returns the answer and the input back.
    ///
    /// Inline first, on this async worker, under a small budget of this
    /// thread's CPU time (`inline_budget_us`, checked at each epoch tick, so
    /// a preempted worker does not count against the plugin): a typical
    /// call takes a microsecond, far less than handing it to another thread
    /// and back. A call that outgrows the budget, or that needs a thread that may block (WASI streams block on
    /// tokio, which panics on an async worker), is run again on a plugin
    /// thread, and the definition's calls go there from then on. Calls are
    /// pure from the host's point of view, so running one again is safe.
    ///
    /// On a plugin thread the call waits for the definition's budget
    /// (`BUSY` when its queue is full) and may use its whole deadline.
    async fn call<I, R>(
        &self,
        cache: &Arc<DefinedCache>,
        input: I,
        work: fn(&DefinedCache, &I) -> Result<R, CacheError>,
    ) -> Result<(R, I), CacheError>
    where
        I: Send + 'static,
        R: Send + 'static,
    {
        if let Some(budget) = cache.inline_budget() {
            let inline = catch_unwind(AssertUnwindSafe(|| {
                crate::plugin::with_inline_budget(budget, || work(cache, &input))
            }));
            match inline {
                Ok(Err(CacheError::Plugin {
                    error: PluginError::OverInlineBudget,
                    ..
                })) => cache.stop_inline("a call outgrew the inline budget"),
                Ok(answer) => return answer.map(|r| (r, input)),
                Err(_) => cache.stop_inline("a call needed a thread that may block"),
            }
        }
        // Boxed: every request's future would otherwise carry (and move)
        // the state of this rarer path.
        Box::pin(self.call_on_thread(cache, input, work)).await
    }

    /// [`Cache::call`] on the tenant's plugin threads, within the
    /// definition's call budget.
    async fn call_on_thread<I, R>(
        &self,
        cache: &Arc<DefinedCache>,
        input: I,
        work: fn(&DefinedCache, &I) -> Result<R, CacheError>,
    ) -> Result<(R, I), CacheError>
    where
        I: Send + 'static,
        R: Send + 'static,
    {
        let permit = cache
            .budget()
            .admit()
            .await
            .map_err(|full| CacheError::Busy {
                cache: cache.definition().name.clone(),
                waiting: full.waiting,
            })?;
        let cache = Arc::clone(cache);
        self.inner
            .workers
            .run(move || {
                // Held until the call is done, even if the client went away.
                let _permit = permit;
                work(&cache, &input).map(|r| (r, input))
            })
            .await
            .unwrap_or(Err(CacheError::Internal))
    }

    /// The key for `parts`: from the memo (one lookup) or from the plugin.
    async fn key_of(
        &self,
        cache: &Arc<DefinedCache>,
        parts: Vec<String>,
    ) -> Result<String, CacheError> {
        match cache.memoized_key(&parts) {
            Some(key) => Ok(key),
            None => Ok(self
                .call(cache, parts, |c, parts| c.generate_key(parts))
                .await?
                .0),
        }
    }

    /// Looks up the entry for `parts`; the value of a hit is MessagePack.
    /// A memoized pure key is served without leaving the async worker.
    pub async fn get(&self, name: &str, parts: Vec<String>) -> Result<Lookup, CacheError> {
        self.get_reading(name, parts, |_| {}).await
    }

    /// [`Cache::get`], calling `before_read` with the entry's key once it is known and before
    /// the entry is read: client tracking remembers the read there, so a change racing with
    /// it is announced rather than missed.
    pub async fn get_reading(
        &self,
        name: &str,
        parts: Vec<String>,
        before_read: impl FnOnce(&str),
    ) -> Result<Lookup, CacheError> {
        let cache = self.find(name)?;
        if let Some(origin) = self.inner.origins.for_definition(name) {
            // The parts go on to the load's mapping: handed back by the
            // key's plugin call, not copied for it.
            let (key, parts) = match cache.memoized_key(&parts) {
                Some(key) => (key, parts),
                None => {
                    self.call(&cache, parts, |c, parts| c.generate_key(parts))
                        .await?
                }
            };
            // Boxed: a get of a definition without an origin (most) would
            // otherwise carry the read-through's state, and move it.
            return Box::pin(self.read_through(&cache, origin, key, parts)).await;
        }
        let key = self.key_of(&cache, parts).await?;
        before_read(&key);
        if self.l2_backed(&cache) {
            return Ok(Box::pin(self.tiered_get(&cache, &key)).await?.lookup);
        }
        self.lookup(&cache, &key)
    }

    /// [`Cache::get`], also saying which level answered (`CACHE.GETMETA`).
    /// `before_read` as for [`Cache::get_reading`].
    pub async fn get_meta(
        &self,
        name: &str,
        parts: Vec<String>,
        before_read: impl FnOnce(&str),
    ) -> Result<tiered::Served, CacheError> {
        let cache = self.find(name)?;
        let key = self.key_of(&cache, parts).await?;
        before_read(&key);
        if self.l2_backed(&cache) {
            return Box::pin(self.tiered_get(&cache, &key)).await;
        }
        let lookup = self.lookup(&cache, &key)?;
        Ok(tiered::Served {
            level: match lookup {
                Lookup::Hit(_) => outcome::Level::L1,
                Lookup::Miss => outcome::Level::None,
            },
            lookup,
        })
    }

    fn lookup(&self, cache: &DefinedCache, key: &str) -> Result<Lookup, CacheError> {
        if let Some(origin) = self.inner.origins.for_definition(&cache.definition().name) {
            return self.lookup_headed(cache, key, origin);
        }
        let mut span = crate::observe::trace::child("l1 get");
        // Unwrapped under the shard lock: one copy of the value instead of two.
        let unpacked = cache.table().get_with(key.as_bytes(), |stored| {
            envelope::unpack(
                &self.inner.sealer,
                key.as_bytes(),
                stored,
                self.inner.max_value_bytes,
            )
        });
        if let Some(span) = &mut span {
            let outcome = if unpacked.is_some() { "hit" } else { "miss" };
            span.attr(
                "hoard.cache",
                crate::observe::trace::Value::Str(cache.definition().name.clone()),
            );
            span.attr(
                "hoard.outcome",
                crate::observe::trace::Value::Str(outcome.to_owned()),
            );
        }
        drop(span);
        match unpacked {
            None => Ok(Lookup::Miss),
            Some(Ok(value)) => Ok(Lookup::Hit(value)),
            Some(Err(error)) => {
                // An entry we cannot read is useless: drop it, report it.
                cache.table().remove(key.as_bytes());
                let name = &cache.definition().name;
                tracing::error!(cache = %name, %key, %error, "dropping unreadable entry");
                Err(error.into())
            }
        }
    }

    /// Validates and stores a MessagePack value under the key of `parts`,
    /// with the definition's default TTL or `ttl_ms` (clamped to its max).
    /// The key and the verdict take one trip to a plugin thread together.
    /// A write-behind write returns once it is on disk.
    pub async fn set(
        &self,
        name: &str,
        value: Vec<u8>,
        parts: Vec<String>,
        ttl_ms: Option<u64>,
    ) -> Result<Stored, CacheError> {
        let (stored, ack) = self.set_durable_later(name, value, parts, ttl_ms).await?;
        if let Some(ack) = ack {
            ack.wait().await?;
        }
        Ok(stored)
    }

    /// [`Cache::set`], but a write-behind write returns as soon as it is
    /// queued and stored, with the [`Ack`](write_behind::Ack) to wait for
    /// before telling the client: a connection keeps running the commands
    /// pipelined behind it, so their writes share one fsync. Readers may
    /// see the value before it is durable, as Redis's `appendfsync always`
    /// allows; if the fsync fails, the entry is removed again.
    pub async fn set_durable_later(
        &self,
        name: &str,
        value: Vec<u8>,
        parts: Vec<String>,
        ttl_ms: Option<u64>,
    ) -> Result<(Stored, Option<write_behind::Ack>), CacheError> {
        self.check_size(&value)?;
        let cache = self.find(name)?;
        let memoized = cache.memoized_key(&parts);
        let origin = self.origin_of(name);
        let behind = self.behind(&cache, origin.as_ref())?;
        // The parts come back from the plugin call, for write-through.
        let ((key, verdict, mapped), (_, parts, value, _)) = self
            .call(
                &cache,
                (memoized, parts, value, behind.map(|b| (b.sequence, b.sql))),
                |c, (memoized, parts, value, behind)| {
                    let key = match memoized {
                        Some(key) => key.clone(),
                        None => c.generate_key(parts)?,
                    };
                    let verdict = judge(c, value)?;
                    // Write-behind: the write's origin request, made in the same trip.
                    let mapped = match (behind, &verdict) {
                        (Some((sequence, sql)), Verdict::Accepted) => Some(
                            c.plugin()
                                .origin_write_request(*sql, parts, value, *sequence)
                                .map_err(|e| c.plugin_error(e))?,
                        ),
                        _ => None,
                    };
                    Ok((key, verdict, mapped))
                },
            )
            .await?;
        if let Verdict::Refused(errors) = verdict {
            cache.count_reject();
            return Ok((Stored::Rejected { errors }, None));
        }
        let (value, ack) = match (&origin, behind, mapped) {
            (Some(origin), Some(behind), Some(mapped)) => {
                let ack = self.enqueue_behind(&cache, origin, &key, behind, mapped)?;
                (value, Some(ack))
            }
            (Some(origin), _, _) => (
                Box::pin(self.write_through(&cache, origin, parts, value)).await?,
                None,
            ),
            _ => (value, None),
        };
        let definition = cache.definition();
        let ttl = definition.effective_ttl_ms(ttl_ms);
        // A write is newer than whatever a lease holder is loading.
        let invalidating = self.inner.leases.writing(name, &key);
        if self.uses_l2(name) {
            drop(invalidating);
            let stored = envelope::pack(definition, &self.inner.sealer, key.as_bytes(), value)?;
            // Boxed, as the other network paths: a plain set's future stays small.
            return Ok((
                Box::pin(self.tiered_store(&cache, key, stored, ttl)).await?,
                ack,
            ));
        }
        let (stored, l1_ttl) = self.pack_entry(&cache, &key, value, ttl)?;
        let span = crate::observe::trace::child("l1 set");
        cache
            .table()
            .insert(key.as_bytes(), &stored, Some(l1_ttl), SetCondition::Always);
        drop(span);
        Ok((Stored::Stored, ack))
    }

    /// Removes the entry for `parts`; returns how many were removed (0 or 1).
    pub async fn remove(&self, name: &str, parts: Vec<String>) -> Result<u64, CacheError> {
        let cache = self.find(name)?;
        let key = self.key_of(&cache, parts).await?;
        let invalidating = self.inner.leases.writing(name, &key);
        if self.uses_l2(name) {
            drop(invalidating);
            return Ok(Box::pin(self.tiered_remove(&cache, &key)).await);
        }
        Ok(u64::from(cache.table().remove(key.as_bytes())))
    }

    /// Time left for the entry of `parts` (what `CACHE.TTL` shows).
    pub async fn ttl(&self, name: &str, parts: Vec<String>) -> Result<Ttl, CacheError> {
        let cache = self.find(name)?;
        let key = self.key_of(&cache, parts).await?;
        if self.has_head(name) {
            return Ok(self.fresh_ttl(&cache, &key));
        }
        Ok(cache.table().ttl(key.as_bytes()))
    }

    /// The key the plugin makes of `parts` (what `CACHE.KEY` shows).
    pub async fn key(&self, name: &str, parts: Vec<String>) -> Result<String, CacheError> {
        let cache = self.find(name)?;
        self.key_of(&cache, parts).await
    }

    /// Whether `value` (MessagePack) would be stored, without storing it
    /// (what `CACHE.VALIDATE` shows).
    pub async fn validate(&self, name: &str, value: Vec<u8>) -> Result<Verdict, CacheError> {
        self.check_size(&value)?;
        let cache = self.find(name)?;
        Ok(self
            .call(&cache, value, |c, value| judge(c, value))
            .await?
            .0)
    }

    /// What `event` would invalidate in one cache, without invalidating
    /// anything (what `CACHE.PLAN` shows): the plugin's own answer, before
    /// the host expands patterns or follows the cascade.
    pub async fn plan(
        &self,
        name: &str,
        event: String,
        payload: Vec<u8>,
    ) -> Result<Invalidation, CacheError> {
        self.check_size(&payload)?;
        let cache = self.find(name)?;
        let (plan, _) = self
            .call(&cache, (event, payload), |c, (event, payload)| {
                Ok(c.plugin()
                    .on_event(event, payload)
                    .map_err(|error| c.plugin_error(error))??)
            })
            .await?;
        Ok(plan)
    }

    /// Publishes a domain event (payload MessagePack) to every cache that
    /// listens. The plugins are asked, and the entries removed, on a plugin
    /// thread.
    pub async fn publish_event(
        &self,
        event: String,
        payload: Vec<u8>,
    ) -> Result<Outcome, CacheError> {
        self.check_size(&payload)?;
        let catalog = self.catalog();
        let invalidating = self.inner.leases.invalidating();
        // The removals run on a plugin thread but on behalf of this connection: client
        // tracking must see them as its writes (NOLOOP, and the reply waits for the pushes).
        let writer = crate::server::tracking::current_writer();
        let (outcome, effects, acks) = self
            .inner
            .workers
            .run(move || {
                let _writer = crate::server::tracking::writing_as(writer);
                let (outcome, effects) =
                    invalidation::publish_with_effects(&catalog, &event, &payload);
                (outcome, effects, crate::server::tracking::take_acks())
            })
            .await
            .map_err(|_| CacheError::Internal)?;
        void_leases(&invalidating, &effects);
        drop(invalidating);
        crate::server::tracking::keep_acks(acks);
        // With L2: the same removals in Redis and on every node.
        self.tiered_effects(effects).await;
        Ok(outcome)
    }

    /// Descriptor, counters and origin of one cache.
    pub fn info(&self, name: &str) -> Result<CacheInfo, CacheError> {
        let cache = self.find(name)?;
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
            retired_instances: cache.plugin().retired_instances(),
            quarantined: cache.plugin().is_quarantined(),
            quarantines: cache.plugin().quarantines(),
            waiting_calls: cache.budget().waiting(),
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
        let invalidating = self.inner.leases.invalidating();
        let mut removed = self.inner.plain.clear();
        for cache in self.catalog().iter() {
            invalidating.void_cache(&cache.definition().name);
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

/// Voids the leases of what `effects` removed, so no load that started
/// before the invalidation stores what it read.
pub(crate) fn void_leases(
    invalidating: &crate::origin::lease::Invalidating<'_>,
    effects: &[invalidation::Effect],
) {
    for effect in effects {
        let cache = effect.cache.as_deref();
        if effect.clear {
            if let Some(cache) = cache {
                invalidating.void_cache(cache);
            }
            continue;
        }
        for key in &effect.keys {
            invalidating.void_key(cache, key);
        }
        for pattern in &effect.patterns {
            invalidating.void_matching(cache, &hoard_l1::Glob::new(pattern.as_bytes()));
        }
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

/// [`value_verdict`] for a cache of the catalog, as a flat [`Verdict`].
fn judge(cache: &DefinedCache, value: &[u8]) -> Result<Verdict, CacheError> {
    match value_verdict(cache.plugin(), value) {
        Ok(answer) => Ok(answer.map_or_else(Verdict::Refused, |()| Verdict::Accepted)),
        Err(error) => Err(cache.plugin_error(error)),
    }
}
