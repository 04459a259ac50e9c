//! The shared second level (L2) on Redis and the invalidation bus between
//! nodes. One [`Node`] per process holds the Redis connection, the breaker,
//! the bus and the replay queue; each tenant's cache reaches it through a
//! [`Tier`] that knows the tenant's namespace. Without `[l2]` none of this
//! exists and the data path is the single-node one.
//!
//! The data path itself (L1 → L2 → promote, L2 then L1 on writes) lives in
//! `cache/tiered.rs`; this wing supplies the rules it calls: timeouts,
//! breaker, namespacing, replay, bus.

pub mod breaker;
pub mod bus;
pub mod config;
pub mod keys;
pub mod read_pipe;
pub mod replay;
pub mod store;
pub mod tracking;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::future::BoxFuture;
use parking_lot::{Mutex, RwLock};

use crate::cache::Cache;
use crate::cache::invalidation::Effect;
use crate::tier::breaker::{Breaker, BreakerState};
use crate::tier::bus::{Bus, BusStats, BusTarget, Sink};
use crate::tier::config::{L2Config, TierSettings};
use crate::tier::keys::{Namespace, Record, now_ms};
use crate::tier::replay::{Op, Queued, ReplayQueue, Target};
use crate::tier::store::{Found, L2Error, L2Store, RedisStore};
use crate::tier::tracking::{TrackSink, TrackTarget, Tracking, TrackingStats, disjoint_prefixes};
use crate::timeout::within;

/// One definition's tier settings and counters, as [`Tier::view`] found them.
#[derive(Debug)]
pub struct TierView {
    /// Its settings (fixed for the life of the node: they come from `[l2]`).
    pub settings: TierSettings,
    /// Its L1 TTL cap.
    pub l1_ttl_ms: u64,
    /// Its counters (shared with every other view of the same name).
    pub counters: Arc<LevelCounters>,
}

/// Per-definition counters of the tiers.
#[derive(Debug, Default)]
pub struct LevelCounters {
    /// Reads answered by L1.
    pub l1_hits: AtomicU64,
    /// Reads answered by L2 (and promoted).
    pub l2_hits: AtomicU64,
    /// Reads neither level had.
    pub misses: AtomicU64,
    /// Reads answered with a stale L1 entry because L2 could not answer.
    pub stale_hits: AtomicU64,
    /// Writes that reached L1 but not L2 (queued for replay).
    pub partial_writes: AtomicU64,
    /// Keys of this definition Redis reported modified (client tracking,
    /// `track_direct_writes`): every writer, hoard's own writes included.
    pub tracked_invalidations: AtomicU64,
    /// L1 trust generation: an L1 entry is trusted only if it was read or
    /// written in the current one. Bumped when the bus or the tracking
    /// link may have missed a change.
    pub generation: AtomicU64,
}

/// [`LevelCounters`] read at one moment, for `INFO`, `CACHE.INFO`,
/// `/metrics` and the admin page (whose JSON uses the short names).
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct LevelSnapshot {
    /// Reads answered by L1.
    #[serde(rename = "l1")]
    pub l1_hits: u64,
    /// Reads answered by L2.
    #[serde(rename = "l2")]
    pub l2_hits: u64,
    /// Reads neither level had.
    #[serde(rename = "none")]
    pub misses: u64,
    /// Reads answered stale.
    #[serde(rename = "stale")]
    pub stale_hits: u64,
    /// Writes queued for L2.
    pub partial_writes: u64,
    /// Keys Redis reported modified (opted-in definitions).
    pub tracked_invalidations: u64,
}

impl LevelCounters {
    /// The counters now (relaxed loads).
    pub fn snapshot(&self) -> LevelSnapshot {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        LevelSnapshot {
            l1_hits: load(&self.l1_hits),
            l2_hits: load(&self.l2_hits),
            misses: load(&self.misses),
            stale_hits: load(&self.stale_hits),
            partial_writes: load(&self.partial_writes),
            tracked_invalidations: load(&self.tracked_invalidations),
        }
    }
}

/// The process-wide L2 state.
pub struct Node {
    config: L2Config,
    redis: Arc<RedisStore>,
    store: Arc<dyn L2Store>,
    breaker: Breaker,
    bus: Arc<Bus>,
    tracking: Arc<Tracking>,
    replay: ReplayQueue,
    caches: RwLock<BTreeMap<String, Cache>>,
    calls: AtomicU64,
    call_us: AtomicU64,
    last_call_us: AtomicU64,
    failures: AtomicU64,
    replayed: AtomicU64,
    replay_dropped: AtomicU64,
}

/// What `INFO` shows about L2.
#[derive(Clone, Debug)]
pub struct NodeStats {
    /// The breaker.
    pub breaker: BreakerState,
    /// How often it opened.
    pub breaker_opens: u64,
    /// L2 calls made.
    pub calls: u64,
    /// Mean L2 call latency, µs.
    pub mean_us: u64,
    /// Latency of the latest L2 call, µs.
    pub last_us: u64,
    /// L2 calls that failed or timed out.
    pub failures: u64,
    /// Operations waiting in the replay queue.
    pub replay_depth: u64,
    /// Operations replayed.
    pub replayed: u64,
    /// Queued writes dropped on replay because something newer won.
    pub replay_dropped: u64,
    /// The bus.
    pub bus: BusStats,
    /// Client tracking of direct writes.
    pub tracking: TrackingStats,
    /// This node's id on the bus.
    pub node: u64,
    /// The standalone read pipe.
    pub pipe: read_pipe::PipeStats,
}

impl Node {
    /// The L2 state for a server on `port`; connects nothing until
    /// [`Node::start`] runs inside the async runtime.
    pub fn new(config: &L2Config, port: u16) -> anyhow::Result<Arc<Node>> {
        config.validate()?;
        config.check_port(port)?;
        let path = config.replay_path(port);
        let replay = ReplayQueue::open(&path)
            .with_context(|| format!("opening the replay queue {}", path.display()))?;
        let redis = RedisStore::new();
        Ok(Arc::new(Node {
            config: config.clone(),
            store: Arc::clone(&redis) as Arc<dyn L2Store>,
            redis,
            breaker: Breaker::new(
                config.breaker_failures,
                Duration::from_millis(config.breaker_open_ms),
            ),
            bus: Bus::new(Duration::from_millis(config.max_stale_ms)),
            tracking: Tracking::new(Duration::from_millis(config.max_stale_ms)),
            replay,
            caches: RwLock::new(BTreeMap::new()),
            calls: AtomicU64::new(0),
            call_us: AtomicU64::new(0),
            last_call_us: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            replay_dropped: AtomicU64::new(0),
        }))
    }

    /// The view of tenant `tenant` ("" for the single tenant).
    pub fn tier(self: &Arc<Self>, tenant: &str) -> Arc<Tier> {
        Arc::new(Tier {
            node: Arc::clone(self),
            tenant: tenant.to_owned(),
            counters: Mutex::new(HashMap::new()),
        })
    }

    /// Lets the bus reach tenant `tenant`'s cache.
    pub fn register(&self, tenant: &str, cache: Cache) {
        self.caches.write().insert(tenant.to_owned(), cache);
    }

    /// Connects, and starts the bus and the replay loop. Call once, inside
    /// the runtime.
    pub fn start(self: &Arc<Self>) {
        let hard = Duration::from_millis(self.config.hard_timeout_ms);
        tokio::spawn(Arc::clone(&self.redis).connect(
            self.config.url.clone(),
            self.config.cluster.clone(),
            hard,
        ));
        let bus_target = if self.config.cluster.is_empty() {
            BusTarget::Channel(self.config.bus_address().unwrap_or_default().to_owned())
        } else {
            // On a Cluster, `bus_url` is the seed of the bus's own client.
            BusTarget::Sharded(match &self.config.bus_url {
                Some(url) => vec![url.clone()],
                None => self.config.cluster.clone(),
            })
        };
        self.bus.start(
            Arc::clone(&self.store),
            bus_target,
            hard,
            Arc::clone(self) as Arc<dyn Sink>,
        );
        if self.config.tracks_direct_writes() {
            let target = match &self.config.url {
                Some(url) => TrackTarget::Standalone(url.clone()),
                None => TrackTarget::Cluster(self.config.cluster.clone()),
            };
            self.tracking
                .start(target, hard, Arc::clone(self) as Arc<dyn TrackSink>);
        }
        tokio::spawn(Arc::clone(self).replay_loop());
    }

    /// Figures for `INFO`.
    pub fn stats(&self) -> NodeStats {
        let calls = self.calls.load(Ordering::Relaxed);
        NodeStats {
            breaker: self.breaker.state(),
            breaker_opens: self.breaker.opens(),
            calls,
            mean_us: self
                .call_us
                .load(Ordering::Relaxed)
                .checked_div(calls)
                .unwrap_or(0),
            last_us: self.last_call_us.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            replay_depth: self.replay.depth(),
            replayed: self.replayed.load(Ordering::Relaxed),
            replay_dropped: self.replay_dropped.load(Ordering::Relaxed),
            bus: self.bus.stats(),
            tracking: self.tracking.stats(self.config.tracks_direct_writes()),
            node: self.bus.node(),
            pipe: self.store.pipe_stats(),
        }
    }

    /// One L2 call through the breaker, bounded by the hard timeout.
    async fn call<T>(&self, call: BoxFuture<'static, Result<T, L2Error>>) -> Result<T, L2Error> {
        if !self.breaker.allow() {
            return Err(L2Error::BreakerOpen);
        }
        let started = Instant::now();
        let hard = Duration::from_millis(self.config.hard_timeout_ms);
        let result = within(hard, || L2Error::Timeout, call).await;
        let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.call_us.fetch_add(us, Ordering::Relaxed);
        self.last_call_us.store(us, Ordering::Relaxed);
        if result.is_ok() {
            self.breaker.success();
        } else {
            self.failures.fetch_add(1, Ordering::Relaxed);
            self.breaker.failure();
        }
        result
    }

    fn queue(&self, target: Target, op: Op, at_ms: u64) {
        let queued = Queued {
            seq: self.replay.next_seq(),
            at_ms,
            target,
            op,
        };
        if let Err(error) = self.replay.push(&queued) {
            tracing::error!(%error, "cannot queue an L2 operation for replay");
        }
    }

    async fn replay_loop(self: Arc<Self>) {
        let every = Duration::from_millis(self.config.replay_interval_ms.max(10));
        loop {
            tokio::time::sleep(every).await;
            if self.replay.depth() == 0 {
                continue;
            }
            let queued = match self.replay.all() {
                Ok(queued) => queued,
                Err(error) => {
                    tracing::error!(%error, "cannot read the replay queue");
                    continue;
                }
            };
            for q in queued {
                if !self.replay_one(&q).await {
                    break;
                }
            }
        }
    }

    /// Replays one queued operation; false when L2 is still away.
    async fn replay_one(&self, q: &Queued) -> bool {
        let ns = q.target.namespace();
        let subject = q.target.subject.clone();
        let result = match &q.op {
            Op::Set {
                envelope,
                expire_at_ms,
            } => {
                let now = now_ms();
                if *expire_at_ms <= now {
                    Ok(false)
                } else {
                    self.call(self.store.replay_set(
                        ns,
                        subject.clone(),
                        q.at_ms,
                        envelope.clone(),
                        expire_at_ms - now,
                    ))
                    .await
                }
            }
            Op::Delete => self
                .call(
                    self.store
                        .delete(ns, subject.clone(), q.at_ms, self.config.tombstone_ms),
                )
                .await
                .map(|_| true),
            Op::Pattern => self
                .call(self.store.delete_matching(ns, subject.clone(), q.at_ms))
                .await
                .map(|_| true),
        };
        match result {
            Ok(applied) => {
                if let Err(error) = self.replay.done(q) {
                    tracing::error!(%error, "cannot clear a replayed operation");
                }
                if applied {
                    self.replayed.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.replay_dropped.fetch_add(1, Ordering::Relaxed);
                }
                // Other nodes may hold what this replaced in their L1.
                let effect = match q.op {
                    Op::Pattern => Effect {
                        cache: Some(q.target.cache.clone()),
                        patterns: vec![subject],
                        ..Effect::default()
                    },
                    _ => Effect {
                        cache: Some(q.target.cache.clone()),
                        keys: vec![subject],
                        ..Effect::default()
                    },
                };
                let _ = self.bus.send(&q.target.tenant, vec![effect]).await;
                true
            }
            Err(error) => {
                tracing::debug!(%error, "replay waits for L2");
                false
            }
        }
    }
}

impl Sink for Node {
    fn apply(&self, tenant: &str, effects: &[Effect]) {
        let cache = self.caches.read().get(tenant).cloned();
        if let Some(cache) = cache {
            cache.apply_remote(effects);
        }
    }

    fn flush(&self) {
        let caches: Vec<Cache> = self.caches.read().values().cloned().collect();
        for cache in caches {
            cache.flush_l2_backed_l1();
        }
    }
}

impl Node {
    /// Every opted-in definition of every tenant: its namespace, tenant
    /// and cache name.
    fn tracked(&self) -> Vec<(Namespace, Cache, String)> {
        let caches = self.caches.read();
        let mut out = Vec::new();
        for (tenant, cache) in caches.iter() {
            for defined in cache.catalog().iter() {
                let definition = defined.definition();
                let settings = self.config.settings(&definition.name);
                if settings.l2 && settings.track_direct_writes {
                    out.push((
                        Namespace::new(tenant, &definition.id, definition.version.major),
                        cache.clone(),
                        definition.name.clone(),
                    ));
                }
            }
        }
        out
    }
}

impl TrackSink for Node {
    fn tracked_prefixes(&self) -> Vec<String> {
        disjoint_prefixes(
            self.tracked()
                .iter()
                .map(|(ns, _, _)| ns.prefix().to_owned())
                .collect(),
        )
    }

    fn invalidate_l2_keys(&self, keys: &[Vec<u8>]) -> u64 {
        let tracked = self.tracked();
        let mut per_definition: Vec<Vec<String>> = vec![Vec::new(); tracked.len()];
        let mut counted = 0;
        for key in keys {
            let Ok(key) = std::str::from_utf8(key) else {
                continue;
            };
            for (i, (ns, _, _)) in tracked.iter().enumerate() {
                if let Some(l1_key) = ns.strip(key) {
                    per_definition[i].push(l1_key.to_owned());
                }
            }
        }
        for ((_, cache, name), l1_keys) in tracked.iter().zip(per_definition) {
            if l1_keys.is_empty() {
                continue;
            }
            // A load lease (`<key>:load-lease`) is under the prefix too; it
            // is dropped like any key (harmless) but not counted.
            let real = l1_keys
                .iter()
                .filter(|k| !k.ends_with(":load-lease"))
                .count() as u64;
            counted += real;
            if let Some(tier) = cache.tier() {
                tier.counters(name)
                    .tracked_invalidations
                    .fetch_add(real, Ordering::Relaxed);
            }
            cache.drop_tracked(name, l1_keys);
        }
        counted
    }

    fn flush_tracked(&self) {
        let caches: Vec<Cache> = self.caches.read().values().cloned().collect();
        for cache in caches {
            cache.flush_tracked_l1();
        }
    }
}

/// One tenant's use of the node's L2.
pub struct Tier {
    node: Arc<Node>,
    tenant: String,
    counters: Mutex<HashMap<String, Arc<LevelCounters>>>,
}

/// What a read of L2 gave.
#[derive(Debug)]
pub enum L2Read {
    /// The envelope and how long it has left in L2.
    Found {
        /// The stored envelope.
        envelope: Vec<u8>,
        /// Remaining L2 TTL.
        ttl_ms: Option<u64>,
    },
    /// Not there (or deleted).
    Missing,
}

impl Tier {
    /// What the data path needs of cache `name` on every read, looked up
    /// once: the definition keeps it (see `DefinedCache::tier_view`), so an
    /// L1 hit does not pay a lock and three hash lookups by name.
    pub fn view(&self, name: &str) -> TierView {
        TierView {
            settings: self.settings(name),
            l1_ttl_ms: self.l1_ttl_ms(name),
            counters: self.counters(name),
        }
    }

    /// The tier settings of cache `name`.
    pub fn settings(&self, name: &str) -> TierSettings {
        self.node.config.settings(name)
    }

    /// The L1 TTL cap of cache `name`.
    pub fn l1_ttl_ms(&self, name: &str) -> u64 {
        self.node.config.l1_ttl_for(name)
    }

    /// How long past freshness an entry may be served stale.
    pub fn fail_safe_ms(&self) -> u64 {
        self.node.config.fail_safe_ms
    }

    /// Whether L1 may be served for L2-backed definitions right now.
    pub fn l1_trusted(&self) -> bool {
        self.node.bus.l1_trusted()
    }

    /// Whether L1 may be served for definitions that track direct writes
    /// (the tracking link is on and confirmed within `max_stale_ms`).
    pub fn tracking_trusted(&self) -> bool {
        self.node.tracking.l1_trusted()
    }

    /// The tenant's counters for cache `name`.
    pub fn counters(&self, name: &str) -> Arc<LevelCounters> {
        let mut counters = self.counters.lock();
        if let Some(found) = counters.get(name) {
            return Arc::clone(found);
        }
        Arc::clone(counters.entry(name.to_owned()).or_default())
    }

    /// Node-wide figures.
    pub fn node_stats(&self) -> NodeStats {
        self.node.stats()
    }

    /// The namespace of a definition in this tenant.
    pub fn namespace(&self, id: &str, major: u64) -> Namespace {
        Namespace::new(&self.tenant, id, major)
    }

    fn target(&self, cache: &str, id: &str, major: u64, subject: &str) -> Target {
        Target {
            tenant: self.tenant.clone(),
            cache: cache.to_owned(),
            id: id.to_owned(),
            major,
            subject: subject.to_owned(),
        }
    }

    /// Reads `key`. With a fallback in hand, waits only the soft timeout
    /// (the call finishes in the background and still feeds the breaker).
    pub async fn read(
        &self,
        id: &str,
        major: u64,
        key: &str,
        has_fallback: bool,
    ) -> Result<L2Read, L2Error> {
        let mut span = crate::observe::trace::child("l2 get");
        let read = self.read_untraced(id, major, key, has_fallback).await;
        if let Some(span) = &mut span {
            traced(
                span,
                read.as_ref().map(|r| match r {
                    L2Read::Found { .. } => "hit",
                    L2Read::Missing => "miss",
                }),
            );
        }
        read
    }

    async fn read_untraced(
        &self,
        id: &str,
        major: u64,
        key: &str,
        has_fallback: bool,
    ) -> Result<L2Read, L2Error> {
        let node = Arc::clone(&self.node);
        let call = self
            .node
            .store
            .get(keys::entry_key(&self.tenant, id, major, key));
        let task = async move { node.call(call).await };
        let found = if has_fallback {
            let soft = Duration::from_millis(self.node.config.soft_timeout_ms);
            // Spawned, so a read that outlives the soft timeout still
            // finishes (and counts in the breaker) after we stop waiting.
            let handle = tokio::spawn(task);
            let joined = async { handle.await.unwrap_or(Err(L2Error::Unavailable)) };
            within(soft, || L2Error::Timeout, joined).await
        } else {
            task.await
        }?;
        Ok(match found {
            Some(Found {
                record: Record::Value { envelope, .. },
                ttl_ms,
            }) => L2Read::Found { envelope, ttl_ms },
            _ => L2Read::Missing,
        })
    }

    /// The cluster-wide lease to load `key` from its origin: `Ok(true)` when
    /// this node holds it now (until `ttl_ms`, or [`Tier::release_load`]).
    pub async fn lease_load(
        &self,
        id: &str,
        major: u64,
        key: &str,
        ttl_ms: u64,
    ) -> Result<bool, L2Error> {
        let (lease, owner) = self.load_lease(id, major, key);
        self.node
            .call(self.node.store.try_lease(lease, owner, ttl_ms))
            .await
    }

    /// The Redis key of `key`'s load lease, and this node's name as its owner.
    fn load_lease(&self, id: &str, major: u64, key: &str) -> (String, String) {
        (
            format!("{}:load-lease", self.namespace(id, major).key(key)),
            format!("{:016x}", self.node.bus.node()),
        )
    }

    /// Gives the load lease of `key` back (if this node still holds it).
    pub async fn release_load(&self, id: &str, major: u64, key: &str) {
        let (lease, owner) = self.load_lease(id, major, key);
        let _ = self
            .node
            .call(self.node.store.release_lease(lease, owner))
            .await;
    }

    /// Writes an entry to L2; on failure it is queued for replay and the
    /// error returned (the caller reports a partial success).
    pub async fn write(
        &self,
        cache: &str,
        id: &str,
        major: u64,
        key: &str,
        envelope: Vec<u8>,
        ttl_ms: u64,
    ) -> Result<(), L2Error> {
        let at_ms = now_ms();
        let seq = self.node.replay.next_seq();
        let record = Record::Value {
            at_ms,
            expires_ms: Some(at_ms.saturating_add(ttl_ms.max(1))),
            envelope: envelope.clone(),
        };
        let target = self.target(cache, id, major, key);
        let mut span = crate::observe::trace::child("l2 set");
        let result = self
            .node
            .call(
                self.node
                    .store
                    .set(target.namespace(), key.to_owned(), record, ttl_ms),
            )
            .await;
        if let Some(span) = &mut span {
            traced(span, result.as_ref().map(|()| "stored"));
        }
        match &result {
            Ok(()) => {
                let _ = self.node.replay.superseded(&target, seq);
            }
            Err(_) => self.node.queue(
                target,
                Op::Set {
                    envelope,
                    expire_at_ms: at_ms.saturating_add(ttl_ms),
                },
                at_ms,
            ),
        }
        result
    }

    /// Deletes `key` from L2 (tombstoned); queued on failure.
    pub async fn delete(
        &self,
        cache: &str,
        id: &str,
        major: u64,
        key: &str,
    ) -> Result<bool, L2Error> {
        let at_ms = now_ms();
        let seq = self.node.replay.next_seq();
        let target = self.target(cache, id, major, key);
        let mut span = crate::observe::trace::child("l2 del");
        let result = self
            .node
            .call(self.node.store.delete(
                target.namespace(),
                key.to_owned(),
                at_ms,
                self.node.config.tombstone_ms,
            ))
            .await;
        if let Some(span) = &mut span {
            traced(
                span,
                result
                    .as_ref()
                    .map(|&removed| if removed { "removed" } else { "absent" }),
            );
        }
        match &result {
            Ok(_) => {
                let _ = self.node.replay.superseded(&target, seq);
            }
            Err(_) => self.node.queue(target, Op::Delete, at_ms),
        }
        result
    }

    /// Deletes every L2 key of one definition matching `glob`; queued on failure.
    pub async fn delete_matching(
        &self,
        cache: &str,
        id: &str,
        major: u64,
        glob: &str,
    ) -> Result<u64, L2Error> {
        let at_ms = now_ms();
        let target = self.target(cache, id, major, glob);
        let result = self
            .node
            .call(
                self.node
                    .store
                    .delete_matching(target.namespace(), glob.to_owned(), at_ms),
            )
            .await;
        match &result {
            Ok(_) => {
                let _ = self.node.replay.superseded_by_pattern(&target);
            }
            Err(_) => self.node.queue(target, Op::Pattern, at_ms),
        }
        result
    }

    /// Tells the other nodes to apply `effects` to their L1.
    pub async fn broadcast(&self, effects: Vec<Effect>) -> Result<(), L2Error> {
        if effects.is_empty() {
            return Ok(());
        }
        self.node.bus.send(&self.tenant, effects).await
    }
}

/// Marks an L2 span with its outcome (and the error, failed).
fn traced(span: &mut crate::observe::trace::Span, outcome: Result<&'static str, &L2Error>) {
    use crate::observe::trace::Value;
    match outcome {
        Ok(outcome) => span.attr("hoard.outcome", Value::Str(outcome.to_owned())),
        Err(error) => {
            span.attr("hoard.outcome", Value::Str("error".to_owned()));
            span.attr("hoard.error", Value::Str(error.to_string()));
            span.fail();
        }
    }
}
