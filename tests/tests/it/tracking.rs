//! Client-side caching (`CLIENT TRACKING`) against the real binary: RESP3 `invalidate`
//! pushes, BCAST prefixes, NOLOOP, OPTIN, RESP2 redirect to a `__redis__:invalidate`
//! subscriber, invalidation on expiry, definition entries (`<cache>:<entry key>`), and the
//! bound on the tracking table.

use std::time::Duration;

use anyhow::Result;
use hoard_tests::raw::{RawClient, Reply};
use hoard_tests::{Server, ServerOptions, plugin_dir};

fn q(c: &mut RawClient, words: &str) -> Result<Reply> {
    let words: Vec<&str> = words.split(' ').collect();
    c.cmd_str(&words)
}

fn invalidate(keys: &[&str]) -> Reply {
    Reply::Push(vec![
        Reply::bulk("invalidate"),
        Reply::Array(Some(keys.iter().map(|k| Reply::bulk(k)).collect())),
    ])
}

fn ok() -> Reply {
    Reply::Simple("OK".into())
}

#[test]
fn resp3_default_mode_pushes_once_per_read() -> Result<()> {
    let server = Server::start()?;
    let mut tracked = RawClient::connect(server.port)?;
    let mut writer = RawClient::connect(server.port)?;
    q(&mut tracked, "HELLO 3")?;
    assert_eq!(q(&mut tracked, "CLIENT TRACKING ON")?, ok());
    assert_eq!(q(&mut tracked, "CLIENT GETREDIR")?, Reply::Int(0));
    q(&mut writer, "SET k 1")?;
    assert_eq!(q(&mut tracked, "GET k")?, Reply::bulk("1"));
    q(&mut writer, "SET unread 1")?;
    q(&mut writer, "SET k 2")?;
    assert_eq!(tracked.read()?, invalidate(&["k"]));
    // Told once: the next change is not announced until the key is read again.
    q(&mut writer, "SET k 3")?;
    assert_eq!(
        q(&mut tracked, "GET k")?,
        Reply::bulk("3"),
        "no push in between"
    );
    q(&mut writer, "INCR k")?;
    assert_eq!(tracked.read()?, invalidate(&["k"]));
    // Its own writes are announced too (no NOLOOP), after the reply as in Redis 7.
    q(&mut tracked, "MGET k")?;
    assert_eq!(q(&mut tracked, "DEL k")?, Reply::Int(1));
    assert_eq!(tracked.read()?, invalidate(&["k"]));
    // Off: nothing more.
    assert_eq!(q(&mut tracked, "CLIENT TRACKING OFF")?, ok());
    q(&mut tracked, "GET k")?;
    q(&mut writer, "SET k 9")?;
    assert_eq!(q(&mut tracked, "PING")?, Reply::Simple("PONG".into()));
    Ok(())
}

#[test]
fn bcast_prefixes_noloop_and_optin() -> Result<()> {
    let server = Server::start()?;
    let mut tracked = RawClient::connect(server.port)?;
    let mut writer = RawClient::connect(server.port)?;
    q(&mut tracked, "HELLO 3")?;
    assert_eq!(
        q(&mut tracked, "CLIENT TRACKING ON PREFIX user:")?,
        Reply::Error("ERR PREFIX option requires BCAST mode to be enabled".into())
    );
    assert_eq!(
        q(&mut tracked, "CLIENT TRACKING ON BCAST PREFIX user: NOLOOP")?,
        ok()
    );
    q(&mut writer, "SET other 1")?;
    q(&mut writer, "HSET user:1 f v")?;
    assert_eq!(tracked.read()?, invalidate(&["user:1"]));
    q(&mut tracked, "SET user:2 mine")?;
    q(&mut writer, "SET user:3 x")?;
    assert_eq!(
        tracked.read()?,
        invalidate(&["user:3"]),
        "NOLOOP skipped user:2"
    );

    let mut optin = RawClient::connect(server.port)?;
    q(&mut optin, "HELLO 3")?;
    assert_eq!(q(&mut optin, "CLIENT TRACKING ON OPTIN")?, ok());
    q(&mut optin, "GET a")?;
    assert_eq!(q(&mut optin, "CLIENT CACHING YES")?, ok());
    q(&mut optin, "GET b")?;
    q(&mut writer, "SET a 1")?;
    q(&mut writer, "SET b 1")?;
    assert_eq!(optin.read()?, invalidate(&["b"]), "only the opted-in read");
    Ok(())
}

#[test]
fn resp2_redirect_to_a_subscriber_and_expiry() -> Result<()> {
    let server = Server::start()?;
    let mut listener = RawClient::connect(server.port)?;
    let mut tracked = RawClient::connect(server.port)?;
    let mut writer = RawClient::connect(server.port)?;
    let Reply::Int(id) = q(&mut listener, "CLIENT ID")? else {
        panic!("CLIENT ID");
    };
    assert_eq!(
        q(&mut listener, "SUBSCRIBE __redis__:invalidate")?,
        Reply::Array(Some(vec![
            Reply::bulk("subscribe"),
            Reply::bulk("__redis__:invalidate"),
            Reply::Int(1)
        ]))
    );
    let refused = q(&mut listener, "GET k")?;
    assert!(
        refused
            .error()
            .is_some_and(|e| e.contains("only (P|S)SUBSCRIBE"))
    );
    assert_eq!(
        q(&mut tracked, &format!("CLIENT TRACKING ON REDIRECT {id}"))?,
        ok()
    );
    q(&mut tracked, "GET k")?;
    q(&mut writer, "SET k v")?;
    let message = |keys: &[&str]| {
        Reply::Array(Some(vec![
            Reply::bulk("message"),
            Reply::bulk("__redis__:invalidate"),
            Reply::Array(Some(keys.iter().map(|k| Reply::bulk(k)).collect())),
        ]))
    };
    assert_eq!(listener.read()?, message(&["k"]));
    // A key that expires is announced when the server reclaims it (background sweep).
    q(&mut writer, "SET e v PX 50")?;
    q(&mut tracked, "GET e")?;
    listener.set_timeout(Duration::from_secs(10))?;
    assert_eq!(listener.read()?, message(&["e"]));
    Ok(())
}

#[test]
fn a_tenant_never_hears_another_tenants_keys() -> Result<()> {
    // Password "pw" for both tenants (SHA-256 of "pw").
    const PW_SHA256: &str = "30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4";
    let acme = plugin_dir(&["user_cache"])?;
    let globex = plugin_dir(&["user_cache"])?;
    let config = format!(
        "[[tenants]]\nname = \"acme\"\npassword_sha256 = \"{PW_SHA256}\"\nplugins = \"{}\"\n\n[[tenants]]\nname = \"globex\"\npassword_sha256 = \"{PW_SHA256}\"\nplugins = \"{}\"\n",
        acme.path().display(),
        globex.path().display()
    );
    let server = Server::start_with(ServerOptions {
        config: Some(config),
        ..ServerOptions::default()
    })?;
    let connect = |tenant: &str| -> Result<RawClient> {
        let mut c = RawClient::connect(server.port)?;
        assert_eq!(q(&mut c, &format!("AUTH {tenant} pw"))?, ok());
        Ok(c)
    };
    let mut acme_tracked = connect("acme")?;
    let mut globex_writer = connect("globex")?;
    let mut acme_writer = connect("acme")?;
    q(&mut acme_tracked, "HELLO 3")?;
    q(&mut acme_tracked, "CLIENT TRACKING ON BCAST")?;
    q(&mut globex_writer, "SET globex-key v")?;
    assert_eq!(
        globex_writer.cmd_str(&["CACHE.SET", "UserCache", USER_42, "42"])?,
        ok()
    );
    q(&mut globex_writer, "CACHE.DEL UserCache 42")?;
    q(&mut globex_writer, "FLUSHALL")?;
    q(&mut acme_writer, "SET acme-key v")?;
    assert_eq!(
        acme_tracked.read()?,
        invalidate(&["acme-key"]),
        "the first push is acme's write, not globex's key or flush"
    );
    Ok(())
}

const USER_42: &str = r#"{"id":"42","email":"ada@example.com","name":"Ada","createdAt":"2026-01-01T00:00:00Z","version":2}"#;
const USER_42_V3: &str = r#"{"id":"42","email":"ada@example.com","name":"Ada L.","createdAt":"2026-01-01T00:00:00Z","version":3}"#;
const PERMS_42: &str = r#"{"userId":"42","roles":["admin"]}"#;

fn set_user(c: &mut RawClient, value: &str) -> Result<()> {
    assert_eq!(c.cmd_str(&["CACHE.SET", "UserCache", value, "42"])?, ok());
    Ok(())
}

/// Reads `n` pushes and returns their keys, sorted (one event may announce several caches'
/// entries, in no promised order).
fn pushed_keys(c: &mut RawClient, n: usize) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    for _ in 0..n {
        match c.read()? {
            Reply::Push(items) => match items.as_slice() {
                [kind, Reply::Array(Some(list))] if *kind == Reply::bulk("invalidate") => {
                    for key in list {
                        match key {
                            Reply::Bulk(Some(k)) => keys.push(String::from_utf8_lossy(k).into()),
                            other => anyhow::bail!("not a key: {other:?}"),
                        }
                    }
                }
                _ => anyhow::bail!("not an invalidate push: {items:?}"),
            },
            other => anyhow::bail!("expected a push, got {other:?}"),
        }
    }
    keys.sort();
    Ok(keys)
}

#[test]
fn definition_entries_are_announced_on_change_event_delete_and_expiry() -> Result<()> {
    let server = Server::start()?;
    let mut tracked = RawClient::connect(server.port)?;
    let mut writer = RawClient::connect(server.port)?;
    q(&mut tracked, "HELLO 3")?;
    assert_eq!(q(&mut tracked, "CLIENT TRACKING ON")?, ok());
    assert_eq!(
        q(&mut writer, "CACHE.KEY UserCache 42")?,
        Reply::bulk("User:42")
    );
    let Reply::Bulk(Some(perm_key)) = q(&mut writer, "CACHE.KEY UserPermissions 42")? else {
        anyhow::bail!("CACHE.KEY UserPermissions");
    };
    let perm_key = format!("UserPermissions:{}", String::from_utf8_lossy(&perm_key));

    // A write to an entry the connection read.
    set_user(&mut writer, USER_42)?;
    let read = q(&mut tracked, "CACHE.GET UserCache 42")?;
    assert!(matches!(read, Reply::Bulk(Some(_))), "{read:?}");
    set_user(&mut writer, USER_42_V3)?;
    assert_eq!(tracked.read()?, invalidate(&["UserCache:User:42"]));

    // An event: the entry and the cascade's entry in another cache, both read before.
    assert_eq!(
        writer.cmd_str(&["CACHE.SET", "UserPermissions", PERMS_42, "42"])?,
        ok()
    );
    q(&mut tracked, "CACHE.GET UserCache 42")?;
    q(&mut tracked, "CACHE.GET UserPermissions 42")?;
    writer.cmd_str(&["CACHE.EVENT", "UserUpdated", r#"{"userId":"42"}"#])?;
    let mut wanted = vec!["UserCache:User:42".to_owned(), perm_key];
    wanted.sort();
    assert_eq!(pushed_keys(&mut tracked, 2)?, wanted);

    // A delete, and the connection's own write (no NOLOOP: announced after its reply).
    set_user(&mut writer, USER_42)?;
    q(&mut tracked, "CACHE.GET UserCache 42")?;
    assert_eq!(q(&mut writer, "CACHE.DEL UserCache 42")?, Reply::Int(1));
    assert_eq!(tracked.read()?, invalidate(&["UserCache:User:42"]));
    q(&mut tracked, "CACHE.GETMETA UserCache 42")?;
    set_user(&mut tracked, USER_42)?;
    assert_eq!(tracked.read()?, invalidate(&["UserCache:User:42"]));

    // Expiry, reclaimed by the background sweep.
    assert_eq!(
        writer.cmd_str(&["CACHE.PSETEX", "UserCache", "50", USER_42, "42"])?,
        ok()
    );
    q(&mut tracked, "CACHE.GET UserCache 42")?;
    tracked.set_timeout(Duration::from_secs(10))?;
    assert_eq!(tracked.read()?, invalidate(&["UserCache:User:42"]));
    // Told once per read: a change nobody read since is not announced.
    set_user(&mut writer, USER_42)?;
    assert_eq!(q(&mut tracked, "PING")?, Reply::Simple("PONG".into()));
    Ok(())
}

#[test]
fn definition_entries_reach_bcast_prefixes_and_resp2_redirects() -> Result<()> {
    let server = Server::start()?;
    let mut bcast = RawClient::connect(server.port)?;
    let mut listener = RawClient::connect(server.port)?;
    let mut tracked = RawClient::connect(server.port)?;
    let mut writer = RawClient::connect(server.port)?;
    q(&mut bcast, "HELLO 3")?;
    assert_eq!(
        q(
            &mut bcast,
            "CLIENT TRACKING ON BCAST PREFIX UserCache: NOLOOP"
        )?,
        ok()
    );
    // Another cache and a plain key with a different prefix are not announced to it.
    writer.cmd_str(&["CACHE.SET", "UserPermissions", PERMS_42, "42"])?;
    q(&mut writer, "SET User:42 plain")?;
    set_user(&mut bcast, USER_42)?;
    set_user(&mut writer, USER_42_V3)?;
    assert_eq!(
        bcast.read()?,
        invalidate(&["UserCache:User:42"]),
        "the writer's change, not its own (NOLOOP) nor another cache's"
    );

    // RESP2: the redirect target receives the entry's name as a pub/sub message.
    let Reply::Int(id) = q(&mut listener, "CLIENT ID")? else {
        anyhow::bail!("CLIENT ID");
    };
    q(&mut listener, "SUBSCRIBE __redis__:invalidate")?;
    assert_eq!(
        q(&mut tracked, &format!("CLIENT TRACKING ON REDIRECT {id}"))?,
        ok()
    );
    q(&mut tracked, "CACHE.GET UserCache 42")?;
    writer.cmd_str(&["CACHE.EVENT", "UserDeleted", r#"{"userId":"42"}"#])?;
    assert_eq!(
        listener.read()?,
        Reply::Array(Some(vec![
            Reply::bulk("message"),
            Reply::bulk("__redis__:invalidate"),
            Reply::Array(Some(vec![Reply::bulk("UserCache:User:42")])),
        ]))
    );
    Ok(())
}

#[test]
fn the_tracking_table_is_bounded_and_evicted_keys_are_announced() -> Result<()> {
    let server =
        Server::start_with(ServerOptions::new().with_config("tracking_table_max_keys = 2\n"))?;
    let mut tracked = RawClient::connect(server.port)?;
    q(&mut tracked, "HELLO 3")?;
    assert_eq!(
        q(&mut tracked, "CONFIG GET tracking-table-max-keys")?,
        Reply::Map(vec![(
            Reply::bulk("tracking-table-max-keys"),
            Reply::bulk("2")
        )])
    );
    q(&mut tracked, "CLIENT TRACKING ON")?;
    q(&mut tracked, "GET a")?;
    q(&mut tracked, "GET b")?;
    let stats = |c: &mut RawClient| -> Result<String> {
        match q(c, "INFO stats")? {
            Reply::Bulk(Some(text)) => Ok(String::from_utf8_lossy(&text).into_owned()),
            Reply::Verbatim(text) => Ok(text),
            other => anyhow::bail!("INFO: {other:?}"),
        }
    };
    assert!(stats(&mut tracked)?.contains("tracking_total_keys:2\r\n"));
    // A third key pushes one of the three out, and its reader is told at once.
    q(&mut tracked, "GET c")?;
    let evicted = pushed_keys(&mut tracked, 1)?;
    assert!(
        matches!(evicted.as_slice(), [k] if ["a", "b", "c"].contains(&k.as_str())),
        "{evicted:?}"
    );
    assert!(stats(&mut tracked)?.contains("tracking_total_keys:2\r\n"));
    // The evicted key is no longer tracked; the two others still are.
    let mut writer = RawClient::connect(server.port)?;
    q(&mut writer, "MSET a 1 b 1 c 1")?;
    let mut rest = pushed_keys(&mut tracked, 2)?;
    rest.extend(evicted);
    rest.sort();
    assert_eq!(rest, ["a", "b", "c"]);
    assert!(stats(&mut tracked)?.contains("tracking_total_keys:0\r\n"));
    Ok(())
}

#[test]
fn noloop_readers_stay_tracked_after_their_own_writes() -> Result<()> {
    let server = Server::start()?;
    let mut tracked = RawClient::connect(server.port)?;
    let mut writer = RawClient::connect(server.port)?;
    q(&mut tracked, "HELLO 3")?;
    assert_eq!(q(&mut tracked, "CLIENT TRACKING ON NOLOOP")?, ok());
    q(&mut tracked, "GET k")?;
    set_user(&mut tracked, USER_42)?;
    q(&mut tracked, "CACHE.GET UserCache 42")?;
    // Its own writes are not announced to it...
    q(&mut tracked, "SET k mine")?;
    set_user(&mut tracked, USER_42_V3)?;
    // ...but it still hears another connection's later change of what it read.
    q(&mut writer, "SET k theirs")?;
    assert_eq!(tracked.read()?, invalidate(&["k"]));
    set_user(&mut writer, USER_42)?;
    assert_eq!(tracked.read()?, invalidate(&["UserCache:User:42"]));
    Ok(())
}

#[test]
fn an_evicted_definition_entry_is_announced() -> Result<()> {
    // ReloadCache v1.2 holds at most two entries (`max-items` 2), keys `R:<id>`.
    let dir = plugin_dir(&["fixture_reload_v1_2"])?;
    let server = Server::start_with(ServerOptions::new().with_plugins(dir.path()))?;
    let mut tracked = RawClient::connect(server.port)?;
    let mut writer = RawClient::connect(server.port)?;
    q(&mut tracked, "HELLO 3")?;
    q(&mut tracked, "CLIENT TRACKING ON")?;
    for id in ["1", "2"] {
        assert_eq!(
            writer.cmd_str(&["CACHE.SET", "ReloadCache", "\"v\"", id])?,
            ok()
        );
        assert_eq!(
            tracked.cmd_str(&["CACHE.GET", "ReloadCache", id])?,
            Reply::bulk("\"v\"")
        );
    }
    // A third entry evicts one of the two the connection read: it is told which.
    writer.cmd_str(&["CACHE.SET", "ReloadCache", "\"v\"", "3"])?;
    let evicted = pushed_keys(&mut tracked, 1)?;
    let [name] = evicted.as_slice() else {
        anyhow::bail!("one push: {evicted:?}");
    };
    let id = match name.as_str() {
        "ReloadCache:R:1" => "1",
        "ReloadCache:R:2" => "2",
        other => anyhow::bail!("not an entry it read: {other}"),
    };
    assert_eq!(
        tracked.cmd_str(&["CACHE.GET", "ReloadCache", id])?,
        Reply::Null
    );
    Ok(())
}
