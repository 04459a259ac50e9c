//! Tenants: authentication, isolation of every kind of data, and quotas.

use std::time::Duration;

use anyhow::Result;
use hoard_tests::{
    Client, Server, ServerOptions, error_code, eventually, hoard_passwd, plugin_dir,
};
use redis::Value;

const ACME_PASSWORD: &str = "acme-secret";
const GLOBEX_PASSWORD: &str = "globex-secret";

fn sha256(text: &str) -> Result<String> {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            if let Some(stdin) = child.stdin.as_mut() {
                stdin.write_all(text.as_bytes())?;
            }
            child.wait_with_output()
        })?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned())
}

/// acme's credential is an argon2id hash (`hoard passwd`); globex's and
/// initech's are the legacy SHA-256 digests, so both forms are exercised.
struct Setup {
    server: Server,
    _acme: tempfile::TempDir,
    _globex: tempfile::TempDir,
    _initech: tempfile::TempDir,
}

const INITECH_PASSWORD: &str = "initech-secret";

fn start() -> Result<Setup> {
    let acme = plugin_dir(&["user_cache", "user_permissions"])?;
    let globex = plugin_dir(&["user_cache"])?;
    let initech = plugin_dir(&["user_cache"])?;
    let config = format!(
        r#"
[[tenants]]
name = "acme"
password_hash = "{}"
plugins = "{}"
max_connections = 2

[[tenants]]
name = "globex"
password_sha256 = "{}"
plugins = "{}"
max_value_bytes = 200

[[tenants]]
name = "initech"
password_sha256 = "{}"
plugins = "{}"
max_items = 50
max_bytes = 30000
"#,
        hoard_passwd(ACME_PASSWORD)?,
        acme.path().display(),
        sha256(GLOBEX_PASSWORD)?,
        globex.path().display(),
        sha256(INITECH_PASSWORD)?,
        initech.path().display(),
    );
    let server = Server::start_with(ServerOptions {
        config: Some(config),
        ..Default::default()
    })?;
    Ok(Setup {
        server,
        _acme: acme,
        _globex: globex,
        _initech: initech,
    })
}

fn login(server: &Server, tenant: &str, password: &str) -> Result<Client> {
    server.login(tenant, password)
}

#[test]
fn commands_need_auth_and_wrong_passwords_are_refused() -> Result<()> {
    let setup = start()?;
    let mut con = setup.server.connect()?;
    for cmd in ["PING", "DBSIZE", "CACHE.LIST"] {
        let err = redis::cmd(cmd).query::<Value>(&mut con).unwrap_err();
        assert_eq!(error_code(&err), "NOAUTH", "{cmd}: {err}");
    }
    let err = redis::cmd("GET")
        .arg("k")
        .query::<Value>(&mut con)
        .unwrap_err();
    assert_eq!(error_code(&err), "NOAUTH");
    let err = con.auth("acme", "nope").unwrap_err();
    assert_eq!(error_code(&err), "WRONGPASS");
    let err = con.auth("nobody", ACME_PASSWORD).unwrap_err();
    assert_eq!(error_code(&err), "WRONGPASS");
    let err = redis::cmd("AUTH")
        .arg(ACME_PASSWORD)
        .query::<String>(&mut con)
        .unwrap_err();
    assert_eq!(
        error_code(&err),
        "WRONGPASS",
        "tenants need the two-argument form"
    );
    con.auth("acme", ACME_PASSWORD)?;
    let pong: String = redis::cmd("PING").query(&mut con)?;
    assert_eq!(pong, "PONG");
    Ok(())
}

#[test]
fn tenants_never_see_each_others_data() -> Result<()> {
    let setup = start()?;
    let mut acme = login(&setup.server, "acme", ACME_PASSWORD)?;
    let mut globex = login(&setup.server, "globex", GLOBEX_PASSWORD)?;

    // Plain keys.
    let _: () = redis::cmd("SET")
        .arg("shared-name")
        .arg("acme's")
        .query(&mut acme)?;
    let seen: Option<String> = redis::cmd("GET").arg("shared-name").query(&mut globex)?;
    assert_eq!(seen, None);
    let size: i64 = redis::cmd("DBSIZE").query(&mut globex)?;
    assert_eq!(size, 0);
    let _: () = redis::cmd("SET")
        .arg("shared-name")
        .arg("globex's")
        .query(&mut globex)?;
    let _: () = redis::cmd("FLUSHALL").query(&mut globex)?;
    let mine: Option<String> = redis::cmd("GET").arg("shared-name").query(&mut acme)?;
    assert_eq!(
        mine.as_deref(),
        Some("acme's"),
        "another tenant's FLUSHALL must not reach me"
    );

    // Same cache name, separate caches.
    let user = r#"{"id":"u1","email":"u1@example.com"}"#;
    acme.cache_set("UserCache", user, &["u1"])?;
    assert_eq!(globex.cache_get("UserCache", &["u1"])?, None);
    globex.cache_set("UserCache", user, &["u1"])?;
    let reply = globex.cache_event("UserUpdated", r#"{"userId":"u1"}"#)?;
    assert_eq!(reply.count, 1, "{reply:?}");
    assert!(
        acme.cache_has("UserCache", &["u1"])?,
        "another tenant's event must not invalidate my entries"
    );

    // Listing and counting.
    assert!(acme.cache_list()?.contains_key("UserPermissions"));
    assert!(!globex.cache_list()?.contains_key("UserPermissions"));
    let err = globex.cache_info("UserPermissions").unwrap_err();
    assert_eq!(error_code(&err), "NOCACHE");
    let info: String = redis::cmd("INFO").arg("keyspace").query(&mut globex)?;
    assert!(!info.contains("db0:keys=1"), "{info}");
    let plugins = globex.plugin_list()?;
    assert_eq!(plugins.len(), 1, "a tenant lists only its own plugins");
    Ok(())
}

#[test]
fn quotas_refuse_with_a_clear_error() -> Result<()> {
    let setup = start()?;
    // globex: values up to 200 bytes.
    let mut globex = login(&setup.server, "globex", GLOBEX_PASSWORD)?;
    let err = redis::cmd("SET")
        .arg("k")
        .arg("x".repeat(300))
        .query::<()>(&mut globex)
        .unwrap_err();
    assert_eq!(error_code(&err), "QUOTA", "{err}");
    let big = format!(
        r#"{{"id":"u1","email":"u1@example.com","name":"{}"}}"#,
        "x".repeat(300)
    );
    let err = globex.cache_set("UserCache", big, &["u1"]).unwrap_err();
    assert_eq!(error_code(&err), "QUOTA", "{err}");
    let _: () = redis::cmd("SET").arg("k").arg("small").query(&mut globex)?;

    // acme: two connections at most; a third is refused until one closes.
    let first = login(&setup.server, "acme", ACME_PASSWORD)?;
    let _second = login(&setup.server, "acme", ACME_PASSWORD)?;
    let mut third = setup.server.connect()?;
    let err = third.auth("acme", ACME_PASSWORD).unwrap_err();
    assert_eq!(error_code(&err), "QUOTA", "{err}");
    assert!(err.to_string().contains("2 connections"), "{err}");
    // globex is not affected by acme's limit.
    let _other = login(&setup.server, "globex", GLOBEX_PASSWORD)?;
    drop(first);
    let admitted = eventually(Duration::from_secs(5), || {
        Ok(third.auth("acme", ACME_PASSWORD).is_ok())
    })?;
    assert!(admitted, "a closed connection must give its seat back");
    Ok(())
}

#[test]
fn a_tenant_loads_plugins_only_from_its_own_directory() -> Result<()> {
    let setup = start()?;
    let mut globex = login(&setup.server, "globex", GLOBEX_PASSWORD)?;
    let outside = hoard_tests::plugin_artifact("user_permissions");
    let err = globex.plugin_load(&outside).unwrap_err();
    assert_eq!(error_code(&err), "NOPERM", "{err}");
    Ok(())
}

#[test]
fn strangers_get_tighter_protocol_limits_until_they_authenticate() -> Result<()> {
    use std::io::{Read, Write};
    let setup = start()?;
    // 2 MiB bulk declared before AUTH: refused from the header alone.
    let mut tcp = setup.server.tcp()?;
    tcp.write_all(b"*2\r\n$4\r\nECHO\r\n$2097152\r\n")?;
    let mut reply = String::new();
    let _ = tcp.read_to_string(&mut reply);
    assert!(reply.contains("invalid bulk length"), "{reply:?}");
    // After AUTH the full limits apply: the same size is accepted.
    let mut con = login(&setup.server, "globex", GLOBEX_PASSWORD)?;
    let big = "x".repeat(2 * 1024 * 1024);
    let echoed: String = redis::cmd("ECHO").arg(&big).query(&mut con)?;
    assert_eq!(echoed.len(), big.len());
    Ok(())
}

#[test]
fn item_and_byte_quotas_evict_the_tenants_own_entries_only() -> Result<()> {
    let setup = start()?;
    let mut initech = login(&setup.server, "initech", INITECH_PASSWORD)?;
    let mut globex = login(&setup.server, "globex", GLOBEX_PASSWORD)?;
    let mut pipe = redis::pipe();
    for i in 0..200 {
        pipe.cmd("SET").arg(format!("g{i}")).arg(i).ignore();
    }
    let _: () = pipe.query(&mut globex)?;

    // Item quota: 200 small entries shrink to at most 50.
    let mut pipe = redis::pipe();
    for i in 0..200 {
        pipe.cmd("SET").arg(format!("i{i}")).arg(i).ignore();
    }
    let _: () = pipe.query(&mut initech)?;
    let within = eventually(Duration::from_secs(5), || {
        Ok(redis::cmd("DBSIZE").query::<i64>(&mut initech)? <= 50)
    })?;
    assert!(within, "the item quota was never enforced");
    let info: String = redis::cmd("INFO").arg("stats").query(&mut initech)?;
    assert!(!info.contains("evicted_keys:0\r"), "{info}");

    // Byte quota: 1 000-byte values, 30 000 bytes allowed, so about 29 fit.
    let _: () = redis::cmd("FLUSHALL").query(&mut initech)?;
    let mut pipe = redis::pipe();
    for i in 0..100 {
        pipe.cmd("SET")
            .arg(format!("b{i:03}"))
            .arg("x".repeat(1000))
            .ignore();
    }
    let _: () = pipe.query(&mut initech)?;
    let within = eventually(Duration::from_secs(5), || {
        Ok(redis::cmd("DBSIZE").query::<i64>(&mut initech)? <= 30)
    })?;
    assert!(within, "the byte quota was never enforced");
    // A value larger than the whole quota is refused outright.
    let err = redis::cmd("SET")
        .arg("huge")
        .arg("x".repeat(40_000))
        .query::<()>(&mut initech)
        .unwrap_err();
    assert_eq!(error_code(&err), "QUOTA", "{err}");

    // The neighbour lost nothing.
    let size: i64 = redis::cmd("DBSIZE").query(&mut globex)?;
    assert_eq!(
        size, 200,
        "another tenant's quota must never evict my entries"
    );
    Ok(())
}

#[test]
fn client_list_and_kill_cover_the_tenants_own_connections_only() -> Result<()> {
    use hoard_tests::raw::{RawClient, Reply};
    let setup = start()?;
    let port = setup.server.port;
    let connect = |tenant: &str, password: &str| -> Result<(RawClient, i64)> {
        let mut c = RawClient::connect(port)?;
        assert_eq!(
            c.cmd_str(&["AUTH", tenant, password])?,
            Reply::Simple("OK".into())
        );
        let Reply::Int(id) = c.cmd_str(&["CLIENT", "ID"])? else {
            anyhow::bail!("CLIENT ID");
        };
        Ok((c, id))
    };
    let text = |reply: Reply| -> Result<String> {
        match reply {
            Reply::Bulk(Some(b)) => Ok(String::from_utf8_lossy(&b).into_owned()),
            Reply::Verbatim(t) => Ok(t),
            other => anyhow::bail!("not text: {other:?}"),
        }
    };
    let (mut g1, g1_id) = connect("globex", GLOBEX_PASSWORD)?;
    let (mut g2, g2_id) = connect("globex", GLOBEX_PASSWORD)?;
    let (mut other, other_id) = connect("initech", INITECH_PASSWORD)?;
    g1.cmd_str(&["CLIENT", "SETNAME", "alpha"])?;
    g2.cmd_str(&["CLIENT", "SETINFO", "LIB-NAME", "mylib"])?;
    g2.cmd_str(&["GET", "x"])?;

    let list = text(g1.cmd_str(&["CLIENT", "LIST"])?)?;
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "globex's two connections only: {list}");
    let line_of = |id: i64| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("id={id} ")))
            .copied()
            .unwrap_or_default()
    };
    let mine = line_of(g1_id);
    let theirs = line_of(g2_id);
    for field in ["name=alpha", "cmd=client|list", "user=globex", "resp=2"] {
        assert!(mine.contains(field), "{field} in {mine}");
    }
    for field in [
        "cmd=get",
        "lib-name=mylib",
        "user=globex",
        "addr=127.0.0.1:",
    ] {
        assert!(theirs.contains(field), "{field} in {theirs}");
    }
    assert!(
        theirs.contains(&format!(" laddr=127.0.0.1:{port} ")),
        "{theirs}"
    );
    assert!(!list.contains(&format!("id={other_id} ")));

    // Another tenant's connection cannot be killed (nor seen); the caller skips itself.
    let kill = |c: &mut RawClient, id: i64| c.cmd_str(&["CLIENT", "KILL", "ID", &id.to_string()]);
    assert_eq!(kill(&mut g1, other_id)?, Reply::Int(0));
    assert_eq!(kill(&mut g1, g1_id)?, Reply::Int(0));
    assert_eq!(kill(&mut g1, g2_id)?, Reply::Int(1));
    assert!(
        g2.cmd_str(&["PING"]).is_err(),
        "killed connections are closed"
    );

    // The old form, by address.
    let (mut g3, g3_id) = connect("globex", GLOBEX_PASSWORD)?;
    let list = text(g1.cmd_str(&["CLIENT", "LIST", "ID", &g3_id.to_string()])?)?;
    let addr = list
        .split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        g1.cmd_str(&["CLIENT", "KILL", "10.0.0.1:1"])?,
        Reply::Error("ERR No such client".into())
    );
    assert_eq!(
        g1.cmd_str(&["CLIENT", "KILL", &addr])?,
        Reply::Simple("OK".into())
    );
    assert!(g3.cmd_str(&["PING"]).is_err());
    // By type: only the subscribed connection is a pubsub one.
    let (mut g4, _) = connect("globex", GLOBEX_PASSWORD)?;
    g4.cmd_str(&["SUBSCRIBE", "__redis__:invalidate"])?;
    assert_eq!(
        g1.cmd_str(&["CLIENT", "KILL", "TYPE", "pubsub"])?,
        Reply::Int(1)
    );
    assert!(g4.cmd_str(&["PING"]).is_err());
    assert_eq!(
        g1.cmd_str(&["CLIENT", "KILL", "TYPE", "bogus"])?,
        Reply::Error("ERR Unknown client type 'bogus'".into())
    );
    assert_eq!(other.cmd_str(&["PING"])?, Reply::Simple("PONG".into()));
    Ok(())
}
