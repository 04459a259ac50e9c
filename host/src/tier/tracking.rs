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
//! Redis's rule for a lost link: flush. When the tracking connection fails,
//! goes silent, or the set of tracked prefixes changes (a definition
//! reloaded), the L1 of every opted-in definition is flushed and tracking
//! re-enabled on a new connection (then flushed once more, so nothing read
//! while tracking was off survives). A `PING` every quarter of
//! `max_stale_ms` confirms the link; an opted-in definition serves L1 only
//! while the latest confirmation is younger than `max_stale_ms`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::{AsyncConnectionConfig, IntoConnectionInfo, ProtocolVersion, PushKind, Value};
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

/// This node's tracking connection.
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
        }
    }

    /// Runs the tracking connection for as long as the process lives.
    pub fn start(self: &Arc<Self>, url: String, timeout: Duration, sink: Arc<dyn TrackSink>) {
        tokio::spawn(Arc::clone(self).run(url, timeout, sink));
    }

    fn tick(&self) -> Duration {
        (self.max_stale / 4).max(Duration::from_millis(2))
    }

    async fn run(self: Arc<Self>, url: String, timeout: Duration, sink: Arc<dyn TrackSink>) {
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
            match self.session(&url, timeout, &sink, &prefixes).await {
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

    /// One tracking connection; `Ok` when the prefixes changed and tracking
    /// must be re-enabled with the new set.
    async fn session(
        &self,
        url: &str,
        timeout: Duration,
        sink: &Arc<dyn TrackSink>,
        prefixes: &[String],
    ) -> Result<(), L2Error> {
        let mut info = url.into_connection_info()?;
        info.redis.protocol = ProtocolVersion::RESP3;
        let client = redis::Client::open(info)?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_push_sender(tx);
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
        // Anything read into L1 while tracking was off may be stale already.
        self.flush(sink);
        self.confirmed_us.store(self.now_us(), Ordering::Release);
        self.enabled.store(true, Ordering::Release);
        self.connects.fetch_add(1, Ordering::Relaxed);
        tracing::info!(prefixes = prefixes.len(), "tracking direct writes to L2");
        let mut ticker = tokio::time::interval(self.tick());
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                push = rx.recv() => {
                    let Some(push) = push else {
                        return Err(L2Error::Redis("tracking connection closed".into()));
                    };
                    match push.kind {
                        PushKind::Invalidate => self.invalidate(&push.data, sink),
                        PushKind::Disconnection => {
                            return Err(L2Error::Redis("tracking connection closed".into()));
                        }
                        _ => {}
                    }
                }
                _ = ticker.tick() => {
                    let sent = self.now_us();
                    tokio::time::timeout(timeout, redis::cmd("PING").query_async::<()>(&mut conn))
                        .await
                        .map_err(|_| L2Error::Timeout)??;
                    // Redis answers in order: every push queued before this
                    // reply has been read (and applied) by now.
                    while let Ok(push) = rx.try_recv() {
                        match push.kind {
                            PushKind::Invalidate => self.invalidate(&push.data, sink),
                            PushKind::Disconnection => {
                                return Err(L2Error::Redis("tracking connection closed".into()));
                            }
                            _ => {}
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
