//! Writes made to Redis directly, by applications other than hoard, for
//! the definitions that opt in (`track_direct_writes = true`). The bus only
//! carries what hoard nodes change; Redis itself knows every writer. One
//! dedicated RESP3 connection per node asks Redis for server-assisted
//! client-side caching in broadcast mode:
//!
//! ```text
//! HELLO 3
//! CLIENT TRACKING ON BCAST PREFIX hoard:<tenant>:<id>:<major>: ...
//! ```
//!
//! and Redis pushes `invalidate [key ...]` for every key under those
//! prefixes that anyone modifies (sets, deletes, expires, evicts). Each key
//! is mapped back to its definition and L1 key through the namespace and
//! that L1 entry is dropped; the next read goes to L2. Redis keeps no
//! per-key state in broadcast mode (only the prefixes), so the cost is one
//! connection per node and one push per write under a tracked prefix.
//!
//! hoard's own writes come back too (NOLOOP only covers the connection that
//! wrote, and hoard writes on another one): the writing node then drops the
//! L1 entry it has just stored, and its next read costs one L2 round trip.
//! That is always correct, and cheaper than telling its own writes from
//! someone else's.
//!
//! On a Redis Cluster each primary reports only the keys it holds, so a
//! node keeps one tracking link per primary, all enabled with the same
//! prefixes and all feeding one push channel. The primaries are read from
//! `CLUSTER SLOTS` on a seed; a changed set of primaries (a failover, a
//! node added) is seen on the next confirmation tick and handled as a lost
//! link: flush, reconnect to the new primaries, re-enable.
//!
//! Redis's rule for a lost link: flush. When the tracking connection fails,
//! goes silent, or the set of tracked prefixes changes (a definition
//! reloaded), the L1 of every opted-in definition is flushed and tracking
//! re-enabled on a new connection (then flushed once more, so nothing read
//! while tracking was off survives). A `PING` on every link every quarter
//! of `max_stale_ms` confirms them; an opted-in definition serves L1 only
//! while the latest confirmation of all links is younger than
//! `max_stale_ms`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, ProtocolVersion,
    PushInfo, PushKind, Value,
};
use tokio::sync::mpsc;

use crate::tier::store::L2Error;

/// Where tracked invalidations go (the node's tenants).
pub trait TrackSink: Send + Sync {
    /// The L2 key prefixes of the opted-in definitions, sorted, none a
    /// prefix of another (Redis refuses overlapping prefixes).
    fn tracked_prefixes(&self) -> Vec<String>;
    /// Drops the L1 entries of these L2 keys; how many keys were under a
    /// tracked definition.
    fn invalidate_l2_keys(&self, keys: &[Vec<u8>]) -> u64;
    /// Drops every L1 entry of every opted-in definition.
    fn flush_tracked(&self);
}

/// The Redis whose writes are tracked.
#[derive(Clone, Debug)]
pub enum TrackTarget {
    /// A standalone Redis: one link.
    Standalone(String),
    /// A Redis Cluster, found through these seed URLs: one link per primary.
    Cluster(Vec<String>),
}

/// The links of one session and, on a Cluster, the primaries they reach
/// (`host:port`, sorted) to notice when that set changes.
struct Links {
    infos: Vec<ConnectionInfo>,
    primaries: Vec<String>,
}

/// This node's tracking connections.
pub struct Tracking {
    max_stale: Duration,
    epoch: Instant,
    /// Whether tracking is on now (enabled on a live connection).
    enabled: AtomicBool,
    /// `epoch`-relative µs of the newest confirmed `PING`; 0 = never.
    confirmed_us: AtomicU64,
    prefixes: AtomicU64,
    invalidations: AtomicU64,
    flushes: AtomicU64,
    connects: AtomicU64,
    links: AtomicU64,
}

/// Tracking figures for `INFO`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TrackingStats {
    /// Whether any definition opts in (else no connection is made).
    pub wanted: bool,
    /// Whether opted-in definitions may serve L1 now.
    pub link_ok: bool,
    /// Prefixes tracked.
    pub prefixes: u64,
    /// Keys Redis reported modified under a tracked prefix (every writer,
    /// hoard's own included).
    pub invalidations: u64,
    /// L1 flushes for a lost link, a reconnect or a `FLUSHALL`.
    pub flushes: u64,
    /// Connections on which tracking was enabled.
    pub connects: u64,
    /// Links of the current session (one per Cluster primary).
    pub links: u64,
}

impl Tracking {
    /// An endpoint that connects nothing until [`Tracking::start`].
    pub fn new(max_stale: Duration) -> Arc<Self> {
        Arc::new(Self {
            max_stale,
            epoch: Instant::now(),
            enabled: AtomicBool::new(false),
            confirmed_us: AtomicU64::new(0),
            prefixes: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            links: AtomicU64::new(0),
        })
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Whether L1 of the opted-in definitions may be served: tracking is on
    /// and Redis answered on its connection within `max_stale_ms`.
    pub fn l1_trusted(&self) -> bool {
        if !self.enabled.load(Ordering::Acquire) {
            return false;
        }
        let confirmed = self.confirmed_us.load(Ordering::Acquire);
        let bound = u64::try_from(self.max_stale.as_micros()).unwrap_or(u64::MAX);
        confirmed > 0 && self.now_us().saturating_sub(confirmed) < bound
    }

    /// Figures for `INFO`.
    pub fn stats(&self, wanted: bool) -> TrackingStats {
        TrackingStats {
            wanted,
            link_ok: self.l1_trusted(),
            prefixes: self.prefixes.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            flushes: self.flushes.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
            links: self.links.load(Ordering::Relaxed),
        }
    }

    /// Runs the tracking links for as long as the process lives.
    pub fn start(
        self: &Arc<Self>,
        target: TrackTarget,
        timeout: Duration,
        sink: Arc<dyn TrackSink>,
    ) {
        tokio::spawn(Arc::clone(self).run(target, timeout, sink));
    }

    fn tick(&self) -> Duration {
        (self.max_stale / 4).max(Duration::from_millis(2))
    }

    async fn run(
        self: Arc<Self>,
        target: TrackTarget,
        timeout: Duration,
        sink: Arc<dyn TrackSink>,
    ) {
        let mut delay = Duration::from_millis(20);
        loop {
            let prefixes = sink.tracked_prefixes();
            self.prefixes
                .store(prefixes.len() as u64, Ordering::Relaxed);
            if prefixes.is_empty() {
                // Nothing opts in (yet): no connection at all.
                tokio::time::sleep(self.tick().max(Duration::from_millis(250))).await;
                continue;
            }
            let session = match links(&target, timeout).await {
                Ok(links) => self.session(&links, timeout, &sink, &prefixes).await,
                Err(error) => Err(error),
            };
            match session {
                Ok(()) => delay = Duration::from_millis(20),
                Err(error) => tracing::warn!(%error, "tracking link lost; reconnecting"),
            }
            // Whatever Redis reported while we were away is lost for good.
            self.enabled.store(false, Ordering::Release);
            self.flush(&sink);
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }

    /// One tracking session over `links`; `Ok` when the prefixes or the
    /// Cluster's primaries changed and tracking must be re-enabled.
    async fn session(
        &self,
        links: &Links,
        timeout: Duration,
        sink: &Arc<dyn TrackSink>,
        prefixes: &[String],
    ) -> Result<(), L2Error> {
        // Every link pushes into one channel: one reader applies them all.
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut conns = Vec::with_capacity(links.infos.len());
        for info in &links.infos {
            let mut info = info.clone();
            info.redis.protocol = ProtocolVersion::RESP3;
            let client = redis::Client::open(info)?;
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(timeout)
                .set_response_timeout(timeout)
                .set_push_sender(tx.clone());
            let mut conn = tokio::time::timeout(
                timeout,
                client.get_multiplexed_async_connection_with_config(&config),
            )
            .await
            .map_err(|_| L2Error::Timeout)??;
            let mut enable = redis::cmd("CLIENT");
            enable.arg("TRACKING").arg("ON").arg("BCAST");
            for prefix in prefixes {
                enable.arg("PREFIX").arg(prefix);
            }
            tokio::time::timeout(timeout, enable.query_async::<()>(&mut conn))
                .await
                .map_err(|_| L2Error::Timeout)??;
            conns.push(conn);
        }
        drop(tx);
        // Anything read into L1 while tracking was off may be stale already.
        self.flush(sink);
        self.links.store(conns.len() as u64, Ordering::Relaxed);
        self.confirmed_us.store(self.now_us(), Ordering::Release);
        self.enabled.store(true, Ordering::Release);
        self.connects.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            prefixes = prefixes.len(),
            links = conns.len(),
            "tracking direct writes to L2"
        );
        let mut ticker = tokio::time::interval(self.tick());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                push = rx.recv() => {
                    let Some(push) = push else {
                        return Err(L2Error::Redis("tracking connection closed".into()));
                    };
                    self.apply(&push, sink)?;
                }
                _ = ticker.tick() => {
                    let sent = self.now_us();
                    for conn in &mut conns {
                        tokio::time::timeout(timeout, redis::cmd("PING").query_async::<()>(conn))
                            .await
                            .map_err(|_| L2Error::Timeout)??;
                    }
                    // Redis answers in order: every push queued on a link
                    // before its reply has been read (and applied) by now.
                    while let Ok(push) = rx.try_recv() {
                        self.apply(&push, sink)?;
                    }
                    // On a Cluster (the only case with primaries listed).
                    if !links.primaries.is_empty()
                        && let (Some(first), Some(seed)) = (conns.first_mut(), links.infos.first())
                    {
                        let now = tokio::time::timeout(timeout, primaries(first, seed))
                            .await
                            .map_err(|_| L2Error::Timeout)??;
                        if now != links.primaries {
                            tracing::info!(
                                before = ?links.primaries,
                                now = ?now,
                                "the Cluster's primaries changed; re-enabling tracking"
                            );
                            return Ok(());
                        }
                    }
                    self.confirmed_us.fetch_max(sent, Ordering::AcqRel);
                    if sink.tracked_prefixes() != prefixes {
                        tracing::info!("tracked definitions changed; re-enabling tracking");
                        return Ok(());
                    }
                }
            }
        }
    }

    /// One push from any link: an invalidation applied, a disconnection an error.
    fn apply(&self, push: &PushInfo, sink: &Arc<dyn TrackSink>) -> Result<(), L2Error> {
        match push.kind {
            PushKind::Invalidate => self.invalidate(&push.data, sink),
            PushKind::Disconnection => {
                return Err(L2Error::Redis("tracking connection closed".into()));
            }
            _ => {}
        }
        Ok(())
    }

    /// One `invalidate` push: an array of keys, or null (`FLUSHALL`,
    /// `FLUSHDB`: everything may have changed).
    fn invalidate(&self, data: &[Value], sink: &Arc<dyn TrackSink>) {
        let mut keys = Vec::new();
        let mut everything = data.is_empty();
        for value in data {
            match value {
                Value::Array(items) | Value::Set(items) => {
                    for item in items {
                        match item {
                            Value::BulkString(key) => keys.push(key.clone()),
                            Value::SimpleString(key) => keys.push(key.clone().into_bytes()),
                            _ => {}
                        }
                    }
                }
                Value::BulkString(key) => keys.push(key.clone()),
                Value::Nil => everything = true,
                _ => {}
            }
        }
        if everything {
            tracing::info!("Redis was flushed; flushing tracked L1");
            self.flush(sink);
        }
        if !keys.is_empty() {
            let counted = sink.invalidate_l2_keys(&keys);
            self.invalidations.fetch_add(counted, Ordering::Relaxed);
        }
    }

    fn flush(&self, sink: &Arc<dyn TrackSink>) {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        sink.flush_tracked();
    }
}

/// The links to open for `target`: the URL itself, or one per primary of
/// the Cluster as `CLUSTER SLOTS` on the first seed that answers lists them.
async fn links(target: &TrackTarget, timeout: Duration) -> Result<Links, L2Error> {
    let seeds = match target {
        TrackTarget::Standalone(url) => {
            return Ok(Links {
                infos: vec![url.as_str().into_connection_info()?],
                primaries: Vec::new(),
            });
        }
        TrackTarget::Cluster(seeds) => seeds,
    };
    let mut last = L2Error::Redis("no Cluster seed given".into());
    for seed in seeds {
        let found = async {
            let info = seed.as_str().into_connection_info()?;
            let client = redis::Client::open(info.clone())?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            let primaries = primaries(&mut conn, &info).await?;
            let infos = primaries
                .iter()
                .filter_map(|p| p.rsplit_once(':'))
                .filter_map(|(host, port)| Some(at(&info, host, port.parse().ok()?)))
                .collect::<Vec<_>>();
            Ok::<_, L2Error>(Links { infos, primaries })
        };
        match crate::timeout::within(timeout, || L2Error::Timeout, found).await {
            Ok(links) if !links.infos.is_empty() => return Ok(links),
            Ok(_) => last = L2Error::Redis(format!("{seed}: CLUSTER SLOTS lists no primary")),
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// The Cluster's primaries (`host:port`, sorted) from `CLUSTER SLOTS`; an
/// empty host means the node asked (`seed`'s host).
async fn primaries(
    conn: &mut MultiplexedConnection,
    seed: &ConnectionInfo,
) -> Result<Vec<String>, L2Error> {
    let slots: Value = redis::cmd("CLUSTER").arg("SLOTS").query_async(conn).await?;
    let seed_host = match &seed.addr {
        ConnectionAddr::Tcp(host, _) | ConnectionAddr::TcpTls { host, .. } => host.clone(),
        ConnectionAddr::Unix(_) => String::new(),
    };
    Ok(primaries_of(&slots, &seed_host))
}

/// The primaries in a `CLUSTER SLOTS` reply: each range's first node.
fn primaries_of(slots: &Value, seed_host: &str) -> Vec<String> {
    let text = |v: &Value| match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    let mut out = Vec::new();
    let Value::Array(ranges) = slots else {
        return out;
    };
    for range in ranges {
        let Value::Array(fields) = range else {
            continue;
        };
        let Some(Value::Array(node)) = fields.get(2) else {
            continue;
        };
        let (Some(host), Some(Value::Int(port))) = (node.first().and_then(text), node.get(1))
        else {
            continue;
        };
        let host = if host.is_empty() || host == "?" {
            seed_host.to_owned()
        } else {
            host
        };
        out.push(format!("{host}:{port}"));
    }
    out.sort();
    out.dedup();
    out
}

/// `seed`'s connection settings (credentials, TLS) for another node.
fn at(seed: &ConnectionInfo, host: &str, port: u16) -> ConnectionInfo {
    let mut info = seed.clone();
    info.addr = match &seed.addr {
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host: host.to_owned(),
            port,
            insecure: *insecure,
            tls_params: tls_params.clone(),
        },
        _ => ConnectionAddr::Tcp(host.to_owned(), port),
    };
    info
}

/// Drops prefixes that another one in the list already covers (Redis
/// refuses overlapping prefixes on one connection); sorted.
pub fn disjoint_prefixes(mut prefixes: Vec<String>) -> Vec<String> {
    prefixes.sort();
    prefixes.dedup();
    let mut out: Vec<String> = Vec::with_capacity(prefixes.len());
    for prefix in prefixes {
        // Sorted: a covering prefix sorts right before what it covers.
        if out
            .last()
            .is_some_and(|last| prefix.starts_with(last.as_str()))
        {
            continue;
        }
        out.push(prefix);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_prefixes_collapse_to_the_shortest() {
        let got = disjoint_prefixes(vec![
            "hoard:a:b:c:1:".to_owned(),
            "hoard:a:b:1:".to_owned(),
            "hoard:a:".to_owned(),
            "hoard:b:x:1:".to_owned(),
            "hoard:b:x:1:".to_owned(),
        ]);
        assert_eq!(got, vec!["hoard:a:".to_owned(), "hoard:b:x:1:".to_owned()]);
    }

    #[derive(Default)]
    struct Recorder {
        keys: parking_lot::Mutex<Vec<Vec<u8>>>,
        flushes: AtomicU64,
    }

    impl TrackSink for Recorder {
        fn tracked_prefixes(&self) -> Vec<String> {
            Vec::new()
        }
        fn invalidate_l2_keys(&self, keys: &[Vec<u8>]) -> u64 {
            self.keys.lock().extend_from_slice(keys);
            keys.len() as u64
        }
        fn flush_tracked(&self) {
            self.flushes.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn invalidate_pushes_drop_keys_and_a_null_one_flushes() {
        let tracking = Tracking::new(Duration::from_millis(100));
        let recorder = Arc::new(Recorder::default());
        let sink: Arc<dyn TrackSink> = Arc::clone(&recorder) as Arc<dyn TrackSink>;
        tracking.invalidate(
            &[Value::Array(vec![
                Value::BulkString(b"hoard:_:x:1:a".to_vec()),
                Value::BulkString(b"hoard:_:x:1:b".to_vec()),
            ])],
            &sink,
        );
        assert_eq!(recorder.keys.lock().len(), 2);
        assert_eq!(recorder.flushes.load(Ordering::Relaxed), 0);
        assert_eq!(tracking.stats(true).invalidations, 2);
        // FLUSHALL / FLUSHDB in Redis: `invalidate` with a null.
        tracking.invalidate(&[Value::Nil], &sink);
        assert_eq!(recorder.flushes.load(Ordering::Relaxed), 1);
        assert_eq!(recorder.keys.lock().len(), 2);
    }

    #[test]
    fn cluster_slots_name_each_primary_once_with_the_seed_host_for_a_blank_one() {
        let node = |host: &str, port: i64| {
            Value::Array(vec![
                Value::BulkString(host.as_bytes().to_vec()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let range = |from: i64, to: i64, primary: Value, replica: Value| {
            Value::Array(vec![Value::Int(from), Value::Int(to), primary, replica])
        };
        let slots = Value::Array(vec![
            range(0, 99, node("10.0.0.2", 7001), node("10.0.0.9", 7009)),
            range(100, 199, node("", 7000), node("10.0.0.8", 7008)),
            range(200, 299, node("10.0.0.2", 7001), node("10.0.0.9", 7009)),
        ]);
        assert_eq!(
            primaries_of(&slots, "seed.example"),
            vec!["10.0.0.2:7001".to_owned(), "seed.example:7000".to_owned()]
        );
        assert!(primaries_of(&Value::Nil, "x").is_empty());
    }

    #[test]
    fn a_link_never_confirmed_is_not_trusted() {
        let tracking = Tracking::new(Duration::from_millis(100));
        assert!(!tracking.l1_trusted());
        tracking.enabled.store(true, Ordering::Release);
        assert!(!tracking.l1_trusted());
        tracking
            .confirmed_us
            .store(tracking.now_us(), Ordering::Release);
        assert!(tracking.l1_trusted());
    }
}
