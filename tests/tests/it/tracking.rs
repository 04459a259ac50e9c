//! Client-side caching (`CLIENT TRACKING`) against the real binary: RESP3 `invalidate`
//! pushes, BCAST prefixes, NOLOOP, OPTIN, RESP2 redirect to a `__redis__:invalidate`
//! subscriber, and invalidation on expiry.

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
    q(&mut globex_writer, "FLUSHALL")?;
    q(&mut acme_writer, "SET acme-key v")?;
    assert_eq!(
        acme_tracked.read()?,
        invalidate(&["acme-key"]),
        "the first push is acme's write, not globex's key or flush"
    );
    Ok(())
}
