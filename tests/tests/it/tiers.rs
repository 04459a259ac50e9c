//! Two levels across nodes: real `redis-server` processes as L2 and bus,
//! two (or three) real `hoard` nodes pointing at them, real faults (kill -9
//! of Redis, a restart of a node, a blackholed bus link through a proxy).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use anyhow::Result;
use hoard_tests::tier::{FaultProxy, RedisCluster, RedisServer, l2_config, replay_file};
use hoard_tests::{Server, ServerOptions, eventually};
use redis::Value;

/// A UserCache value whose email carries `tag` (`<tag>@example.com`).
fn user(id: &str, tag: &str) -> String {
    format!(r#"{{"id":"{id}","email":"{tag}@example.com"}}"#)
}

fn node(redis_url: &str, dir: &tempfile::TempDir, name: &str, extra: &str) -> Result<Server> {
    Server::start_with(ServerOptions::new().with_config(l2_config(
        &format!("url = \"{redis_url}\""),
        &replay_file(dir, name),
        extra,
    )))
}

/// A node whose L2 is `cluster`, found through all its primaries as seeds.
fn cluster_node(
    cluster: &RedisCluster,
    dir: &tempfile::TempDir,
    name: &str,
    extra: &str,
) -> Result<Server> {
    let seeds = cluster
        .urls()
        .iter()
        .map(|u| format!("\"{u}\""))
        .collect::<Vec<_>>()
        .join(", ");
    Server::start_with(ServerOptions::new().with_config(l2_config(
        &format!("cluster = [{seeds}]"),
        &replay_file(dir, name),
        extra,
    )))
}

fn set(con: &mut redis::Connection, cache: &str, value: &str, parts: &[&str]) -> Result<String> {
    Ok(redis::cmd("CACHE.SET")
        .arg(cache)
        .arg(value)
        .arg(parts)
        .query(con)?)
}

fn get(con: &mut redis::Connection, cache: &str, parts: &[&str]) -> Result<Option<String>> {
    Ok(redis::cmd("CACHE.GET").arg(cache).arg(parts).query(con)?)
}

/// `(value, level)` from `CACHE.GETMETA`.
fn meta(
    con: &mut redis::Connection,
    cache: &str,
    parts: &[&str],
) -> Result<(Option<String>, String)> {
    Ok(redis::cmd("CACHE.GETMETA")
        .arg(cache)
        .arg(parts)
        .query(con)?)
}

fn info(con: &mut redis::Connection, field: &str) -> Result<String> {
    let text: String = redis::cmd("INFO").arg("l2").query(con)?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .trim()
        .to_owned())
}

/// Waits (15 s at most) until `INFO l2` shows `field:up`.
fn wait_up(con: &mut redis::Connection, field: &str) -> Result<()> {
    assert!(
        eventually(Duration::from_secs(15), || Ok(info(con, field)? == "up"))?,
        "{field} never came up"
    );
    Ok(())
}

/// The node's bus link is confirmed (its own heartbeat came back).
fn wait_linked(con: &mut redis::Connection) -> Result<()> {
    wait_up(con, "bus_link")
}

fn redis_keys(redis: &mut redis::Connection, pattern: &str) -> Result<Vec<String>> {
    let mut keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query(redis)?;
    keys.sort();
    Ok(keys)
}

#[test]
fn promotion_keeps_l1_within_the_remaining_l2_ttl() -> Result<()> {
    let redis = RedisServer::start()?;
    let dir = tempfile::tempdir()?;
    let a = node(&redis.url(), &dir, "a", "l1_ttl_ms = 60000")?;
    let b = node(&redis.url(), &dir, "b", "l1_ttl_ms = 60000")?;
    let (mut ca, mut cb) = (a.client()?, b.client()?);
    wait_linked(&mut ca)?;
    wait_linked(&mut cb)?;

    let ok: String = redis::cmd("CACHE.PSETEX")
        .arg("UserCache")
        .arg(1500)
        .arg(user("u1", "a"))
        .arg("u1")
        .query(&mut ca)?;
    assert_eq!(ok, "OK");
    // Namespaced by tenant, definition id and major version.
    let mut direct = redis.client()?;
    assert_eq!(
        redis_keys(&mut direct, "hoard:_:user-cache:1:*")?,
        vec!["hoard:_:user-cache:1:User:u1".to_owned()]
    );
    let (value, level) = meta(&mut cb, "UserCache", &["u1"])?;
    assert!(value.unwrap().contains("a@example.com"));
    assert_eq!(level, "l2", "first read on B comes from L2");
    // Then it is promoted. A's own invalidation of u1 (sent with its write)
    // may reach B just after that first read and drop the copy once; the
    // next read promotes it again.
    wait_l1(&mut cb, "UserCache", &["u1"], "a@example.com")?;

    // When Redis has expired it, B's L1 copy (cap 60 s) must be gone too.
    assert!(eventually(Duration::from_secs(5), || {
        Ok(redis::cmd("PTTL")
            .arg("hoard:_:user-cache:1:User:u1")
            .query::<i64>(&mut direct)?
            == -2)
    })?);
    assert_eq!(
        meta(&mut cb, "UserCache", &["u1"])?,
        (None, "none".to_owned())
    );
    Ok(())
}

#[test]
fn invalidations_cross_nodes_by_key_pattern_and_event_cascade() -> Result<()> {
    let redis = RedisServer::start()?;
    let dir = tempfile::tempdir()?;
    let a = node(&redis.url(), &dir, "a", "max_stale_ms = 500")?;
    let b = node(&redis.url(), &dir, "b", "max_stale_ms = 500")?;
    let (mut ca, mut cb) = (a.client()?, b.client()?);
    wait_linked(&mut ca)?;
    wait_linked(&mut cb)?;
    for id in ["u1", "u2"] {
        assert_eq!(set(&mut ca, "UserCache", &user(id, "old"), &[id])?, "OK");
        assert_eq!(
            set(&mut ca, "UserCache", &user(id, "old"), &[id, "1"])?,
            "OK"
        );
        assert_eq!(
            set(
                &mut ca,
                "UserPermissions",
                r#"{"userId":"ID","roles":["r"]}"#.replace("ID", id).as_str(),
                &[id]
            )?,
            "OK"
        );
    }
    // B holds everything in L1.
    for parts in [&["u1"][..], &["u1", "1"], &["u2"], &["u2", "1"]] {
        get(&mut cb, "UserCache", parts)?;
        assert_eq!(meta(&mut cb, "UserCache", parts)?.1, "l1");
    }
    get(&mut cb, "UserPermissions", &["u1"])?;

    // By key: a write on A replaces B's copy; a delete on A removes it.
    assert_eq!(
        set(&mut ca, "UserCache", &user("u2", "new"), &["u2"])?,
        "OK"
    );
    assert!(eventually(Duration::from_secs(2), || Ok(get(
        &mut cb,
        "UserCache",
        &["u2"]
    )?
    .is_some_and(|v| v.contains("new"))))?);
    let removed: i64 = redis::cmd("CACHE.DEL")
        .arg("UserCache")
        .arg("u2")
        .arg("1")
        .query(&mut ca)?;
    assert_eq!(removed, 1);
    assert!(eventually(Duration::from_secs(2), || Ok(get(
        &mut cb,
        "UserCache",
        &["u2", "1"]
    )?
    .is_none()))?);

    // By event: UserUpdated removes User:u1, the pattern User:u1:*, and
    // cascades into UserPermissions — on B too, and in Redis.
    let _: Value = redis::cmd("CACHE.EVENT")
        .arg("UserUpdated")
        .arg(r#"{"userId":"u1"}"#)
        .query(&mut ca)?;
    assert!(eventually(Duration::from_secs(2), || Ok(get(
        &mut cb,
        "UserCache",
        &["u1"]
    )?
    .is_none()
        && get(&mut cb, "UserCache", &["u1", "1"])?.is_none()
        && get(&mut cb, "UserPermissions", &["u1"])?.is_none()))?);
    let mut direct = redis.client()?;
    let live: Vec<String> = redis_keys(&mut direct, "hoard:_:user-cache:1:User:u1*")?
        .into_iter()
        .filter(|k| {
            let v: Vec<u8> = redis::cmd("GET")
                .arg(k)
                .query(&mut direct)
                .unwrap_or_default();
            // A value record, with its expiry or without (not a tombstone).
            matches!(v.first(), Some(b'V' | b'E'))
        })
        .collect();
    assert!(live.is_empty(), "pattern reached L2: {live:?}");
    // Untouched: the other user.
    assert!(get(&mut cb, "UserPermissions", &["u2"])?.is_some());
    assert!(get(&mut cb, "UserCache", &["u2"])?.is_some_and(|v| v.contains("new")));
    Ok(())
}

/// Whether `c` comes to serve `UserCache`'s `parts` from its L1 within 3 s.
/// With a 300 ms staleness bound, a heartbeat that a loaded machine delays
/// past it makes a node read L2 for a moment (as it should), so tests wait
/// for L1 rather than assume it.
fn comes_to_serve_from_l1(c: &mut redis::Connection, parts: &[&str]) -> Result<bool> {
    eventually(Duration::from_secs(3), || {
        get(c, "UserCache", parts)?;
        Ok(meta(c, "UserCache", parts)?.1 == "l1")
    })
}

#[test]
fn a_cut_bus_bounds_staleness_by_max_stale_ms() -> Result<()> {
    let redis = RedisServer::start()?;
    let proxy = FaultProxy::start(redis.port)?;
    let dir = tempfile::tempdir()?;
    let a = node(&redis.url(), &dir, "a", "max_stale_ms = 300")?;
    let b = node(
        &redis.url(),
        &dir,
        "b",
        &format!("max_stale_ms = 300\nbus_url = \"{}\"", proxy.url()),
    )?;
    let (mut ca, mut cb) = (a.client()?, b.client()?);
    wait_linked(&mut ca)?;
    wait_linked(&mut cb)?;
    assert_eq!(set(&mut ca, "UserCache", &user("u1", "v1"), &["u1"])?, "OK");
    // B serves it from L1 while its link is fresh.
    assert!(comes_to_serve_from_l1(&mut cb, &["u1"])?);

    proxy.blackhole();
    assert_eq!(set(&mut ca, "UserCache", &user("u1", "v2"), &["u1"])?, "OK");
    let acked = Instant::now();
    // No invalidation can reach B; it must stop trusting its L1 on its own.
    assert!(eventually(Duration::from_secs(3), || Ok(get(
        &mut cb,
        "UserCache",
        &["u1"]
    )?
    .is_some_and(|v| v.contains("v2"))))?);
    let waited = acked.elapsed();
    assert!(
        waited <= Duration::from_millis(300 + 400),
        "B served the old value for {waited:?}, bound is 300 ms"
    );
    assert_eq!(info(&mut cb, "bus_link")?, "down");

    // Healed: the link comes back and L1 is trusted again, after a flush.
    let flushes: u64 = info(&mut cb, "bus_flushes")?.parse()?;
    proxy.pass();
    wait_linked(&mut cb)?;
    assert!(info(&mut cb, "bus_flushes")?.parse::<u64>()? > flushes);
    assert!(comes_to_serve_from_l1(&mut cb, &["u1"])?);
    Ok(())
}

#[test]
fn an_outage_serves_stale_keeps_writes_and_replays_them_without_resurrection() -> Result<()> {
    let mut redis = RedisServer::start()?;
    let dir = tempfile::tempdir()?;
    let extra = "max_stale_ms = 200\nhard_timeout_ms = 200\nsoft_timeout_ms = 20\nreplay_interval_ms = 50\nbreaker_open_ms = 100";
    let mut a = node(&redis.url(), &dir, "a", extra)?;
    let b = node(&redis.url(), &dir, "b", extra)?;
    let (mut ca, mut cb) = (a.client()?, b.client()?);
    wait_linked(&mut ca)?;
    wait_linked(&mut cb)?;
    for id in ["k1", "k2"] {
        assert_eq!(set(&mut ca, "UserCache", &user(id, "before"), &[id])?, "OK");
    }
    // A's own invalidations of k1 and k2 could reach B after B promoted
    // them and drop B's copies, leaving nothing to serve stale below: wait
    // until they have arrived, then until B holds both in L1.
    bus_barrier(&mut ca, &mut cb)?;
    for id in ["k1", "k2"] {
        wait_l1(&mut cb, "UserCache", &[id], "before")?;
    }

    redis.kill9();
    // Writes reach A's L1 only, and say so.
    assert_eq!(
        set(&mut ca, "UserCache", &user("k1", "during"), &["k1"])?,
        "PARTIAL"
    );
    assert_eq!(
        set(&mut ca, "UserCache", &user("k3", "ghost"), &["k3"])?,
        "PARTIAL"
    );
    let _: i64 = redis::cmd("CACHE.DEL")
        .arg("UserCache")
        .arg("k3")
        .query(&mut ca)?;
    let _: i64 = redis::cmd("CACHE.DEL")
        .arg("UserCache")
        .arg("k2")
        .query(&mut ca)?;
    assert_eq!(info(&mut ca, "l2_replay_depth")?, "3");
    // B keeps answering warm keys, marked stale.
    let (value, level) = meta(&mut cb, "UserCache", &["k1"])?;
    assert!(value.unwrap().contains("before"));
    assert_eq!(level, "stale");

    // A is killed and restarted during the outage: the queue is on disk.
    drop(ca);
    drop(a);
    a = node(&redis.url(), &dir, "a", extra)?;
    let mut ca = a.client()?;
    assert_eq!(info(&mut ca, "l2_replay_depth")?, "3");

    redis.restart()?; // empty: everything in Redis was lost
    assert!(eventually(Duration::from_secs(10), || Ok(info(
        &mut ca,
        "l2_replay_depth"
    )? == "0"))?);
    wait_linked(&mut cb)?;
    // Nothing lost: the acknowledged write is in L2 and every node reads it.
    assert!(eventually(Duration::from_secs(3), || Ok(get(
        &mut cb,
        "UserCache",
        &["k1"]
    )?
    .is_some_and(|v| v.contains("during"))))?);
    // Nothing resurrected: deleted during the outage stays deleted.
    assert_eq!(get(&mut cb, "UserCache", &["k3"])?, None);
    assert!(eventually(Duration::from_secs(3), || Ok(get(
        &mut cb,
        "UserCache",
        &["k2"]
    )?
    .is_none()))?);
    assert_eq!(get(&mut ca, "UserCache", &["k3"])?, None);
    Ok(())
}

#[test]
fn warm_keys_are_served_without_a_gap_while_redis_hangs_and_comes_back() -> Result<()> {
    let redis = RedisServer::start()?;
    let dir = tempfile::tempdir()?;
    let extra = "max_stale_ms = 200\nhard_timeout_ms = 200\nsoft_timeout_ms = 20\nreplay_interval_ms = 50\nbreaker_open_ms = 1000";
    let a = node(&redis.url(), &dir, "a", extra)?;
    let mut ca = a.client()?;
    wait_linked(&mut ca)?;
    let ids: Vec<String> = (0..20).map(|i| format!("w{i}")).collect();
    for id in &ids {
        assert_eq!(set(&mut ca, "UserCache", &user(id, "warm"), &[id])?, "OK");
        assert!(get(&mut ca, "UserCache", &[id])?.is_some());
    }
    let flushes = info(&mut ca, "bus_flushes")?.parse::<u64>()?;
    // A hung Redis: writes time out until the breaker opens (five writes of
    // one hard timeout each, so no L2 call is still in flight after them).
    redis.pause(true)?;
    for i in 0..6 {
        assert_eq!(
            set(
                &mut ca,
                "UserCache",
                &user("other", &format!("n{i}")),
                &["other"]
            )?,
            "PARTIAL"
        );
    }
    assert_eq!(info(&mut ca, "l2_breaker")?, "open");
    assert!(
        eventually(Duration::from_secs(5), || Ok(
            info(&mut ca, "bus_link")? == "down"
        ))?,
        "the bus never noticed the hung Redis"
    );
    // Warm keys are served from L1, marked stale.
    for id in &ids {
        let (value, level) = meta(&mut ca, "UserCache", &[id])?;
        assert!(
            value.is_some_and(|v| v.contains("warm@")),
            "{id} during the outage"
        );
        assert_eq!(level, "stale", "{id} during the outage");
    }
    // Redis is back: the bus reconnects and flushes what it may have missed
    // while the data connection's breaker is still open. No warm key may
    // answer nil meanwhile: stale until L2 answers, then fresh.
    redis.pause(false)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut fresh = false;
    while !fresh {
        assert!(Instant::now() < deadline, "L2 never answered again");
        fresh = true;
        for id in &ids {
            let (value, level) = meta(&mut ca, "UserCache", &[id])?;
            assert!(
                value.is_some_and(|v| v.contains("warm@")),
                "{id} answered nil ({level}) after Redis came back"
            );
            fresh &= level == "l1" || level == "l2";
        }
    }
    assert!(
        info(&mut ca, "bus_flushes")?.parse::<u64>()? > flushes,
        "the reconnect flushed"
    );
    Ok(())
}

#[test]
fn two_tenants_sharing_one_redis_never_see_each_other() -> Result<()> {
    let redis = RedisServer::start()?;
    let dir = tempfile::tempdir()?;
    let p1 = hoard_tests::plugin_dir(&["user_cache"])?;
    let p2 = hoard_tests::plugin_dir(&["user_cache"])?;
    let hash = "a3ee786b5707c27d42570785081ec17f5c7db9262a01366af362a1aa61a420b9"; // let-me-in
    let tenants = format!(
        "\n[[tenants]]\nname = \"acme\"\npassword_sha256 = \"{hash}\"\nplugins = \"{}\"\n[[tenants]]\nname = \"globex\"\npassword_sha256 = \"{hash}\"\nplugins = \"{}\"\n",
        p1.path().display(),
        p2.path().display()
    );
    let config = |name: &str| {
        format!(
            "{}{tenants}",
            l2_config(
                &format!("url = \"{}\"", redis.url()),
                &replay_file(&dir, name),
                ""
            )
        )
    };
    let a = Server::start_with(ServerOptions::new().with_config(config("a")))?;
    let b = Server::start_with(ServerOptions::new().with_config(config("b")))?;
    let login = |server: &Server, tenant: &str| -> Result<redis::Connection> {
        let mut con = server.client()?;
        let _: String = redis::cmd("AUTH")
            .arg(tenant)
            .arg("let-me-in")
            .query(&mut con)?;
        Ok(con)
    };
    let mut acme_a = login(&a, "acme")?;
    let mut globex_b = login(&b, "globex")?;
    let mut acme_b = login(&b, "acme")?;
    wait_linked(&mut acme_a)?;
    wait_linked(&mut globex_b)?;
    assert_eq!(
        set(&mut acme_a, "UserCache", &user("u1", "acme"), &["u1"])?,
        "OK"
    );
    assert_eq!(get(&mut globex_b, "UserCache", &["u1"])?, None);
    assert_eq!(
        set(&mut globex_b, "UserCache", &user("u1", "globex"), &["u1"])?,
        "OK"
    );
    assert!(
        get(&mut acme_b, "UserCache", &["u1"])?
            .unwrap()
            .contains("acme")
    );
    assert!(
        get(&mut globex_b, "UserCache", &["u1"])?
            .unwrap()
            .contains("globex")
    );
    let mut direct = redis.client()?;
    assert_eq!(redis_keys(&mut direct, "hoard:acme:*:User:u1")?.len(), 1);
    assert_eq!(redis_keys(&mut direct, "hoard:globex:*:User:u1")?.len(), 1);
    // Values are the stored envelope: UserCache is encrypted, so Redis
    // holds no plaintext of it.
    let raw: Vec<u8> = redis::cmd("GET")
        .arg("hoard:acme:user-cache:1:User:u1")
        .query(&mut direct)?;
    assert_eq!(raw.first(), Some(&b'E'), "a value record with its expiry");
    assert!(
        !raw.windows(4).any(|w| w == b"acme"),
        "plaintext in Redis: {:?}",
        String::from_utf8_lossy(&raw)
    );
    Ok(())
}

#[test]
fn a_three_primary_cluster_serves_get_set_and_invalidation() -> Result<()> {
    let cluster = RedisCluster::start()?;
    let dir = tempfile::tempdir()?;
    let a = cluster_node(&cluster, &dir, "a", "")?;
    let b = cluster_node(&cluster, &dir, "b", "")?;
    let (mut ca, mut cb) = (a.client()?, b.client()?);
    wait_linked(&mut ca)?;
    wait_linked(&mut cb)?;
    // The bus is a shard channel: both nodes subscribe on the one shard
    // that owns it, and nothing is subscribed the classic way.
    let (mut sharded, mut classic) = (0, 0);
    for n in &cluster.nodes {
        let mut c = n.client()?;
        let (_, count): (String, i64) = redis::cmd("PUBSUB")
            .arg("SHARDNUMSUB")
            .arg("hoard:bus")
            .query(&mut c)?;
        sharded += count;
        let (_, count): (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("hoard:bus")
            .query(&mut c)?;
        classic += count;
    }
    assert_eq!((sharded, classic), (2, 0), "subscribers (sharded, classic)");
    for i in 0..20 {
        let id = format!("u{i}");
        assert_eq!(set(&mut ca, "UserCache", &user(&id, "c"), &[&id])?, "OK");
        assert_eq!(
            set(&mut ca, "UserCache", &user(&id, "c"), &[&id, "1"])?,
            "OK"
        );
    }
    // Spread over the shards.
    let mut direct = cluster.client()?;
    let mut on_nodes = 0;
    for n in &cluster.nodes {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("hoard:_:user-cache:1:*")
            .query(&mut n.client()?)?;
        on_nodes += usize::from(!keys.is_empty());
    }
    assert!(on_nodes >= 2, "keys on {on_nodes} shard(s)");
    let (v, level) = meta(&mut cb, "UserCache", &["u3"])?;
    assert!(v.is_some());
    assert_eq!(level, "l2");
    assert_eq!(meta(&mut cb, "UserCache", &["u3"])?.1, "l1");
    let _: i64 = redis::cmd("CACHE.DEL")
        .arg("UserCache")
        .arg("u3")
        .query(&mut ca)?;
    assert!(eventually(Duration::from_secs(2), || Ok(get(
        &mut cb,
        "UserCache",
        &["u3"]
    )?
    .is_none()))?);
    get(&mut cb, "UserCache", &["u4", "1"])?;
    let _: Value = redis::cmd("CACHE.EVENT")
        .arg("UserUpdated")
        .arg(r#"{"userId":"u4"}"#)
        .query(&mut ca)?;
    assert!(eventually(Duration::from_secs(2), || Ok(get(
        &mut cb,
        "UserCache",
        &["u4", "1"]
    )?
    .is_none()))?);
    let raw: Option<Vec<u8>> = redis::cmd("GET")
        .arg("hoard:_:user-cache:1:User:u4:v1")
        .query(&mut direct)?;
    assert!(raw.is_none(), "pattern reached the cluster");
    Ok(())
}

/// L2 reads on a standalone Redis take the read pipe (its own connection,
/// batching GETs): with the URL's password and database, and opened again
/// after Redis was killed and restarted.
#[test]
fn reads_take_the_read_pipe_with_the_urls_auth_and_database_and_it_reopens() -> Result<()> {
    let mut redis = RedisServer::start_with(&["--requirepass", "s3cret"])?;
    let url = format!("redis://:s3cret@127.0.0.1:{}/3", redis.port);
    let dir = tempfile::tempdir()?;
    // A 1 ms L1 cap: reads after the first millisecond go to L2.
    let a = node(&url, &dir, "a", "l1_ttl_ms = 1")?;
    let mut ca = a.client()?;
    wait_linked(&mut ca)?;
    wait_up(&mut ca, "l2_read_pipe")?;
    assert_eq!(
        set(&mut ca, "UserCache", &user("u1", "one"), &["u1"])?,
        "OK"
    );
    // The entry is in database 3, the one the URL names.
    let mut direct = redis::Client::open(url.as_str())?.get_connection()?;
    assert_eq!(
        redis_keys(&mut direct, "hoard:_:user-cache:1:*")?,
        vec!["hoard:_:user-cache:1:User:u1".to_owned()]
    );
    let piped =
        |c: &mut redis::Connection| -> Result<u64> { Ok(info(c, "l2_piped_reads")?.parse()?) };
    let before = piped(&mut ca)?;
    let mut from_l2 = 0;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(2)); // past the 1 ms L1 cap
        let (value, level) = meta(&mut ca, "UserCache", &["u1"])?;
        assert!(value.unwrap_or_default().contains("one@example.com"));
        from_l2 += u64::from(level == "l2");
    }
    assert!(from_l2 > 0, "no read reached L2");
    assert!(
        piped(&mut ca)? - before >= from_l2,
        "L2 reads did not take the pipe"
    );

    // kill -9 and a restart (empty): the pipe fails, is opened again, and
    // reads come back through it.
    let opens: u64 = info(&mut ca, "l2_read_pipe_opens")?.parse()?;
    redis.restart()?;
    assert!(
        eventually(Duration::from_secs(20), || {
            if set(&mut ca, "UserCache", &user("u1", "two"), &["u1"]).ok() != Some("OK".to_owned())
            {
                return Ok(false);
            }
            let (value, level) = meta(&mut ca, "UserCache", &["u1"])?;
            Ok(level == "l2"
                && value.unwrap_or_default().contains("two@example.com")
                && info(&mut ca, "l2_read_pipe")? == "up")
        })?,
        "reads did not come back through a reopened pipe"
    );
    assert!(info(&mut ca, "l2_read_pipe_opens")?.parse::<u64>()? > opens);
    Ok(())
}

#[test]
fn a_hung_redis_costs_reads_the_soft_timeout_and_writes_the_hard_one() -> Result<()> {
    let redis = RedisServer::start()?;
    let dir = tempfile::tempdir()?;
    let extra = "max_stale_ms = 200\nsoft_timeout_ms = 30\nhard_timeout_ms = 300\nbreaker_failures = 1000\nreplay_interval_ms = 50";
    let a = node(&redis.url(), &dir, "a", extra)?;
    let mut ca = a.client()?;
    wait_linked(&mut ca)?;
    assert_eq!(
        set(&mut ca, "UserCache", &user("u1", "warm"), &["u1"])?,
        "OK"
    );

    redis.pause(true)?; // SIGSTOP: connections stay open, nothing answers
    // Once the bus cannot be confirmed, L1 is not trusted: a read waits the
    // soft timeout for L2, then answers the warm value marked stale.
    assert!(eventually(Duration::from_secs(3), || Ok(meta(
        &mut ca,
        "UserCache",
        &["u1"]
    )?
    .1 == "stale"))?);
    let started = Instant::now();
    let (value, level) = meta(&mut ca, "UserCache", &["u1"])?;
    let took = started.elapsed();
    assert!(value.unwrap().contains("warm"));
    assert_eq!(level, "stale");
    assert!(
        took < Duration::from_millis(250),
        "read took {took:?} (soft timeout 30 ms)"
    );
    // A write waits at most the hard timeout, then says PARTIAL.
    let started = Instant::now();
    assert_eq!(
        set(&mut ca, "UserCache", &user("u1", "hung"), &["u1"])?,
        "PARTIAL"
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "write took {took:?} (hard timeout 300 ms)"
    );

    redis.pause(false)?;
    assert!(eventually(Duration::from_secs(10), || Ok(info(
        &mut ca,
        "l2_replay_depth"
    )? == "0"))?);
    // The write queued while Redis hung reached it: a fresh node reads it from L2.
    let b = node(&redis.url(), &dir, "b", extra)?;
    let mut cb = b.client()?;
    wait_linked(&mut cb)?; // connected (its heartbeats went through Redis)
    let (value, level) = meta(&mut cb, "UserCache", &["u1"])?;
    assert!(value.unwrap().contains("hung"));
    assert_eq!(level, "l2");
    Ok(())
}

#[test]
fn a_tracking_client_hears_about_writes_and_events_on_another_node() -> Result<()> {
    use hoard_tests::raw::{RawClient, Reply};
    let redis = RedisServer::start()?;
    let dir = tempfile::tempdir()?;
    let a = node(&redis.url(), &dir, "a", "")?;
    let b = node(&redis.url(), &dir, "b", "")?;
    let (mut ca, mut cb) = (a.client()?, b.client()?);
    wait_linked(&mut ca)?;
    wait_linked(&mut cb)?;
    assert_eq!(
        set(&mut ca, "UserCache", &user("u1", "old"), &["u1"])?,
        "OK"
    );

    // NOLOOP: B's own promotion of the entry from L2 into its L1 is not announced to it.
    let mut tracked = RawClient::connect(b.port)?;
    tracked.cmd_str(&["HELLO", "3"])?;
    assert_eq!(
        tracked.cmd_str(&["CLIENT", "TRACKING", "ON", "NOLOOP"])?,
        Reply::Simple("OK".into())
    );
    let read = tracked.cmd_str(&["CACHE.GET", "UserCache", "u1"])?;
    assert!(matches!(read, Reply::Bulk(Some(_))), "{read:?}");
    let push = Reply::Push(vec![
        Reply::bulk("invalidate"),
        Reply::Array(Some(vec![Reply::bulk("UserCache:User:u1")])),
    ]);
    // A write on A reaches B's L1 through the bus, and B's tracking client hears it.
    assert_eq!(
        set(&mut ca, "UserCache", &user("u1", "new"), &["u1"])?,
        "OK"
    );
    assert_eq!(tracked.read()?, push);
    // So does an event published on A.
    tracked.cmd_str(&["CACHE.GET", "UserCache", "u1"])?;
    let _: Value = redis::cmd("CACHE.EVENT")
        .arg("UserDeleted")
        .arg(r#"{"userId":"u1"}"#)
        .query(&mut ca)?;
    assert_eq!(tracked.read()?, push);
    Ok(())
}

fn raw_get(redis: &mut impl redis::ConnectionLike, key: &str) -> Result<Vec<u8>> {
    Ok(redis::cmd("GET").arg(key).query(redis)?)
}

/// Another application's write straight to Redis: `SET key value PX 60000`.
fn direct_set(redis: &mut impl redis::ConnectionLike, key: &str, value: &[u8]) -> Result<()> {
    let () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .arg("PX")
        .arg(60_000)
        .query(redis)?;
    Ok(())
}

/// Reads until the node answers from L1 (its own write's tracking push may
/// drop the first copy; the next read promotes it again).
fn wait_l1(con: &mut redis::Connection, cache: &str, parts: &[&str], want: &str) -> Result<()> {
    assert!(
        eventually(Duration::from_secs(10), || {
            let (value, level) = meta(con, cache, parts)?;
            Ok(level == "l1" && value.is_some_and(|v| v.contains(want)))
        })?,
        "{cache} {parts:?} never settled in L1 with {want}"
    );
    Ok(())
}

/// Returns once node `b` has applied every invalidation node `a` published
/// before the call. `a` rewrites a key `b` holds in L1, and `b`'s answer
/// changes only when that message arrives; the bus delivers one node's
/// messages in the order it sent them, so the earlier ones are in too.
fn bus_barrier(a: &mut redis::Connection, b: &mut redis::Connection) -> Result<()> {
    assert_eq!(
        set(a, "UserCache", &user("barrier", "first"), &["barrier"])?,
        "OK"
    );
    wait_l1(b, "UserCache", &["barrier"], "first")?;
    assert_eq!(
        set(a, "UserCache", &user("barrier", "second"), &["barrier"])?,
        "OK"
    );
    assert!(
        answers(b, &["barrier"], "second")?,
        "the barrier's invalidation never reached the other node"
    );
    Ok(())
}

/// Whether the node answers UserCache `parts` with a value containing
/// `want` within 5 s (at any level).
fn answers(con: &mut redis::Connection, parts: &[&str], want: &str) -> Result<bool> {
    eventually(Duration::from_secs(5), || {
        let (value, _) = meta(con, "UserCache", parts)?;
        Ok(value.is_some_and(|v| v.contains(want)))
    })
}

/// `[l2]` settings of a node whose UserCache tracks direct writes.
const TRACKED: &str = "max_stale_ms = 2000\nl1_ttl_ms = 60000\n[l2.definitions.UserCache]\ntrack_direct_writes = true\n";

/// The node's bus link and its tracking link are both up.
fn wait_tracking(con: &mut redis::Connection) -> Result<()> {
    wait_linked(con)?;
    wait_up(con, "tracking_link")
}

#[test]
fn direct_writes_to_redis_reach_l1_of_definitions_that_track_them() -> Result<()> {
    let redis = RedisServer::start()?;
    let dir = tempfile::tempdir()?;
    // UserCache opts in; UserPermissions keeps the default.
    let a = node(&redis.url(), &dir, "a", TRACKED)?;
    let mut ca = a.client()?;
    wait_tracking(&mut ca)?;
    assert_eq!(info(&mut ca, "tracking_prefixes")?, "1");
    let mut direct = redis.client()?;

    // An older envelope of u1, as hoard wrote it (a valid value for that key).
    assert_eq!(
        set(&mut ca, "UserCache", &user("u1", "old"), &["u1"])?,
        "OK"
    );
    let u1 = "hoard:_:user-cache:1:User:u1";
    let old_envelope = raw_get(&mut direct, u1)?;
    assert_eq!(
        set(&mut ca, "UserCache", &user("u1", "new"), &["u1"])?,
        "OK"
    );
    wait_l1(&mut ca, "UserCache", &["u1"], "new@")?;
    // The same for the definition that does not opt in.
    let perms = |roles: &str| format!(r#"{{"userId":"u1","roles":["{roles}"]}}"#);
    assert_eq!(
        set(&mut ca, "UserPermissions", &perms("old"), &["u1"])?,
        "OK"
    );
    let perms_key = {
        let keys: Vec<String> = redis_keys(&mut direct, "hoard:_:*")?
            .into_iter()
            .filter(|k| !k.contains('{') && !k.starts_with("hoard:_:user-cache:"))
            .collect();
        assert_eq!(keys.len(), 1, "{keys:?}");
        keys[0].clone()
    };
    let perms_old = raw_get(&mut direct, &perms_key)?;
    assert_eq!(
        set(&mut ca, "UserPermissions", &perms("new"), &["u1"])?,
        "OK"
    );
    wait_l1(&mut ca, "UserPermissions", &["u1"], "new")?;
    let before = info(&mut ca, "tracking_invalidations")?.parse::<u64>()?;

    // Another application writes Redis directly: the older envelope back.
    direct_set(&mut direct, u1, &old_envelope)?;
    direct_set(&mut direct, &perms_key, &perms_old)?;
    assert!(
        answers(&mut ca, &["u1"], "old@")?,
        "the direct SET never reached the opted-in definition's L1"
    );
    // UserPermissions does not opt in: Redis tracks no prefix of it and
    // the node keeps serving its L1 copy until the L1 TTL (the default).
    let (value, level) = meta(&mut ca, "UserCache", &["u1"])?;
    assert!(value.unwrap().contains("old@"));
    assert!(level == "l1" || level == "l2", "{level}");
    let (value, level) = meta(&mut ca, "UserPermissions", &["u1"])?;
    assert_eq!(level, "l1", "a definition without the opt-in keeps its L1");
    assert!(
        value.unwrap().contains("new"),
        "default: direct writes do not reach L1"
    );
    assert!(info(&mut ca, "tracking_invalidations")?.parse::<u64>()? > before);

    // A direct DEL: the node stops serving the value.
    wait_l1(&mut ca, "UserCache", &["u1"], "old@")?;
    let _: i64 = redis::cmd("DEL").arg(u1).query(&mut direct)?;
    assert!(
        eventually(Duration::from_secs(5), || Ok(meta(
            &mut ca,
            "UserCache",
            &["u1"]
        )? == (
            None,
            "none".to_owned()
        )))?,
        "the direct DEL never reached L1"
    );

    // FLUSHALL sent to Redis: Redis pushes a null invalidation, the node
    // flushes the opted-in L1 (the value written back is gone from L2 too).
    assert_eq!(
        set(&mut ca, "UserCache", &user("u2", "kept"), &["u2"])?,
        "OK"
    );
    wait_l1(&mut ca, "UserCache", &["u2"], "kept@")?;
    let flushes = info(&mut ca, "tracking_flushes")?.parse::<u64>()?;
    let () = redis::cmd("FLUSHALL").query(&mut direct)?;
    assert!(
        eventually(Duration::from_secs(5), || Ok(meta(
            &mut ca,
            "UserCache",
            &["u2"]
        )? == (
            None,
            "none".to_owned()
        )))?,
        "FLUSHALL in Redis never reached L1"
    );
    assert!(info(&mut ca, "tracking_flushes")?.parse::<u64>()? > flushes);
    let tracked: String = redis::cmd("CACHE.INFO")
        .arg("UserCache")
        .query::<redis::Value>(&mut ca)
        .map(|v| format!("{v:?}"))?;
    assert!(tracked.contains("tracked-invalidations"), "{tracked}");
    Ok(())
}

#[test]
fn direct_writes_on_a_cluster_reach_l1_from_every_primary() -> Result<()> {
    let cluster = RedisCluster::start()?;
    let dir = tempfile::tempdir()?;
    let a = cluster_node(&cluster, &dir, "a", TRACKED)?;
    let mut ca = a.client()?;
    wait_tracking(&mut ca)?;
    assert_eq!(
        info(&mut ca, "tracking_links")?,
        "3",
        "one link per primary"
    );

    // Keys on every shard: each one's old envelope, then a newer value in L1.
    let ids: Vec<String> = (0..12).map(|i| format!("u{i}")).collect();
    let mut direct = cluster.client()?;
    let mut old = Vec::new();
    for id in &ids {
        assert_eq!(set(&mut ca, "UserCache", &user(id, "old"), &[id])?, "OK");
        let key = format!("hoard:_:user-cache:1:User:{id}");
        old.push((key.clone(), raw_get(&mut direct, &key)?));
        assert_eq!(set(&mut ca, "UserCache", &user(id, "new"), &[id])?, "OK");
    }
    let mut shards = 0;
    for n in &cluster.nodes {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("hoard:_:user-cache:1:User:*")
            .query(&mut n.client()?)?;
        shards += usize::from(!keys.is_empty());
    }
    assert_eq!(shards, 3, "the keys cover every primary");
    for id in &ids {
        wait_l1(&mut ca, "UserCache", &[id], "new@")?;
    }

    // Another application writes each key back on its own shard.
    for (key, envelope) in &old {
        direct_set(&mut direct, key, envelope)?;
    }
    for id in &ids {
        assert!(
            answers(&mut ca, &[id], "old@")?,
            "the direct SET of {id} never reached L1"
        );
    }
    Ok(())
}

#[test]
fn tracking_and_the_bus_follow_a_cluster_failover() -> Result<()> {
    after_a_failover(|cluster| cluster.fail_over("hoard:bus"))
}

#[test]
fn tracking_and_the_bus_follow_a_primary_killed_with_sigkill() -> Result<()> {
    after_a_failover(|cluster| cluster.kill_primary("hoard:bus"))
}

/// Two tracking nodes on a Cluster with replicas; `fail` takes the shard
/// that owns the bus channel away from its primary. Then tracking must
/// link to the new primaries, the bus carry invalidations, and a direct
/// write on the new primary reach L1.
fn after_a_failover(fail: impl FnOnce(&mut RedisCluster) -> Result<()>) -> Result<()> {
    let mut cluster = RedisCluster::start_with_replicas(1)?;
    let dir = tempfile::tempdir()?;
    let a = cluster_node(&cluster, &dir, "a", TRACKED)?;
    let b = cluster_node(&cluster, &dir, "b", TRACKED)?;
    let (mut ca, mut cb) = (a.client()?, b.client()?);
    wait_tracking(&mut ca)?;
    wait_tracking(&mut cb)?;
    assert_eq!(info(&mut ca, "tracking_links")?, "3");
    let connects = info(&mut ca, "tracking_connects")?.parse::<u64>()?;

    // The shard that owns the bus channel fails over to its replica.
    fail(&mut cluster)?;
    // Tracking sees other primaries and links to them.
    assert!(
        eventually(Duration::from_secs(30), || Ok(info(
            &mut ca,
            "tracking_connects"
        )?
        .parse::<u64>()?
            > connects
            && info(&mut ca, "tracking_link")? == "up"))?,
        "tracking never re-linked after the failover"
    );
    assert_eq!(info(&mut ca, "tracking_links")?, "3");
    wait_linked(&mut ca)?;
    wait_linked(&mut cb)?;

    // The bus carries invalidations again: B's trusted L1 copy goes when A
    // deletes the key.
    assert_eq!(set(&mut ca, "UserCache", &user("u1", "v1"), &["u1"])?, "OK");
    wait_l1(&mut cb, "UserCache", &["u1"], "v1@")?;
    let _: i64 = redis::cmd("CACHE.DEL")
        .arg("UserCache")
        .arg("u1")
        .query(&mut ca)?;
    assert!(
        eventually(Duration::from_secs(2), || Ok(get(
            &mut cb,
            "UserCache",
            &["u1"]
        )?
        .is_none()))?,
        "the delete never reached B"
    );

    // A direct write on the new primary reaches L1.
    assert_eq!(
        set(&mut ca, "UserCache", &user("u2", "old"), &["u2"])?,
        "OK"
    );
    let key = "hoard:_:user-cache:1:User:u2";
    let mut direct = cluster.client()?;
    let old = raw_get(&mut direct, key)?;
    assert_eq!(
        set(&mut ca, "UserCache", &user("u2", "new"), &["u2"])?,
        "OK"
    );
    wait_l1(&mut ca, "UserCache", &["u2"], "new@")?;
    direct_set(&mut direct, key, &old)?;
    assert!(
        answers(&mut ca, &["u2"], "old@")?,
        "the direct SET after the failover never reached L1"
    );
    Ok(())
}

#[test]
fn a_lost_tracking_link_flushes_the_opted_in_l1_and_comes_back() -> Result<()> {
    let redis = RedisServer::start()?;
    let dir = tempfile::tempdir()?;
    let a = node(&redis.url(), &dir, "a", TRACKED)?;
    let mut ca = a.client()?;
    wait_linked(&mut ca)?;
    let connected = |ca: &mut redis::Connection, n: u64| -> Result<bool> {
        Ok(info(ca, "tracking_link")? == "up"
            && info(ca, "tracking_connects")?.parse::<u64>()? >= n)
    };
    assert!(eventually(Duration::from_secs(15), || connected(
        &mut ca, 1
    ))?);
    assert_eq!(set(&mut ca, "UserCache", &user("u1", "v"), &["u1"])?, "OK");
    wait_l1(&mut ca, "UserCache", &["u1"], "v@")?;
    let flushes = info(&mut ca, "tracking_flushes")?.parse::<u64>()?;

    // Redis drops the tracking connection (and only it).
    let mut direct = redis.client()?;
    let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut direct)?;
    let tracking_id = clients
        .lines()
        .find(|l| {
            l.split_whitespace()
                .find_map(|f| f.strip_prefix("flags="))
                .is_some_and(|flags| flags.contains('t'))
        })
        .and_then(|l| l.split_whitespace().find_map(|f| f.strip_prefix("id=")))
        .map(str::to_owned)
        .expect("the tracking connection is listed");
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(&tracking_id)
        .query(&mut direct)?;
    assert!(
        eventually(Duration::from_secs(10), || connected(&mut ca, 2))?,
        "tracking never re-enabled"
    );
    assert!(info(&mut ca, "tracking_flushes")?.parse::<u64>()? > flushes);
    // The L1 copy went with the link: the next read comes from L2.
    let (value, level) = meta(&mut ca, "UserCache", &["u1"])?;
    assert!(value.unwrap().contains("v@"));
    assert_eq!(level, "l2");
    Ok(())
}
