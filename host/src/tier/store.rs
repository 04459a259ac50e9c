//! The L2 client behind a small trait, so the tier's rules (timeouts,
//! breaker, replay, namespaces) do not depend on how Redis is reached. The
//! one implementation speaks to a standalone Redis through the `redis`
//! crate's reconnecting `ConnectionManager`, or to a Cluster through its
//! async cluster connection (which follows MOVED/ASK). On a standalone Redis
//! over TCP, reads (`GET`) take a second connection of their own, a
//! [`ReadPipe`](crate::tier::read_pipe::ReadPipe) that batches them; while it
//! is down they use the `redis` crate's connection.
//!
//! Costs, per call: a read is one round trip (one `GET`: the record carries
//! its expiry; only a record written by an earlier version costs a `PTTL`); a
//! write is one round trip (`SET PX` + one script that adds the key to the
//! definition's index and prunes at most 16 expired index members); a
//! pattern invalidation reads the index over the pattern's literal prefix
//! in pages of 256 (`ZRANGEBYLEX`), O(log N + M) for M keys under that
//! prefix in that one definition, never a walk of the Redis keyspace. A
//! pattern with no literal prefix (`*foo`) reads the definition's whole
//! index — still only that definition's keys.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use futures_util::future::BoxFuture;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Script, Value};

use crate::tier::keys::{Namespace, Record, literal_prefix};
use crate::tier::read_pipe::{PipeError, PipeSlot, PipeStats};
use hoard_l1::Glob;

/// Why an L2 call did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum L2Error {
    /// Not connected (yet, or any more).
    #[error("L2 is not connected")]
    Unavailable,
    /// The breaker is open: the call was not attempted.
    #[error("L2 circuit breaker is open")]
    BreakerOpen,
    /// The call took longer than the hard timeout.
    #[error("L2 call timed out")]
    Timeout,
    /// Redis answered with an error, or the link failed.
    #[error("L2: {0}")]
    Redis(String),
}

impl From<redis::RedisError> for L2Error {
    fn from(error: redis::RedisError) -> Self {
        L2Error::Redis(error.to_string())
    }
}

impl From<PipeError> for L2Error {
    fn from(error: PipeError) -> Self {
        L2Error::Redis(error.to_string())
    }
}

/// What a read found.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The stored record.
    pub record: Record,
    /// Milliseconds it has left in L2 (`None`: no expiry).
    pub ttl_ms: Option<u64>,
}

/// The operations the tier needs from L2. Futures are boxed and `'static`
/// so callers can race them against timeouts or let them finish in the
/// background.
pub trait L2Store: Send + Sync {
    /// Reads one key.
    fn get(&self, key: String) -> BoxFuture<'static, Result<Option<Found>, L2Error>>;
    /// Writes one entry (and indexes `member` in `ns`).
    fn set(
        &self,
        ns: Namespace,
        member: String,
        record: Record,
        ttl_ms: u64,
    ) -> BoxFuture<'static, Result<(), L2Error>>;
    /// Writes a queued entry only if nothing newer (value or tombstone) is
    /// there and no pattern invalidation of `ns` came after it; `Ok(false)`
    /// when it was dropped for that reason.
    fn replay_set(
        &self,
        ns: Namespace,
        member: String,
        at_ms: u64,
        envelope: Vec<u8>,
        ttl_ms: u64,
    ) -> BoxFuture<'static, Result<bool, L2Error>>;
    /// Removes one key, leaving a tombstone for `tombstone_ms`; whether a
    /// live entry was there.
    fn delete(
        &self,
        ns: Namespace,
        member: String,
        at_ms: u64,
        tombstone_ms: u64,
    ) -> BoxFuture<'static, Result<bool, L2Error>>;
    /// Removes every key of `ns` whose L1 key matches `glob`; how many.
    fn delete_matching(
        &self,
        ns: Namespace,
        glob: String,
        at_ms: u64,
    ) -> BoxFuture<'static, Result<u64, L2Error>>;
    /// Takes the cluster-wide lease `key` for `owner` unless someone holds
    /// it (`SET NX PX`): one load per key across nodes.
    fn try_lease(
        &self,
        key: String,
        owner: String,
        ttl_ms: u64,
    ) -> BoxFuture<'static, Result<bool, L2Error>>;
    /// Gives the lease back if `owner` still holds it.
    fn release_lease(&self, key: String, owner: String) -> BoxFuture<'static, Result<(), L2Error>>;
    /// Publishes bus messages, in this order, in one round trip.
    fn publish(
        &self,
        channel: String,
        payloads: Vec<Vec<u8>>,
    ) -> BoxFuture<'static, Result<(), L2Error>>;
    /// The read pipe's state and counts (a store without one: all off/zero).
    fn pipe_stats(&self) -> PipeStats {
        PipeStats::default()
    }
}

/// A standalone or cluster connection; both reconnect on their own.
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// Reconnecting to L2: the first retry after ~50 ms, doubling to at most
/// ~2 s (see [`reconnect_pause`]).
const RECONNECT_BASE_MS: u64 = 50;
/// The longest wait between two reconnect attempts.
const RECONNECT_MAX_MS: u64 = 2_000;

/// Counts one more failed attempt to reach L2 and waits before the next:
/// the store's connection and the read pipe both retry this way, jittered
/// so that the nodes of a cluster do not all reconnect in the same instant.
pub(crate) async fn reconnect_pause(failures: &mut u32) {
    *failures = failures.saturating_add(1);
    tokio::time::sleep(crate::backoff::delay(
        RECONNECT_BASE_MS,
        RECONNECT_MAX_MS,
        *failures,
    ))
    .await;
}

/// Adds a member to a definition's two indexes (by bytes, by expiry) and
/// prunes a few expired members, so the index does not outgrow the live keys.
const INDEX_ADD: &str = r"
redis.call('ZADD', KEYS[1], 0, ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', 0, 16)
if #gone > 0 then
  redis.call('ZREM', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
end
return #gone
";

/// Newest wins: writes ARGV[1] unless the stored record (value or
/// tombstone) is as new or newer. Times are 8 big-endian bytes after the
/// kind byte, compared byte by byte (no locale-dependent string compare).
const REPLAY_SET: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur and string.len(cur) >= 9 then
  for i = 2, 9 do
    local a, b = string.byte(cur, i), string.byte(ARGV[1], i)
    if a ~= b then
      if a > b then return 0 end
      break
    end
    if i == 9 then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

/// Redis reached through the `redis` crate, and on a standalone Redis
/// reached over TCP, reads through a [`ReadPipe`] of their own.
pub struct RedisStore {
    conn: ArcSwapOption<Conn>,
    index_add: Script,
    replay_set: Script,
    pipe: PipeSlot,
}

impl RedisStore {
    /// A store that is not connected yet; [`RedisStore::connect`] connects.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            conn: ArcSwapOption::empty(),
            index_add: Script::new(INDEX_ADD),
            replay_set: Script::new(REPLAY_SET),
            pipe: PipeSlot::default(),
        })
    }

    /// Connects, retrying until it succeeds (Redis may be down at start:
    /// the node serves from L1 meanwhile). Run it as a background task.
    pub async fn connect(
        self: Arc<Self>,
        url: Option<String>,
        cluster: Vec<String>,
        timeout: Duration,
    ) {
        let mut failures = 0u32;
        loop {
            match open(url.as_deref(), &cluster, timeout).await {
                Ok(conn) => {
                    self.conn.store(Some(Arc::new(conn)));
                    tracing::info!("L2 connected");
                    if let Some(url) = url.as_deref() {
                        self.pipe.start(url, timeout);
                    }
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, "L2 not reachable yet; retrying");
                    reconnect_pause(&mut failures).await;
                }
            }
        }
    }

    fn conn(&self) -> Result<Conn, L2Error> {
        self.conn
            .load()
            .as_deref()
            .cloned()
            .ok_or(L2Error::Unavailable)
    }
}

async fn open(
    url: Option<&str>,
    cluster: &[String],
    timeout: Duration,
) -> redis::RedisResult<Conn> {
    if let Some(url) = url {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_number_of_retries(1)
            .set_max_delay(500);
        Ok(Conn::Single(
            ConnectionManager::new_with_config(client, config).await?,
        ))
    } else {
        let client = redis::cluster::ClusterClientBuilder::new(cluster.to_vec())
            .connection_timeout(timeout)
            .response_timeout(timeout)
            .retries(1)
            .build()?;
        Ok(Conn::Cluster(client.get_async_connection().await?))
    }
}

/// What a `GET` of `key` found. The record says when it expires: one
/// command per read. Only a record written before that was kept costs a
/// `PTTL` (through the `redis` crate).
async fn found(
    bytes: Option<Vec<u8>>,
    key: &str,
    conn: Result<Conn, L2Error>,
) -> Result<Option<Found>, L2Error> {
    let Some(record) = bytes.and_then(|b| Record::decode(&b)) else {
        return Ok(None);
    };
    let ttl_ms = match &record {
        Record::Value {
            expires_ms: Some(expires_ms),
            ..
        } => Some(expires_ms.saturating_sub(crate::tier::keys::now_ms())),
        Record::Value {
            expires_ms: None, ..
        } => {
            let pttl: i64 = redis::cmd("PTTL").arg(key).query_async(&mut conn?).await?;
            u64::try_from(pttl).ok()
        }
        Record::Tombstone { .. } => None,
    };
    Ok(Some(Found { record, ttl_ms }))
}

fn expire_at(now_ms: u64, ttl_ms: u64) -> u64 {
    now_ms.saturating_add(ttl_ms)
}

/// Records `member` in the definition's lex index (pattern invalidation) and
/// expiry index (pruning) with the `index_add` script; every write of a value
/// goes through here so the two indexes cannot drift from the keys.
async fn index_member(
    script: &Script,
    ns: &Namespace,
    member: &str,
    now_ms: u64,
    ttl_ms: u64,
    conn: &mut Conn,
) -> Result<(), L2Error> {
    let _: i64 = script
        .key(ns.index())
        .key(expiry_index(ns))
        .arg(member)
        .arg(expire_at(now_ms, ttl_ms))
        .arg(now_ms)
        .invoke_async(conn)
        .await?;
    Ok(())
}

impl L2Store for RedisStore {
    fn pipe_stats(&self) -> PipeStats {
        self.pipe.stats()
    }

    fn try_lease(
        &self,
        key: String,
        owner: String,
        ttl_ms: u64,
    ) -> BoxFuture<'static, Result<bool, L2Error>> {
        let conn = self.conn();
        Box::pin(async move {
            let mut conn = conn?;
            let taken: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&owner)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms.max(1))
                .query_async(&mut conn)
                .await?;
            Ok(taken.is_some())
        })
    }

    fn release_lease(&self, key: String, owner: String) -> BoxFuture<'static, Result<(), L2Error>> {
        let conn = self.conn();
        Box::pin(async move {
            let mut conn = conn?;
            let () = redis::Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 0",
            )
            .key(&key)
            .arg(&owner)
            .invoke_async::<i64>(&mut conn)
            .await
            .map(|_| ())?;
            Ok(())
        })
    }

    fn get(&self, key: String) -> BoxFuture<'static, Result<Option<Found>, L2Error>> {
        let conn = self.conn();
        if let Some(pipe) = self.pipe.up() {
            return Box::pin(async move {
                let bytes = pipe.get(key.as_bytes()).await?;
                found(bytes, &key, conn).await
            });
        }
        Box::pin(async move {
            let mut conn = conn?;
            let bytes: Option<Vec<u8>> = redis::cmd("GET").arg(&key).query_async(&mut conn).await?;
            found(bytes, &key, Ok(conn)).await
        })
    }

    fn set(
        &self,
        ns: Namespace,
        member: String,
        record: Record,
        ttl_ms: u64,
    ) -> BoxFuture<'static, Result<(), L2Error>> {
        let conn = self.conn();
        let script = self.index_add.clone();
        Box::pin(async move {
            let mut conn = conn?;
            let now = crate::tier::keys::now_ms();
            let () = redis::cmd("SET")
                .arg(ns.key(&member))
                .arg(record.encode())
                .arg("PX")
                .arg(ttl_ms.max(1))
                .query_async(&mut conn)
                .await?;
            index_member(&script, &ns, &member, now, ttl_ms, &mut conn).await?;
            Ok(())
        })
    }

    fn replay_set(
        &self,
        ns: Namespace,
        member: String,
        at_ms: u64,
        envelope: Vec<u8>,
        ttl_ms: u64,
    ) -> BoxFuture<'static, Result<bool, L2Error>> {
        let conn = self.conn();
        let replay = self.replay_set.clone();
        let index = self.index_add.clone();
        Box::pin(async move {
            let mut conn = conn?;
            let marker: Option<u64> = redis::cmd("GET")
                .arg(ns.marker())
                .query_async(&mut conn)
                .await?;
            if marker.is_some_and(|m| m >= at_ms) {
                return Ok(false);
            }
            let record = Record::Value {
                at_ms,
                expires_ms: Some(crate::tier::keys::now_ms().saturating_add(ttl_ms.max(1))),
                envelope,
            }
            .encode();
            let written: i64 = replay
                .key(ns.key(&member))
                .arg(record)
                .arg(ttl_ms.max(1))
                .invoke_async(&mut conn)
                .await?;
            if written == 1 {
                let now = crate::tier::keys::now_ms();
                index_member(&index, &ns, &member, now, ttl_ms, &mut conn).await?;
            }
            Ok(written == 1)
        })
    }

    fn delete(
        &self,
        ns: Namespace,
        member: String,
        at_ms: u64,
        tombstone_ms: u64,
    ) -> BoxFuture<'static, Result<bool, L2Error>> {
        let conn = self.conn();
        Box::pin(async move {
            let mut conn = conn?;
            let old: Option<Vec<u8>> = redis::cmd("SET")
                .arg(ns.key(&member))
                .arg(Record::Tombstone { at_ms }.encode())
                .arg("PX")
                .arg(tombstone_ms.max(1))
                .arg("GET")
                .query_async(&mut conn)
                .await?;
            Ok(matches!(
                old.and_then(|b| Record::decode(&b)),
                Some(Record::Value { .. })
            ))
        })
    }

    fn delete_matching(
        &self,
        ns: Namespace,
        glob: String,
        at_ms: u64,
    ) -> BoxFuture<'static, Result<u64, L2Error>> {
        let conn = self.conn();
        Box::pin(async move {
            let mut conn = conn?;
            // First the marker: a write queued elsewhere before now must not
            // come back once this pattern has run.
            let () = redis::cmd("SET")
                .arg(ns.marker())
                .arg(at_ms)
                .query_async(&mut conn)
                .await?;
            let prefix = literal_prefix(&glob);
            let matcher = Glob::new(glob.as_bytes());
            let mut min = if prefix.is_empty() {
                b"-".to_vec()
            } else {
                [b"[", prefix.as_bytes()].concat()
            };
            let max = if prefix.is_empty() {
                b"+".to_vec()
            } else {
                // UTF-8 keys never hold 0xff, so this bounds every key with the prefix.
                [b"[", prefix.as_bytes(), b"\xff"].concat()
            };
            let mut removed = 0;
            loop {
                let page: Vec<String> = redis::cmd("ZRANGEBYLEX")
                    .arg(ns.index())
                    .arg(&min)
                    .arg(&max)
                    .arg("LIMIT")
                    .arg(0)
                    .arg(256)
                    .query_async(&mut conn)
                    .await?;
                let Some(last) = page.last() else { break };
                min = [b"(", last.as_bytes()].concat();
                let matched: Vec<&String> = page
                    .iter()
                    .filter(|m| matcher.matches(m.as_bytes()))
                    .collect();
                if !matched.is_empty() {
                    // One DEL per key, concurrently: on a Cluster the keys
                    // live in different slots, so one multi-key DEL would fail.
                    futures_util::future::try_join_all(matched.iter().map(|member| {
                        let mut conn = conn.clone();
                        let key = ns.key(member);
                        async move {
                            redis::cmd("DEL")
                                .arg(key)
                                .query_async::<i64>(&mut conn)
                                .await
                        }
                    }))
                    .await?;
                    let mut pipe = redis::pipe();
                    pipe.zrem(ns.index(), &matched).ignore();
                    pipe.zrem(expiry_index(&ns), &matched).ignore();
                    let () = pipe.query_async(&mut conn).await?;
                    removed += matched.len() as u64;
                }
                if page.len() < 256 {
                    break;
                }
            }
            Ok(removed)
        })
    }

    fn publish(
        &self,
        channel: String,
        payloads: Vec<Vec<u8>>,
    ) -> BoxFuture<'static, Result<(), L2Error>> {
        let conn = self.conn();
        Box::pin(async move {
            let mut conn = conn?;
            // On a Cluster the bus is a shard channel: SPUBLISH reaches the
            // subscribers through the one shard that owns it, where PUBLISH
            // would be copied to every node of the Cluster.
            let command = match conn {
                Conn::Cluster(_) => "SPUBLISH",
                Conn::Single(_) => "PUBLISH",
            };
            let mut pipe = redis::pipe();
            for payload in payloads {
                pipe.cmd(command).arg(&channel).arg(payload).ignore();
            }
            let () = pipe.query_async(&mut conn).await?;
            Ok(())
        })
    }
}

fn expiry_index(ns: &Namespace) -> String {
    format!("{}:expiry", ns.index())
}
