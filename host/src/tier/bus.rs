//! The invalidation bus: Redis pub/sub on one channel (`hoard:bus`). On a
//! Cluster it is a shard channel (`SPUBLISH`/`SSUBSCRIBE`): messages go
//! through the one shard that owns the channel's slot instead of being
//! copied to every node of the Cluster. When that shard gives the channel
//! up (a failover, a slot migration: Redis sends `sunsubscribe`), or the
//! link goes silent, the node subscribes again where the channel lives now.
//!
//! Every message carries the sending node's id and a per-node sequence
//! number; a receiver ignores its own invalidations, and treats a skipped
//! sequence number, a reconnect or a silent link as "I may have missed
//! something": it flushes the L1 of every L2-backed definition.
//!
//! The staleness bound: each node publishes a heartbeat every quarter of
//! `max_stale_ms` and hears its own heartbeats back. Redis delivers a
//! subscriber's messages in publish order, so hearing a heartbeat sent at
//! `t` proves every invalidation published before `t` has arrived. A node
//! serves L1 for L2-backed definitions only while its latest heard
//! heartbeat was sent less than `max_stale_ms` ago; otherwise it reads L2.
//! A write acknowledged elsewhere at `w` is therefore invisible here no
//! later than `w + max_stale_ms`, bus cut or not. When the link comes back
//! after such a lapse, L1 is flushed before it is trusted again.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::cache::invalidation::Effect;
use crate::tier::store::{L2Error, L2Store};

/// The channel every node publishes and subscribes on.
pub const CHANNEL: &str = "hoard:bus";

/// Where the bus subscription goes.
#[derive(Clone, Debug)]
pub enum BusTarget {
    /// A standalone Redis: `SUBSCRIBE`.
    Channel(String),
    /// A Redis Cluster through these seeds: `SSUBSCRIBE` on the shard
    /// that owns the channel.
    Sharded(Vec<String>),
}

/// One bus message.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Message {
    /// The sender.
    pub node: u64,
    /// The sender's sequence number (every message, heartbeats included).
    pub seq: u64,
    /// The sender's monotonic clock (µs since it started), meaningful to
    /// the sender only: its own heartbeats measure the link with it.
    pub sent_us: u64,
    /// Wall-clock send time (Unix ms), for logs.
    pub sent_ms: u64,
    /// Tenant ("" for the single tenant).
    pub tenant: String,
    /// Invalidations; empty for a heartbeat.
    pub effects: Vec<Effect>,
}

/// Where received invalidations go (the node's tenants).
pub trait Sink: Send + Sync {
    /// Applies another node's invalidations to this node's L1.
    fn apply(&self, tenant: &str, effects: &[Effect]);
    /// Drops every L1 entry of every L2-backed definition.
    fn flush(&self);
}

struct Outgoing {
    tenant: String,
    effects: Vec<Effect>,
    done: Option<oneshot::Sender<Result<(), L2Error>>>,
}

/// This node's end of the bus.
pub struct Bus {
    node: u64,
    epoch: Instant,
    max_stale: Duration,
    seq: AtomicU64,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Outgoing>>>,
    /// `sent_us` of the newest own message heard back; 0 = never.
    confirmed_us: AtomicU64,
    /// Whether L1 was flushed since the link was last lost.
    trusted: AtomicBool,
    lag_us: AtomicU64,
    peers: Mutex<HashMap<u64, u64>>,
    gaps: AtomicU64,
    flushes: AtomicU64,
    received: AtomicU64,
}

/// Bus figures for `INFO`.
#[derive(Clone, Copy, Debug, Default)]
pub struct BusStats {
    /// Whether L1 may be served now.
    pub link_ok: bool,
    /// Round trip of the last own heartbeat, µs.
    pub lag_us: u64,
    /// Milliseconds since the newest confirmed heartbeat was sent.
    pub confirmed_age_ms: u64,
    /// Sequence gaps seen.
    pub gaps: u64,
    /// L1 flushes for gaps, reconnects and lapses.
    pub flushes: u64,
    /// Messages received (all nodes).
    pub received: u64,
}

impl Bus {
    /// A bus endpoint with a random node id.
    pub fn new(max_stale: Duration) -> Arc<Self> {
        let mut id = [0u8; 8];
        let _ = getrandom::fill(&mut id);
        let (tx, rx) = mpsc::unbounded_channel();
        Arc::new(Self {
            node: u64::from_le_bytes(id),
            epoch: Instant::now(),
            max_stale,
            seq: AtomicU64::new(0),
            outgoing: tx,
            receiver: Mutex::new(Some(rx)),
            confirmed_us: AtomicU64::new(0),
            trusted: AtomicBool::new(false),
            lag_us: AtomicU64::new(0),
            peers: Mutex::new(HashMap::new()),
            gaps: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
            received: AtomicU64::new(0),
        })
    }

    /// This node's id.
    pub fn node(&self) -> u64 {
        self.node
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Whether L1 of L2-backed definitions may be served: the link was
    /// confirmed within `max_stale_ms` and L1 was flushed after any lapse.
    pub fn l1_trusted(&self) -> bool {
        if !self.confirmed_recently() {
            // A lapse: the next confirmation flushes before trusting again.
            self.trusted.store(false, Ordering::Release);
            return false;
        }
        self.trusted.load(Ordering::Acquire)
    }

    fn confirmed_recently(&self) -> bool {
        let confirmed = self.confirmed_us.load(Ordering::Acquire);
        confirmed > 0 && self.now_us().saturating_sub(confirmed) < self.max_stale.as_micros() as u64
    }

    /// Figures for `INFO`.
    pub fn stats(&self) -> BusStats {
        let confirmed = self.confirmed_us.load(Ordering::Acquire);
        BusStats {
            link_ok: self.l1_trusted(),
            lag_us: self.lag_us.load(Ordering::Relaxed),
            confirmed_age_ms: if confirmed == 0 {
                u64::MAX
            } else {
                self.now_us().saturating_sub(confirmed) / 1000
            },
            gaps: self.gaps.load(Ordering::Relaxed),
            flushes: self.flushes.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
        }
    }

    /// Sends invalidations to the other nodes; resolves when Redis took
    /// them (or failed to).
    pub async fn send(&self, tenant: &str, effects: Vec<Effect>) -> Result<(), L2Error> {
        let (tx, rx) = oneshot::channel();
        self.outgoing
            .send(Outgoing {
                tenant: tenant.to_owned(),
                effects,
                done: Some(tx),
            })
            .map_err(|_| L2Error::Unavailable)?;
        rx.await.unwrap_or(Err(L2Error::Unavailable))
    }

    /// Starts the publisher, the heartbeat and the subscriber.
    pub fn start(
        self: &Arc<Self>,
        store: Arc<dyn L2Store>,
        target: BusTarget,
        hard_timeout: Duration,
        sink: Arc<dyn Sink>,
    ) {
        if let Some(rx) = self.receiver.lock().take() {
            tokio::spawn(Arc::clone(self).publisher(rx, store, hard_timeout));
        }
        tokio::spawn(Arc::clone(self).heartbeat());
        tokio::spawn(Arc::clone(self).subscriber(target, hard_timeout, sink));
    }

    /// Sends queued messages in order, batched into one pipeline per round
    /// trip; sequence numbers are assigned here, so they follow send order.
    async fn publisher(
        self: Arc<Self>,
        mut rx: mpsc::UnboundedReceiver<Outgoing>,
        store: Arc<dyn L2Store>,
        hard_timeout: Duration,
    ) {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < 256 {
                match rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let mut payloads = Vec::with_capacity(batch.len());
            for out in &batch {
                let message = Message {
                    node: self.node,
                    seq: self.seq.fetch_add(1, Ordering::AcqRel) + 1,
                    sent_us: self.now_us(),
                    sent_ms: crate::tier::keys::now_ms(),
                    tenant: out.tenant.clone(),
                    effects: out.effects.clone(),
                };
                match rmp_serde::to_vec(&message) {
                    Ok(bytes) => payloads.push(bytes),
                    Err(error) => tracing::error!(%error, "cannot encode a bus message"),
                }
            }
            let publish = store.publish(CHANNEL.to_owned(), payloads);
            let result = crate::timeout::within(hard_timeout, || L2Error::Timeout, publish).await;
            // A failed publish still used its sequence numbers: receivers
            // will see the gap and flush.
            for out in batch {
                if let Some(done) = out.done {
                    let _ = done.send(result.clone());
                }
            }
        }
    }

    async fn heartbeat(self: Arc<Self>) {
        let every = (self.max_stale / 4).max(Duration::from_millis(2));
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let _ = self.outgoing.send(Outgoing {
                tenant: String::new(),
                effects: Vec::new(),
                done: None,
            });
        }
    }

    async fn subscriber(
        self: Arc<Self>,
        target: BusTarget,
        timeout: Duration,
        sink: Arc<dyn Sink>,
    ) {
        let mut delay = Duration::from_millis(20);
        loop {
            let listened = match &target {
                BusTarget::Channel(url) => self.listen(url, timeout, &sink).await,
                BusTarget::Sharded(seeds) => self.listen_sharded(seeds, timeout, &sink).await,
            };
            match listened {
                Ok(()) => delay = Duration::from_millis(20),
                Err(error) => tracing::warn!(%error, "bus link lost; reconnecting"),
            }
            // Whatever was published while we were away is lost for good.
            self.trusted.store(false, Ordering::Release);
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }

    /// One subscription, until it fails or goes silent for too long.
    async fn listen(
        &self,
        url: &str,
        timeout: Duration,
        sink: &Arc<dyn Sink>,
    ) -> Result<(), L2Error> {
        let client = redis::Client::open(url)?;
        let mut pubsub = tokio::time::timeout(timeout, client.get_async_pubsub())
            .await
            .map_err(|_| L2Error::Timeout)??;
        tokio::time::timeout(timeout, pubsub.subscribe(CHANNEL))
            .await
            .map_err(|_| L2Error::Timeout)??;
        // A (re)subscription is a gap: forget the peers' sequence numbers.
        self.peers.lock().clear();
        tracing::info!(node = self.node, "bus subscribed");
        let mut stream = pubsub.on_message();
        let silence = self.silence();
        loop {
            match tokio::time::timeout(silence, stream.next()).await {
                Ok(Some(msg)) => self.receive(msg.get_payload_bytes(), sink),
                Ok(None) => return Err(L2Error::Redis("subscription closed".into())),
                Err(_) => return Err(L2Error::Timeout),
            }
        }
    }

    /// How long a link may stay silent: several bounds, after which it is
    /// dead even without an error (a blackhole), dropped and reconnected.
    fn silence(&self) -> Duration {
        (self.max_stale * 3).max(Duration::from_millis(100))
    }

    /// One shard-channel subscription through a Cluster client (RESP3:
    /// messages arrive as `smessage` pushes), until it goes silent.
    async fn listen_sharded(
        &self,
        seeds: &[String],
        timeout: Duration,
        sink: &Arc<dyn Sink>,
    ) -> Result<(), L2Error> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let client = redis::cluster::ClusterClientBuilder::new(seeds.to_vec())
            .use_protocol(redis::ProtocolVersion::RESP3)
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .push_sender(tx)
            .build()?;
        let mut conn = tokio::time::timeout(timeout, client.get_async_connection())
            .await
            .map_err(|_| L2Error::Timeout)??;
        tokio::time::timeout(timeout, conn.ssubscribe(CHANNEL))
            .await
            .map_err(|_| L2Error::Timeout)??;
        self.peers.lock().clear();
        tracing::info!(node = self.node, "bus subscribed (shard channel)");
        let silence = self.silence();
        loop {
            match tokio::time::timeout(silence, rx.recv()).await {
                Ok(Some(push)) => match push.kind {
                    redis::PushKind::SMessage => {
                        if let Some(redis::Value::BulkString(payload)) = push.data.get(1) {
                            self.receive(payload, sink);
                        }
                    }
                    // The shard gave the channel up (a failover or a slot
                    // migration): subscribe again where it lives now,
                    // rather than wait for the silence to tell.
                    redis::PushKind::SUnsubscribe | redis::PushKind::Disconnection => {
                        return Err(L2Error::Redis("shard channel moved".into()));
                    }
                    _ => {}
                },
                Ok(None) => return Err(L2Error::Redis("subscription closed".into())),
                Err(_) => return Err(L2Error::Timeout),
            }
        }
    }

    fn receive(&self, bytes: &[u8], sink: &Arc<dyn Sink>) {
        let Ok(message) = rmp_serde::from_slice::<Message>(bytes) else {
            tracing::warn!("undecodable bus message ignored");
            return;
        };
        self.received.fetch_add(1, Ordering::Relaxed);
        if message.node == self.node {
            let now = self.now_us();
            self.lag_us
                .store(now.saturating_sub(message.sent_us), Ordering::Relaxed);
            self.confirmed_us
                .fetch_max(message.sent_us.max(1), Ordering::AcqRel);
        } else {
            let gap = {
                let mut peers = self.peers.lock();
                let last = peers.insert(message.node, message.seq);
                last.is_some_and(|last| message.seq != last + 1)
            };
            if gap {
                self.gaps.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(peer = message.node, "bus sequence gap; flushing L1");
                self.flush(sink);
            }
            if !message.effects.is_empty() {
                sink.apply(&message.tenant, &message.effects);
            }
        }
        if !self.trusted.load(Ordering::Acquire) && self.confirmed_recently() {
            // Back after a lapse (or at start): what we hold may have been
            // invalidated while we could not hear it.
            self.flush(sink);
            self.trusted.store(true, Ordering::Release);
            tracing::info!(node = self.node, "bus link confirmed; L1 trusted");
        }
    }

    fn flush(&self, sink: &Arc<dyn Sink>) {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        sink.flush();
    }
}
