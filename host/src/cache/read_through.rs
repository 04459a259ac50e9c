//! Definitions with an origin: read-through with single flight, stale
//! values (fail-safe, soft timeout), eager refresh, client leases
//! (`CACHE.LEASE`/`CACHE.FILL`) and write-through.
//!
//! The order of a read-through miss: take the key's lease (or wait on the
//! holder's load), ask the plugin for the origin request, run it on the
//! origin (host I/O, hard timeout), ask the plugin what the response means,
//! check and validate the value like any `CACHE.SET`, store it only if the
//! lease survived (no invalidation since), and hand the result to every
//! caller that waited. The load runs in its own task, so a caller that gave
//! up at the soft timeout (answering stale) does not cancel it.
//!
//! Entries of an origin-backed definition (without L2) carry two numbers in
//! front of the envelope: when they stop being fresh and when they were
//! written, on the cache's clock. L1 keeps them `stale_ms` past freshness,
//! so a stale copy is there to serve when the origin is slow or down.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::cache::catalog::DefinedCache;
use crate::cache::error::CacheError;
use crate::cache::outcome::{Lookup, Verdict};
use crate::cache::{Cache, envelope, l1_head, msgpack_strict};
use crate::origin::lease::{Acquired, Shared};
use crate::origin::{Fetched, LoadResult, Loaded, Origin, OriginError, WriteMode};
use hoard_l1::SetCondition;

/// How often a node that lost the cluster-wide load lease looks in L2 for
/// the holder's value.
const CLUSTER_POLL: Duration = Duration::from_millis(10);

/// MessagePack nil: what a "not found" is cached as, where nulls are allowed.
const NIL: u8 = 0xc0;

/// An origin-backed entry as L1 has it.
enum Entry {
    Fresh { value: Vec<u8>, refresh_due: bool },
    Stale(Vec<u8>),
    Miss,
}

/// What `CACHE.LEASE` answers.
#[derive(Debug)]
pub enum LeaseAnswer {
    /// The entry is there (fresh).
    Hit(Vec<u8>),
    /// Load it and `CACHE.FILL` it with this token.
    Granted(u64),
    /// Another caller holds the lease; a stale value to use meanwhile.
    Stale(Vec<u8>),
    /// Another caller holds the lease and there is nothing stale: retry
    /// after this many milliseconds at the latest.
    Wait(u64),
}

/// What `CACHE.FILL` did.
#[derive(Debug)]
pub enum Filled {
    /// Stored.
    Stored,
    /// Not stored: the key was invalidated or written since the lease was
    /// granted, or the lease lapsed.
    Refused,
    /// The value broke the definition's rules.
    Rejected(Vec<String>),
}

impl Cache {
    /// The origin of definition `name`, if the operator gave it one.
    pub fn origin_of(&self, name: &str) -> Option<Arc<Origin>> {
        self.inner.origins.for_definition(name).cloned()
    }

    /// Whether `name`'s L1 entries carry the freshness head.
    pub(crate) fn has_head(&self, name: &str) -> bool {
        self.inner.origins.for_definition(name).is_some() && !self.uses_l2(name)
    }

    fn now(&self) -> u64 {
        self.inner.clock.now_ms()
    }

    /// Packs `value` for L1 as `cache` keeps it, with the TTL L1 gets.
    pub(crate) fn pack_entry(
        &self,
        cache: &DefinedCache,
        key: &str,
        value: Vec<u8>,
        ttl_ms: u64,
    ) -> Result<(Vec<u8>, u64), CacheError> {
        let definition = cache.definition();
        let body = envelope::pack(definition, &self.inner.sealer, key.as_bytes(), value)?;
        let Some(origin) = self.inner.origins.for_definition(&definition.name) else {
            return Ok((body, ttl_ms));
        };
        if self.uses_l2(&definition.name) {
            return Ok((body, ttl_ms));
        }
        let now = self.now();
        let out = l1_head::wrap(now.saturating_add(ttl_ms), now, &body);
        Ok((out, ttl_ms.saturating_add(origin.config().stale_ms)))
    }

    /// Reads an origin-backed entry with its freshness.
    fn entry(&self, cache: &DefinedCache, key: &str, origin: &Origin) -> Result<Entry, CacheError> {
        let config = origin.config();
        // With no stale window, no eager refresh and absolute expiry, L1
        // keeps an entry exactly as long as it is fresh (`pack_entry` gives
        // it the same TTL, read off the same clock a moment earlier): what
        // L1 returns is fresh, and a hit reads no clock of its own.
        let l1_is_freshness = config.stale_ms == 0
            && config.refresh_after <= 0.0
            && cache.definition().expiry == hoard_l1::ExpiryMode::Absolute;
        let now = if l1_is_freshness { 0 } else { self.now() };
        let found = cache.table().get_with(key.as_bytes(), |stored| {
            l1_head::split(stored).map(|(fresh_until, written, body)| {
                (
                    fresh_until,
                    written,
                    envelope::unpack(
                        &self.inner.sealer,
                        key.as_bytes(),
                        body,
                        self.inner.max_value_bytes,
                    ),
                )
            })
        });
        match found {
            None => Ok(Entry::Miss),
            Some(Some((_, _, Ok(value)))) if l1_is_freshness => Ok(Entry::Fresh {
                value,
                refresh_due: false,
            }),
            Some(Some((fresh_until, written, Ok(value)))) => {
                if now < fresh_until {
                    let after = config.refresh_after;
                    let life = fresh_until.saturating_sub(written);
                    #[allow(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        clippy::cast_precision_loss
                    )]
                    let due_at = written.saturating_add((life as f64 * after) as u64);
                    Ok(Entry::Fresh {
                        value,
                        refresh_due: after > 0.0 && now >= due_at,
                    })
                } else {
                    Ok(Entry::Stale(value))
                }
            }
            Some(Some((_, _, Err(error)))) => {
                cache.table().remove(key.as_bytes());
                tracing::error!(cache = %cache.definition().name, %key, %error, "dropping unreadable entry");
                Err(error.into())
            }
            Some(None) => {
                cache.table().remove(key.as_bytes());
                Ok(Entry::Miss)
            }
        }
    }

    /// Freshness left of an origin-backed entry (`CACHE.TTL`): the time it
    /// will be served as fresh, not the stale window L1 keeps it for.
    pub(crate) fn fresh_ttl(&self, cache: &DefinedCache, key: &str) -> hoard_l1::Ttl {
        let now = self.now();
        cache
            .table()
            .get_with(key.as_bytes(), |stored| {
                l1_head::split(stored).map(|(fresh, _, _)| fresh)
            })
            .flatten()
            .filter(|fresh| *fresh > now)
            .map_or(hoard_l1::Ttl::Missing, |fresh| {
                hoard_l1::Ttl::RemainingMs(fresh - now)
            })
    }

    /// A plain lookup of an origin-backed entry: fresh values only.
    pub(crate) fn lookup_headed(
        &self,
        cache: &DefinedCache,
        key: &str,
        origin: &Origin,
    ) -> Result<Lookup, CacheError> {
        Ok(match self.entry(cache, key, origin)? {
            Entry::Fresh { value, .. } => Lookup::Hit(value),
            Entry::Stale(_) | Entry::Miss => Lookup::Miss,
        })
    }

    /// `CACHE.GET` of a definition with an origin.
    ///
    /// The caller that takes the lease loads in its own task (no hop to
    /// another task and back) unless the load must be able to outlive it:
    /// with a stale value and a soft timeout (it answers stale and the load
    /// finishes in the background) or with L2 (the cluster-wide lease is
    /// given back by the load itself). Should that caller's task be dropped
    /// mid-load (its deadline passed, the server is shutting down), its
    /// guard gives the lease back and the callers waiting on it take over:
    /// one of them loads, the others wait on that one.
    pub(crate) async fn read_through(
        &self,
        cache: &Arc<DefinedCache>,
        origin: &Arc<Origin>,
        key: String,
        parts: Vec<String>,
    ) -> Result<Lookup, CacheError> {
        let name = &cache.definition().name;
        let l2 = self.uses_l2(name);
        let stale = if l2 {
            match self.tiered_get(cache, &key).await?.lookup {
                Lookup::Hit(value) => return Ok(Lookup::Hit(value)),
                Lookup::Miss => None,
            }
        } else {
            match self.entry(cache, &key, origin)? {
                Entry::Fresh { value, refresh_due } => {
                    if refresh_due {
                        self.refresh_ahead(cache, origin, &key, parts);
                    }
                    return Ok(Lookup::Hit(value));
                }
                Entry::Stale(value) => Some(value),
                Entry::Miss => None,
            }
        };
        let soft = origin.config().soft_timeout_ms;
        let deadline = tokio::time::Instant::now() + load_budget(cache, origin);
        loop {
            let rx = match self.acquire_load(name, &key, origin) {
                Acquired::Granted {
                    token,
                    publish: Some(tx),
                } => {
                    // The previous holder may have stored the value and let
                    // go between our look and our lease: look once more
                    // (L1 only; with L2 the load looks in L2 itself).
                    if !l2 {
                        match self.entry(cache, &key, origin) {
                            Ok(Entry::Fresh { value, .. }) => {
                                self.inner.leases.release(name, &key, token);
                                let _ = tx.send(Some(Arc::new(Ok(Fetched::Value(value.clone())))));
                                return Ok(Lookup::Hit(value));
                            }
                            Ok(Entry::Stale(_) | Entry::Miss) => {}
                            Err(error) => {
                                self.inner.leases.release(name, &key, token);
                                return Err(error);
                            }
                        }
                    }
                    if l2 || (stale.is_some() && soft > 0) {
                        let background = self.load_in_background(
                            cache,
                            origin,
                            &key,
                            parts,
                            Some(token),
                            tx,
                            stale,
                            deadline,
                        );
                        return Box::pin(background).await;
                    }
                    let leading = Leading {
                        leases: &self.inner.leases,
                        name,
                        key: &key,
                        token,
                        publish: Some(tx),
                    };
                    // Boxed: a hit's future stays small (and cheap to move).
                    let load = Box::pin(self.run_load(cache, origin, &key, parts, Some(token)));
                    let result = tokio::time::timeout_at(deadline, load).await.ok();
                    let shared = result.map(|result| leading.finish(result));
                    return answer(cache, origin, shared.as_deref(), stale);
                }
                Acquired::Granted { publish: None, .. } => return Err(CacheError::Internal),
                Acquired::Held {
                    result: Some(rx), ..
                } => {
                    origin.counters.coalesced.fetch_add(1, Ordering::Relaxed);
                    rx
                }
                Acquired::Held { result: None, .. } => {
                    // A client holds the lease: serve stale, or load without storing.
                    if let Some(value) = stale {
                        origin.counters.stale_served.fetch_add(1, Ordering::Relaxed);
                        return Ok(Lookup::Hit(value));
                    }
                    if l2 {
                        let (tx, _) = tokio::sync::watch::channel(None);
                        let background = self.load_in_background(
                            cache, origin, &key, parts, None, tx, stale, deadline,
                        );
                        return Box::pin(background).await;
                    }
                    let load = Box::pin(self.run_load(cache, origin, &key, parts, None));
                    let result = tokio::time::timeout_at(deadline, load).await.ok();
                    return answer(cache, origin, result.as_ref(), stale);
                }
            };
            match self.wait_load(origin, rx, stale.is_some(), deadline).await {
                Waited::Done(result) => return answer(cache, origin, result.as_deref(), stale),
                // The loading caller went away: take over (or wait on whoever did).
                Waited::Abandoned if tokio::time::Instant::now() < deadline => {}
                Waited::Abandoned => return answer(cache, origin, None, stale),
            }
        }
    }

    /// The host's lease to load `key`: held for as long as a load may take.
    fn acquire_load(&self, name: &str, key: &str, origin: &Origin) -> Acquired {
        let config = origin.config();
        self.inner.leases.acquire(
            name,
            key,
            self.now(),
            config.lease_ms.max(config.timeout_ms),
            true,
        )
    }

    /// Waits for another caller's load: until the soft timeout when there
    /// is a stale value to answer instead, else until `deadline`.
    async fn wait_load(
        &self,
        origin: &Origin,
        mut rx: tokio::sync::watch::Receiver<Shared>,
        has_stale: bool,
        deadline: tokio::time::Instant,
    ) -> Waited {
        let wait = async {
            loop {
                if let Some(done) = rx.borrow_and_update().clone() {
                    return Waited::Done(Some(done));
                }
                if rx.changed().await.is_err() {
                    // Closed: the result was sent just before, or never will be.
                    return match rx.borrow().clone() {
                        Some(done) => Waited::Done(Some(done)),
                        None => Waited::Abandoned,
                    };
                }
            }
        };
        let soft = origin.config().soft_timeout_ms;
        let until = if has_stale && soft > 0 {
            deadline.min(tokio::time::Instant::now() + Duration::from_millis(soft))
        } else {
            deadline
        };
        tokio::time::timeout_at(until, wait)
            .await
            .unwrap_or(Waited::Done(None))
    }

    /// A load in its own task, which outlives this caller if it must; the
    /// answer once it is done, or at the soft timeout (stale) or `deadline`.
    #[allow(clippy::too_many_arguments)]
    async fn load_in_background(
        &self,
        cache: &Arc<DefinedCache>,
        origin: &Arc<Origin>,
        key: &str,
        parts: Vec<String>,
        token: Option<u64>,
        publish: tokio::sync::watch::Sender<Shared>,
        stale: Option<Vec<u8>>,
        deadline: tokio::time::Instant,
    ) -> Result<Lookup, CacheError> {
        let rx = publish.subscribe();
        self.spawn_load(cache, origin, key.to_owned(), parts, token, publish);
        let shared = match self.wait_load(origin, rx, stale.is_some(), deadline).await {
            Waited::Done(shared) => shared,
            Waited::Abandoned => None,
        };
        answer(cache, origin, shared.as_deref(), stale)
    }

    /// Eager refresh: one background reload per entry, while reads go on.
    fn refresh_ahead(
        &self,
        cache: &Arc<DefinedCache>,
        origin: &Arc<Origin>,
        key: &str,
        parts: Vec<String>,
    ) {
        if let Acquired::Granted {
            token,
            publish: Some(tx),
        } = self.acquire_load(&cache.definition().name, key, origin)
        {
            origin.counters.refreshes.fetch_add(1, Ordering::Relaxed);
            self.spawn_load(cache, origin, key.to_owned(), parts, Some(token), tx);
        }
    }

    /// Starts a load in its own task; its result goes to `publish`, and
    /// into the cache when `token` (the lease) is still valid.
    fn spawn_load(
        &self,
        cache: &Arc<DefinedCache>,
        origin: &Arc<Origin>,
        key: String,
        parts: Vec<String>,
        token: Option<u64>,
        publish: tokio::sync::watch::Sender<Shared>,
    ) {
        let this = self.clone();
        let cache = Arc::clone(cache);
        let origin = Arc::clone(origin);
        // The load outlives the request that started it, but is traced as its child.
        let traced = crate::observe::trace::current();
        let load = async move {
            let result = this.run_load(&cache, &origin, &key, parts, token).await;
            let _ = publish.send(Some(Arc::new(result)));
        };
        match traced {
            Some(context) => tokio::spawn(crate::observe::trace::scope(context, load)),
            None => tokio::spawn(load),
        };
    }

    /// One load from start to end: from the origin (through L2's lease
    /// with L2), stored when `token` (the lease) is still valid or the
    /// lease given back; the cluster-wide lease given back.
    async fn run_load(
        &self,
        cache: &Arc<DefinedCache>,
        origin: &Origin,
        key: &str,
        parts: Vec<String>,
        token: Option<u64>,
    ) -> LoadResult {
        let name = &cache.definition().name;
        let (result, cluster_lease) = if self.uses_l2(name) {
            self.load_across_nodes(cache, origin, key, parts).await
        } else {
            origin.counters.loads.fetch_add(1, Ordering::Relaxed);
            (self.load(cache, origin, key, parts).await, false)
        };
        if let Some(token) = token {
            match &result {
                Ok(fetched) => {
                    if let Err(error) = self.store_fetched(cache, origin, key, token, fetched).await
                    {
                        tracing::warn!(cache = %name, %key, %error, "a loaded value could not be stored");
                    }
                }
                Err(_) => self.inner.leases.release(name, key, token),
            }
        }
        if cluster_lease && let Some(tier) = self.tier() {
            let d = cache.definition();
            tier.release_load(&d.id, d.version.major, key).await;
        }
        if let Err(error) = &result {
            tracing::debug!(cache = %name, %key, %error, "origin load failed");
        }
        result
    }

    /// A load of an L2-backed definition: one per key across the nodes.
    /// The node that takes the lease in Redis loads and writes L2; the
    /// others read L2 until the value is there (or the lease lapses, then
    /// they load themselves). With Redis away, every node loads for itself:
    /// the origin is still protected per node by the local single flight.
    /// Returns the result and whether this node holds the Redis lease.
    async fn load_across_nodes(
        &self,
        cache: &Arc<DefinedCache>,
        origin: &Origin,
        key: &str,
        parts: Vec<String>,
    ) -> (LoadResult, bool) {
        let Some(tier) = self.tier().cloned() else {
            origin.counters.loads.fetch_add(1, Ordering::Relaxed);
            return (self.load(cache, origin, key, parts).await, false);
        };
        let d = cache.definition();
        let budget = load_budget(cache, origin);
        let lease_ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX);
        if let Ok(false) = tier.lease_load(&d.id, d.version.major, key, lease_ms).await {
            origin.counters.coalesced.fetch_add(1, Ordering::Relaxed);
            let deadline = tokio::time::Instant::now() + budget;
            // The holder announces nothing but the value itself: poll L2 for it.
            while tokio::time::Instant::now() < deadline {
                tokio::time::sleep(CLUSTER_POLL).await;
                if let Some(value) = self.l2_value(&tier, cache, key).await {
                    return (Ok(Fetched::Value(value)), false);
                }
                // The holder let go without writing (its load failed, or an
                // invalidation voided it): the next node in takes over.
                if let Ok(true) = tier.lease_load(&d.id, d.version.major, key, lease_ms).await {
                    break;
                }
            }
        }
        // The previous holder may have written L2 and let go between our
        // miss and our lease: look once more before going to the origin.
        if let Some(value) = self.l2_value(&tier, cache, key).await {
            return (Ok(Fetched::Value(value)), true);
        }
        origin.counters.loads.fetch_add(1, Ordering::Relaxed);
        (self.load(cache, origin, key, parts).await, true)
    }

    /// The value of `key` in L2, if it is there and readable.
    async fn l2_value(
        &self,
        tier: &crate::tier::Tier,
        cache: &DefinedCache,
        key: &str,
    ) -> Option<Vec<u8>> {
        let d = cache.definition();
        match tier.read(&d.id, d.version.major, key, false).await {
            Ok(crate::tier::L2Read::Found { envelope, .. }) => envelope::unpack(
                &self.inner.sealer,
                key.as_bytes(),
                &envelope,
                self.inner.max_value_bytes,
            )
            .ok(),
            _ => None,
        }
    }

    /// Stores what a load fetched, if its lease is still valid.
    async fn store_fetched(
        &self,
        cache: &Arc<DefinedCache>,
        origin: &Origin,
        key: &str,
        token: u64,
        fetched: &Fetched,
    ) -> Result<(), CacheError> {
        let definition = cache.definition();
        let value = match fetched {
            Fetched::Value(value) => value.clone(),
            Fetched::NotFound if definition.allow_null => vec![NIL],
            Fetched::NotFound => {
                self.inner.leases.release(&definition.name, key, token);
                return Ok(());
            }
        };
        let ttl = definition.effective_ttl_ms(origin.config().load_ttl_ms);
        self.store_leased(cache, key, token, value, ttl).await?;
        Ok(())
    }

    /// Stores `value` under `key` if lease `token` still holds (checked and
    /// stored under the lease table's lock); whether it stored. With L2 the
    /// lease guards the decision, and L2's own newest-wins rules the write.
    async fn store_leased(
        &self,
        cache: &DefinedCache,
        key: &str,
        token: u64,
        value: Vec<u8>,
        ttl_ms: u64,
    ) -> Result<bool, CacheError> {
        let definition = cache.definition();
        if self.uses_l2(&definition.name) {
            let stored = envelope::pack(definition, &self.inner.sealer, key.as_bytes(), value)?;
            if !self.inner.leases.fill(&definition.name, key, token, || {}) {
                return Ok(false);
            }
            self.tiered_store(cache, key.to_owned(), stored, ttl_ms)
                .await?;
            return Ok(true);
        }
        let (stored, l1_ttl) = self.pack_entry(cache, key, value, ttl_ms)?;
        Ok(self.inner.leases.fill(&definition.name, key, token, || {
            cache
                .table()
                .insert(key.as_bytes(), &stored, Some(l1_ttl), SetCondition::Always);
        }))
    }

    /// One load: mapping → origin → mapping → the host's checks and `validate`.
    async fn load(
        &self,
        cache: &Arc<DefinedCache>,
        origin: &Origin,
        key: &str,
        parts: Vec<String>,
    ) -> LoadResult {
        if !cache.plugin().has_origin_mapping() {
            return Err(no_mapping(cache));
        }
        let mapping = |error: CacheError| OriginError::Mapping(error.to_string());
        let sql = origin.kind() == "postgres";
        let (request, (parts, _, _)) = self
            .call(
                cache,
                (parts, key.to_owned(), sql),
                |c, (parts, key, sql)| {
                    c.plugin()
                        .origin_load_request(*sql, parts, key)
                        .map_err(|e| c.plugin_error(e))
                },
            )
            .await
            .map_err(mapping)?;
        let request = request.map_err(OriginError::Mapping)?;
        let response = origin.execute(request).await?;
        // What the response means, checked and validated: one trip.
        let (checked, _) = self
            .call(
                cache,
                (parts, response, self.inner.max_value_bytes),
                |c, (parts, response, max_value_bytes)| {
                    let loaded = c
                        .plugin()
                        .origin_load_response(parts, response)
                        .map_err(|e| c.plugin_error(e))?;
                    Ok(match loaded {
                        Err(error) => Err(OriginError::Mapping(error)),
                        Ok(Loaded::NotFound) => Ok(Fetched::NotFound),
                        Ok(Loaded::Value(value)) => check_loaded(c, value, *max_value_bytes)?,
                    })
                },
            )
            .await
            .map_err(mapping)?;
        checked
    }

    /// `CACHE.LEASE`: the entry, or the lease to load it, or what to do meanwhile.
    pub async fn lease(&self, name: &str, parts: Vec<String>) -> Result<LeaseAnswer, CacheError> {
        let cache = self.find(name)?;
        let key = self.key_of(&cache, parts).await?;
        let origin = self.origin_of(name);
        let stale = match &origin {
            Some(origin) if self.has_head(name) => match self.entry(&cache, &key, origin)? {
                Entry::Fresh { value, .. } => return Ok(LeaseAnswer::Hit(value)),
                Entry::Stale(value) => Some(value),
                Entry::Miss => None,
            },
            _ => match self.lookup_any(&cache, &key).await? {
                Lookup::Hit(value) => return Ok(LeaseAnswer::Hit(value)),
                Lookup::Miss => None,
            },
        };
        let lease_ms = origin.as_ref().map_or(10_000, |o| o.config().lease_ms);
        match self
            .inner
            .leases
            .acquire(name, &key, self.now(), lease_ms, false)
        {
            Acquired::Granted { token, .. } => {
                if let Some(origin) = &origin {
                    origin
                        .counters
                        .leases_granted
                        .fetch_add(1, Ordering::Relaxed);
                }
                Ok(LeaseAnswer::Granted(token))
            }
            Acquired::Held { retry_ms, .. } => {
                if let Some(origin) = &origin {
                    origin
                        .counters
                        .leases_waited
                        .fetch_add(1, Ordering::Relaxed);
                }
                Ok(match stale {
                    Some(value) => LeaseAnswer::Stale(value),
                    None => LeaseAnswer::Wait(retry_ms),
                })
            }
        }
    }

    /// `CACHE.FILL`: stores `value` for `parts` if lease `token` still holds.
    pub async fn fill(
        &self,
        name: &str,
        token: u64,
        value: Vec<u8>,
        parts: Vec<String>,
        ttl_ms: Option<u64>,
    ) -> Result<Filled, CacheError> {
        self.check_size(&value)?;
        let cache = self.find(name)?;
        let key = self.key_of(&cache, parts).await?;
        let (verdict, value) = self
            .call(&cache, value, |c, value| super::judge(c, value))
            .await?;
        if let Verdict::Refused(errors) = verdict {
            cache.count_reject();
            return Ok(Filled::Rejected(errors));
        }
        let ttl = cache.definition().effective_ttl_ms(ttl_ms);
        if self.store_leased(&cache, &key, token, value, ttl).await? {
            return Ok(Filled::Stored);
        }
        if let Some(origin) = self.origin_of(name) {
            origin
                .counters
                .fills_refused
                .fetch_add(1, Ordering::Relaxed);
        }
        Ok(Filled::Refused)
    }

    /// Write-through: the origin first; the cache only if it took the write.
    pub(crate) async fn write_through(
        &self,
        cache: &Arc<DefinedCache>,
        origin: &Origin,
        parts: Vec<String>,
        value: Vec<u8>,
    ) -> Result<Vec<u8>, CacheError> {
        if origin.config().write != WriteMode::Through {
            return Ok(value);
        }
        if !cache.plugin().has_origin_mapping() {
            return Err(CacheError::Origin(no_mapping(cache)));
        }
        let sequence = self.inner.write_sequence.next();
        let sql = origin.kind() == "postgres";
        let (request, (_, value, _, _)) = self
            .call(
                cache,
                (parts, value, sequence, sql),
                |c, (parts, value, seq, sql)| {
                    c.plugin()
                        .origin_write_request(*sql, parts, value, *seq)
                        .map_err(|e| c.plugin_error(e))
                },
            )
            .await?;
        let request = request.map_err(|e| CacheError::Origin(OriginError::Mapping(e)))?;
        let response = origin.execute(request).await.map_err(CacheError::Origin)?;
        Origin::write_outcome(&response).map_err(|e| {
            origin.counters.errors.fetch_add(1, Ordering::Relaxed);
            CacheError::Origin(e)
        })?;
        origin.counters.writes.fetch_add(1, Ordering::Relaxed);
        Ok(value)
    }

    /// Any lookup (L1, or L1 then L2), without an origin.
    async fn lookup_any(&self, cache: &Arc<DefinedCache>, key: &str) -> Result<Lookup, CacheError> {
        if self.uses_l2(&cache.definition().name) {
            return Ok(self.tiered_get(cache, key).await?.lookup);
        }
        self.lookup(cache, key)
    }
}

/// A loaded value as the host checks it (size, strict MessagePack) and
/// the plugin's `validate` judges it; `Err` only when `validate` failed.
fn check_loaded(
    cache: &DefinedCache,
    value: Vec<u8>,
    max_value_bytes: usize,
) -> Result<LoadResult, CacheError> {
    if value.len() > max_value_bytes {
        return Ok(Err(OriginError::Mapping(format!(
            "the mapped value has {} bytes (limit {max_value_bytes})",
            value.len(),
        ))));
    }
    if let Err(e) = msgpack_strict::check(&value) {
        return Ok(Err(OriginError::Mapping(format!("the mapped value: {e}"))));
    }
    Ok(match super::judge(cache, &value)? {
        Verdict::Accepted => Ok(Fetched::Value(value)),
        Verdict::Refused(errors) => Err(OriginError::Mapping(format!(
            "the loaded value was refused: {}",
            errors.join("; ")
        ))),
    })
}

/// What waiting on another caller's load came to.
enum Waited {
    /// Its result, or `None` when the wait timed out.
    Done(Shared),
    /// The loading caller went away without a result.
    Abandoned,
}

/// The lease of a load running in the task of the caller that took it. If
/// that load is dropped before it ends (its deadline passed, the server
/// shuts down), the lease is given back before the waiters hear of it, so
/// they take over instead of waiting for a result that will never come.
struct Leading<'a> {
    leases: &'a crate::origin::lease::Leases,
    name: &'a str,
    key: &'a str,
    token: u64,
    publish: Option<tokio::sync::watch::Sender<Shared>>,
}

impl Leading<'_> {
    /// Hands the load's result to every caller that waited on it.
    fn finish(mut self, result: LoadResult) -> Arc<LoadResult> {
        let shared = Arc::new(result);
        if let Some(tx) = self.publish.take() {
            let _ = tx.send(Some(Arc::clone(&shared)));
        }
        shared
    }
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if self.publish.is_some() {
            // Stored or given back already when the load ended; if it did
            // not, the lease goes now, then the sender (waking the waiters).
            self.leases.release(self.name, self.key, self.token);
            self.publish = None;
        }
    }
}

/// The answer to a read-through `CACHE.GET` from a load's result (`None`:
/// no result in time), or the stale value when there is no usable result.
fn answer(
    cache: &DefinedCache,
    origin: &Origin,
    result: Option<&LoadResult>,
    stale: Option<Vec<u8>>,
) -> Result<Lookup, CacheError> {
    match (result, stale) {
        (Some(Ok(Fetched::Value(value))), _) => Ok(Lookup::Hit(value.clone())),
        // Answered as it will be read from the cache: a stored nil where
        // nulls are allowed (negative caching), a miss otherwise.
        (Some(Ok(Fetched::NotFound)), _) if cache.definition().allow_null => {
            Ok(Lookup::Hit(vec![NIL]))
        }
        (Some(Ok(Fetched::NotFound)), _) => Ok(Lookup::Miss),
        (Some(Err(_)) | None, Some(value)) => {
            origin.counters.stale_served.fetch_add(1, Ordering::Relaxed);
            Ok(Lookup::Hit(value))
        }
        (Some(Err(error)), None) => Err(CacheError::Origin(error.clone())),
        (None, None) => Err(CacheError::Origin(OriginError::Timeout(
            origin.config().timeout_ms,
        ))),
    }
}

/// The longest one load may take: the origin's hard timeout plus the
/// deadlines of its three plugin calls (two mappings and `validate`).
fn load_budget(cache: &DefinedCache, origin: &Origin) -> Duration {
    Duration::from_millis(origin.config().timeout_ms)
        + cache.plugin().limits().call_timeout().saturating_mul(3)
}

pub(crate) fn no_mapping(cache: &DefinedCache) -> OriginError {
    OriginError::Mapping(format!(
        "{} has an origin but its plugin exports no mapping (hoard:definition/origin@0.2.0)",
        cache.definition().name
    ))
}

/// Sequence numbers for writes to an origin: they grow across restarts too
/// (they start from the wall clock in microseconds), so an origin that
/// applies writes conditionally never lets an older one win.
pub(crate) struct WriteSequence(std::sync::atomic::AtomicU64);

impl Default for WriteSequence {
    fn default() -> Self {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        WriteSequence(std::sync::atomic::AtomicU64::new(micros))
    }
}

impl WriteSequence {
    fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::origin::lease::Leases;

    /// A leading load of key `k` and a second caller waiting on it.
    fn lead_and_wait(leases: &Leases) -> (Leading<'_>, tokio::sync::watch::Receiver<Shared>) {
        let Acquired::Granted {
            token,
            publish: Some(tx),
        } = leases.acquire("C", "k", 0, 10_000, true)
        else {
            unreachable!("the first caller takes the lease");
        };
        let leading = Leading {
            leases,
            name: "C",
            key: "k",
            token,
            publish: Some(tx),
        };
        let Acquired::Held {
            result: Some(rx), ..
        } = leases.acquire("C", "k", 1, 10_000, true)
        else {
            unreachable!("the second caller waits");
        };
        (leading, rx)
    }

    #[test]
    fn a_dropped_leading_load_frees_its_waiters_and_its_lease() {
        let leases = Leases::default();
        let (leading, rx) = lead_and_wait(&leases);
        drop(leading);
        // The waiter hears the loader is gone (no result), and the lease is
        // free for it to take at once, long before it would have lapsed.
        assert!(rx.has_changed().is_err());
        assert!(rx.borrow().is_none());
        assert!(matches!(
            leases.acquire("C", "k", 2, 10_000, true),
            Acquired::Granted { .. }
        ));
        assert_eq!(leases.held(), 1);
    }

    #[test]
    fn a_finished_leading_load_reaches_its_waiters() {
        let leases = Leases::default();
        let (leading, rx) = lead_and_wait(&leases);
        // The load itself stores (or gives the lease back) before it ends.
        assert!(leases.fill("C", "k", leading.token, || {}));
        let shared = leading.finish(Ok(Fetched::NotFound));
        assert_eq!(*shared, Ok(Fetched::NotFound));
        assert_eq!(
            rx.borrow().as_deref(),
            Some(&Ok(Fetched::NotFound)),
            "the waiter gets the leader's result"
        );
    }
}
