//! Origins, end to end: the real `hoard` binary with the `UserDb` example
//! (`hoard:definition@0.2.0`) in front of a real PostgreSQL started by the
//! test, or the HTTP origin of the test crate. Loads are counted *at the
//! origin*: a data-modifying CTE bumps a counter row in PostgreSQL, the
//! HTTP origin counts its requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::Result;
use hoard_tests::client::Client;
use hoard_tests::http_origin::HttpOrigin;
use hoard_tests::postgres::Postgres;
use hoard_tests::{Server, ServerOptions, error_code, eventually, plugin_dir};
use redis::Value;

const SCHEMA: &str = "
CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE NOT NULL, name text, version bigint NOT NULL DEFAULT 0);
CREATE TABLE loads (at timestamptz NOT NULL DEFAULT now());
INSERT INTO users (id, email, name) VALUES (1, 'ada@example.com', 'Ada');
";

/// The operator's statements: the load adds one row to `loads` exactly once per
/// execution (a data-modifying CTE always runs) and takes `pause` seconds.
fn statements(pause: f64, with_upsert: bool) -> String {
    let mut s = format!(
        "[origins.statements]\nuser_by_id = \"WITH bump AS (INSERT INTO loads DEFAULT VALUES RETURNING pg_sleep({pause})) SELECT id::text AS id, email, name FROM users WHERE id = $1\"\n"
    );
    if with_upsert {
        s.push_str("upsert_user = \"INSERT INTO users (id, email, name, version) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name, version = EXCLUDED.version WHERE users.version < EXCLUDED.version\"\n");
    }
    s
}

fn pg_server(
    pg: &Postgres,
    extra: &str,
    pause: f64,
    with_upsert: bool,
) -> Result<(Server, tempfile::TempDir)> {
    let plugins = plugin_dir(&["user_db"])?;
    let config = format!(
        "[[origins]]\nname = \"users-db\"\npostgres = \"{}\"\ndefinitions = [\"UserDb\"]\n{extra}\n{}",
        pg.connection_string(),
        statements(pause, with_upsert)
    );
    let server = serve(plugins.path(), config)?;
    Ok((server, plugins))
}

/// A hoard serving the plugins of `plugins` with `config`.
fn serve(plugins: &std::path::Path, config: String) -> Result<Server> {
    Server::start_with(
        ServerOptions::new()
            .with_plugins(plugins)
            .with_config(config),
    )
}

/// A PostgreSQL with `SCHEMA`, and a hoard serving `UserDb` from it.
fn pg_case(
    extra: &str,
    pause: f64,
    with_upsert: bool,
) -> Result<(Postgres, Server, tempfile::TempDir)> {
    let pg = Postgres::start()?;
    pg.psql(SCHEMA)?;
    let (server, plugins) = pg_server(&pg, extra, pause, with_upsert)?;
    Ok((pg, server, plugins))
}

fn loads(pg: &Postgres) -> Result<u64> {
    Ok(pg.psql("SELECT count(*) FROM loads")?.parse()?)
}

fn origin_counter(client: &mut Client, field: &str) -> Result<i64> {
    Ok(client.cache_info("UserDb")?.fields.int(field)?)
}

fn email_of(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["email"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn read_through_loads_once_and_caches_not_found() -> Result<()> {
    let (pg, server, _plugins) = pg_case("", 0.0, false)?;
    let mut c = server.connect()?;

    let first = c
        .cache_get("UserDb", &["1"])?
        .expect("user 1 is in the table");
    assert_eq!(email_of(&first), "ada@example.com");
    assert_eq!(c.cache_get("UserDb", &["1"])?, Some(first));
    assert_eq!(loads(&pg)?, 1, "the second read was a hit");

    // Not found: nil, cached as nil (UserDb allows nulls), so one query only.
    assert_eq!(c.cache_get("UserDb", &["404"])?.as_deref(), Some("null"));
    assert_eq!(c.cache_get("UserDb", &["404"])?.as_deref(), Some("null"));
    assert_eq!(loads(&pg)?, 2);
    assert_eq!(origin_counter(&mut c, "origin-loads")?, 2);

    // An event invalidates; the next read goes to the table again.
    pg.psql("UPDATE users SET email = 'ada@lovelace.org' WHERE id = 1")?;
    c.cache_event("UserUpdated", r#"{"id":"1"}"#)?;
    let again = c.cache_get("UserDb", &["1"])?.unwrap();
    assert_eq!(email_of(&again), "ada@lovelace.org");
    assert_eq!(loads(&pg)?, 3);
    Ok(())
}

/// `n` raw connections each send one `CACHE.GET` before any reply is read,
/// so every request is in flight at once; returns the replies.
fn concurrent_gets(port: u16, n: usize, id: &str) -> Result<Vec<String>> {
    let command = format!(
        "*3\r\n$9\r\nCACHE.GET\r\n$6\r\nUserDb\r\n${}\r\n{id}\r\n",
        id.len()
    );
    let mut streams = Vec::with_capacity(n);
    for _ in 0..n {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        streams.push(s);
    }
    for s in &mut streams {
        s.write_all(command.as_bytes())?;
    }
    let mut replies = Vec::with_capacity(n);
    for s in &mut streams {
        let mut buf = vec![0; 4096];
        let read = s.read(&mut buf)?;
        replies.push(String::from_utf8_lossy(&buf[..read]).into_owned());
    }
    Ok(replies)
}

#[test]
fn a_thousand_concurrent_misses_make_one_query() -> Result<()> {
    let pg = Postgres::start()?;
    pg.psql(SCHEMA)?;
    // Each load takes 300 ms at the database: all 1,000 misses arrive during it.
    let (server, _plugins) = pg_server(&pg, "", 0.3, false)?;
    let replies = concurrent_gets(server.port, 1000, "1")?;
    assert!(
        replies.iter().all(|r| r.contains("ada@example.com")),
        "every caller got the user: {:?}",
        replies.iter().find(|r| !r.contains("ada@example.com"))
    );
    assert_eq!(
        loads(&pg)?,
        1,
        "one origin query for 1,000 concurrent misses"
    );
    let mut c = server.connect()?;
    assert!(origin_counter(&mut c, "origin-coalesced")? >= 1);
    Ok(())
}

#[test]
fn write_through_reaches_postgres_or_leaves_the_cache_alone() -> Result<()> {
    let (pg, server, _plugins) = pg_case("write = \"through\"", 0.0, true)?;
    let mut c = server.connect()?;

    c.cache_set(
        "UserDb",
        r#"{"id":"2","email":"bob@example.com","name":"Bob"}"#,
        &["2"],
    )?;
    assert_eq!(
        pg.psql("SELECT email FROM users WHERE id = 2")?,
        "bob@example.com"
    );
    assert_eq!(
        email_of(&c.cache_get("UserDb", &["2"])?.unwrap()),
        "bob@example.com"
    );
    assert_eq!(loads(&pg)?, 0, "the write filled the cache: no load");

    // The origin refuses (email is unique): an error, and nothing cached.
    let refused = c
        .cache_set("UserDb", r#"{"id":"3","email":"bob@example.com"}"#, &["3"])
        .unwrap_err();
    assert_eq!(error_code(&refused), "ORIGIN");
    assert!(refused.to_string().contains("refused"), "{refused}");
    assert_eq!(c.cache_get("UserDb", &["3"])?.as_deref(), Some("null"));

    // The origin is down: an error, and the cached value is the old one.
    pg.stop_immediate()?;
    let down = c
        .cache_set("UserDb", r#"{"id":"2","email":"new@example.com"}"#, &["2"])
        .unwrap_err();
    assert_eq!(error_code(&down), "ORIGIN");
    assert_eq!(
        email_of(&c.cache_get("UserDb", &["2"])?.unwrap()),
        "bob@example.com"
    );
    pg.start_again()?;
    assert_eq!(
        pg.psql("SELECT email FROM users WHERE id = 2")?,
        "bob@example.com"
    );
    Ok(())
}

#[test]
fn a_statement_the_operator_did_not_declare_is_refused() -> Result<()> {
    let pg = Postgres::start()?;
    pg.psql(SCHEMA)?;
    // write-through on, but `upsert_user` is not declared.
    let (server, _plugins) = pg_server(&pg, "write = \"through\"", 0.0, false)?;
    let mut c = server.connect()?;
    let error = c
        .cache_set("UserDb", r#"{"id":"2","email":"bob@example.com"}"#, &["2"])
        .unwrap_err();
    assert_eq!(error_code(&error), "ORIGIN");
    assert!(error.to_string().contains("not declared"), "{error}");
    assert_eq!(pg.psql("SELECT count(*) FROM users WHERE id = 2")?, "0");
    Ok(())
}

#[test]
fn stale_is_served_when_postgres_is_down() -> Result<()> {
    let (pg, server, _plugins) = pg_case("stale_ms = 60000", 0.0, false)?;
    let mut c = server.connect()?;
    // Fresh for 1 ms, kept 60 s past it.
    c.cache_psetex(
        "UserDb",
        1,
        r#"{"id":"7","email":"old@example.com"}"#,
        &["7"],
    )?;
    pg.stop_immediate()?;
    let served_stale = eventually(Duration::from_secs(10), || {
        let value = c.cache_get("UserDb", &["7"])?;
        Ok(value.is_some_and(|v| email_of(&v) == "old@example.com")
            && origin_counter(&mut c, "origin-stale-served")? >= 1)
    })?;
    assert!(
        served_stale,
        "the expired value was served while the origin is down"
    );
    // Nothing stale to fall back on: a clear error.
    let error = c.cache_get("UserDb", &["8"]).unwrap_err();
    assert_eq!(error_code(&error), "ORIGIN");
    assert!(error.to_string().contains("unavailable"), "{error}");
    Ok(())
}

fn lease(c: &mut Client, id: &str) -> Result<(String, Value)> {
    let reply: Vec<Value> = redis::cmd("CACHE.LEASE")
        .arg("UserDb")
        .arg(id)
        .query(c.con())?;
    let tag = match &reply[0] {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("unexpected tag {other:?}"),
    };
    Ok((tag, reply[1].clone()))
}

fn token(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a token: {other:?}"),
    }
}

fn fill(c: &mut Client, token: &str, value: &str, id: &str) -> Result<i64> {
    Ok(redis::cmd("CACHE.FILL")
        .arg("UserDb")
        .arg(token)
        .arg(value)
        .arg(id)
        .query(c.con())?)
}

#[test]
fn a_lease_voided_by_an_invalidation_refuses_the_stale_fill() -> Result<()> {
    let (pg, server, _plugins) = pg_case("", 0.0, false)?;
    let mut a = server.connect()?;
    let mut b = server.connect()?;

    let (tag, t1) = lease(&mut a, "10")?;
    assert_eq!(tag, "lease");
    let (tag, wait) = lease(&mut b, "10")?;
    assert_eq!(tag, "wait", "one holder at a time");
    assert!(matches!(wait, Value::Int(ms) if ms > 0));

    // A read the holder made before this change must not be stored after it.
    a.cache_event("UserUpdated", r#"{"id":"10"}"#)?;
    assert_eq!(
        fill(
            &mut a,
            &token(&t1),
            r#"{"id":"10","email":"old@example.com"}"#,
            "10"
        )?,
        0
    );
    assert_eq!(origin_counter(&mut a, "origin-fills-refused")?, 1);

    let (tag, t2) = lease(&mut b, "10")?;
    assert_eq!(tag, "lease");
    assert_eq!(
        fill(
            &mut b,
            &token(&t2),
            r#"{"id":"10","email":"new@example.com"}"#,
            "10"
        )?,
        1
    );
    let (tag, value) = lease(&mut a, "10")?;
    assert_eq!(tag, "hit");
    assert_eq!(email_of(&token(&value)), "new@example.com");
    assert_eq!(loads(&pg)?, 0, "the client loaded by itself");
    Ok(())
}

fn http_server(origin: &HttpOrigin, extra: &str) -> Result<(Server, tempfile::TempDir)> {
    let plugins = plugin_dir(&["user_db"])?;
    let config = format!(
        "[[origins]]\nname = \"users-api\"\nhttp = \"{}\"\ndefinitions = [\"UserDb\"]\n{extra}\n",
        origin.base()
    );
    let server = serve(plugins.path(), config)?;
    Ok((server, plugins))
}

#[test]
fn http_origin_single_flight_soft_and_hard_timeouts() -> Result<()> {
    let origin = HttpOrigin::start()?;
    origin.put("1", r#"{"id":"1","email":"ada@example.com"}"#);
    let (server, _plugins) = http_server(
        &origin,
        "timeout_ms = 800\nsoft_timeout_ms = 100\nstale_ms = 60000",
    )?;
    let mut c = server.connect()?;

    // Single flight: 100 misses while the origin holds every request.
    origin.close_gate();
    let port = server.port;
    let readers = std::thread::spawn(move || concurrent_gets(port, 100, "1"));
    assert!(eventually(Duration::from_secs(10), || Ok(origin
        .requests()
        == 1))?);
    origin.open();
    let replies = readers.join().unwrap()?;
    assert!(
        replies.iter().all(|r| r.contains("ada@example.com")),
        "{:?}",
        replies.first()
    );
    assert_eq!(origin.requests(), 1);

    // Soft timeout: with a stale value, a stalled origin costs ~100 ms, not 800.
    c.cache_psetex(
        "UserDb",
        1,
        r#"{"id":"1","email":"ada@example.com"}"#,
        &["1"],
    )?;
    origin.put("1", r#"{"id":"1","email":"ada@lovelace.org"}"#);
    // CACHE.TTL counts freshness, not the stale window: -2 once it is stale.
    assert!(eventually(Duration::from_secs(5), || Ok(c
        .cache_ttl("UserDb", &["1"])?
        == -2))?);
    origin.close_gate();
    let started = Instant::now();
    let stale = c.cache_get("UserDb", &["1"])?.unwrap();
    assert_eq!(email_of(&stale), "ada@example.com");
    assert!(
        started.elapsed() < Duration::from_millis(700),
        "{:?}",
        started.elapsed()
    );
    // The load finishes in the background and is stored.
    origin.open();
    assert!(eventually(Duration::from_secs(10), || Ok(c
        .cache_get("UserDb", &["1"])?
        .is_some_and(|v| email_of(&v) == "ada@lovelace.org")))?);

    // Hard timeout: nothing stale, the origin stalls: an error after ~800 ms.
    origin.close_gate();
    let started = Instant::now();
    let error = c.cache_get("UserDb", &["2"]).unwrap_err();
    assert_eq!(error_code(&error), "ORIGIN");
    assert!(error.to_string().contains("within 800 ms"), "{error}");
    assert!(started.elapsed() >= Duration::from_millis(800));
    origin.open();
    Ok(())
}

#[test]
fn http_write_through_and_origin_errors() -> Result<()> {
    let origin = HttpOrigin::start()?;
    let (server, _plugins) = http_server(&origin, "write = \"through\"")?;
    let mut c = server.connect()?;
    c.cache_set("UserDb", r#"{"id":"5","email":"eve@example.com"}"#, &["5"])?;
    assert!(
        origin
            .user("5")
            .is_some_and(|u| u.contains("eve@example.com"))
    );

    origin.fail(true);
    let error = c
        .cache_set(
            "UserDb",
            r#"{"id":"5","email":"mallory@example.com"}"#,
            &["5"],
        )
        .unwrap_err();
    assert_eq!(error_code(&error), "ORIGIN");
    assert!(error.to_string().contains("503"), "{error}");
    assert_eq!(
        email_of(&c.cache_get("UserDb", &["5"])?.unwrap()),
        "eve@example.com",
        "the cache kept the value the origin has"
    );
    // A mapping that names a key part the plugin refuses never reaches the origin.
    let before = origin.requests();
    let bad = c.cache_get("UserDb", &["a b"]).unwrap_err();
    assert_eq!(error_code(&bad), "BADKEY");
    assert_eq!(origin.requests(), before);
    Ok(())
}

#[test]
fn a_rogue_mapping_costs_one_error_reply_and_reaches_nothing_it_may_not() -> Result<()> {
    let origin = HttpOrigin::start()?;
    let plugins = plugin_dir(&["fixture_origin_rogue"])?;
    let config = format!(
        "[plugin]\ncall_timeout_ms = 300\n[[origins]]\nname = \"api\"\nhttp = \"{}\"\ndefinitions = [\"RogueCache\"]\n",
        origin.base()
    );
    let server = serve(plugins.path(), config)?;
    let mut c = server.connect()?;
    let get = |c: &mut Client, part: &str| -> redis::RedisResult<Option<String>> {
        redis::cmd("CACHE.GET")
            .arg("RogueCache")
            .arg(part)
            .query(c.con())
    };
    for (part, says) in [
        ("escape", "leaves the configured base"),
        ("absolute", "names another host"),
        ("undeclared", "the mapping asked for sql"),
        ("trap", "mapping failed"),
        ("spin", "mapping failed"),
    ] {
        let error = get(&mut c, part).unwrap_err();
        assert_eq!(error_code(&error), "ORIGIN", "{part}: {error}");
        assert!(error.to_string().contains(says), "{part}: {error}");
    }
    assert_eq!(
        origin.requests(),
        0,
        "no refused request reached the origin"
    );
    // Garbage from the mapping is refused by the host's MessagePack check.
    let error = get(&mut c, "garbage").unwrap_err();
    assert_eq!(error_code(&error), "ORIGIN");
    assert!(error.to_string().contains("mapped value"), "{error}");
    // And the server, and the plugin, keep serving.
    assert_eq!(get(&mut c, "fine")?.as_deref(), Some("\"fine\""));
    assert_eq!(origin.requests(), 2);
    Ok(())
}

#[test]
fn a_plugin_cannot_run_a_statement_its_operator_did_not_declare() -> Result<()> {
    let pg = Postgres::start()?;
    pg.psql(SCHEMA)?;
    let plugins = plugin_dir(&["fixture_origin_rogue"])?;
    let config = format!(
        "[[origins]]\nname = \"db\"\npostgres = \"{}\"\ndefinitions = [\"RogueCache\"]\n{}",
        pg.connection_string(),
        statements(0.0, false)
    );
    let server = serve(plugins.path(), config)?;
    let mut c = server.connect()?;
    let error: redis::RedisError = redis::cmd("CACHE.GET")
        .arg("RogueCache")
        .arg("undeclared")
        .query::<Option<String>>(c.con())
        .unwrap_err();
    assert_eq!(error_code(&error), "ORIGIN");
    assert!(
        error.to_string().contains("`drop_users` is not declared"),
        "{error}"
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM users")?,
        "1",
        "nothing was dropped"
    );
    assert_eq!(loads(&pg)?, 0);
    Ok(())
}

#[test]
fn eager_refresh_reloads_once_before_expiry_while_reads_keep_hitting() -> Result<()> {
    let origin = HttpOrigin::start()?;
    origin.put("1", r#"{"id":"1","email":"new@example.com"}"#);
    let (server, _plugins) = http_server(&origin, "refresh_after = 0.5")?;
    let mut c = server.connect()?;
    // Fresh for 2 s; from 1 s on, the first read reloads in the background.
    c.cache_psetex(
        "UserDb",
        2000,
        r#"{"id":"1","email":"old@example.com"}"#,
        &["1"],
    )?;
    let refreshed = eventually(Duration::from_secs(10), || {
        let value = c
            .cache_get("UserDb", &["1"])?
            .expect("never a miss while fresh");
        Ok(email_of(&value) == "new@example.com")
    })?;
    assert!(refreshed, "the entry was reloaded before it expired");
    assert_eq!(origin.requests(), 1, "one reload, however many reads");
    assert_eq!(origin_counter(&mut c, "origin-refreshes")?, 1);
    Ok(())
}

#[test]
fn two_nodes_sharing_l2_load_a_missing_key_once() -> Result<()> {
    let redis = hoard_tests::tier::RedisServer::start()?;
    let pg = Postgres::start()?;
    pg.psql(SCHEMA)?;
    let dir = tempfile::tempdir()?;
    let plugins = plugin_dir(&["user_db"])?;
    let node = |name: &str| -> Result<Server> {
        let config = format!(
            "{}\n[[origins]]\nname = \"users-db\"\npostgres = \"{}\"\ndefinitions = [\"UserDb\"]\n{}",
            hoard_tests::tier::l2_config(
                &format!("url = \"{}\"", redis.url()),
                &hoard_tests::tier::replay_file(&dir, name),
                ""
            ),
            pg.connection_string(),
            statements(0.3, false)
        );
        serve(plugins.path(), config)
    };
    let a = node("a")?;
    let b = node("b")?;
    // A node that (re)confirms its bus link drops its L2-backed L1 and voids
    // the leases of loads in flight: start once both links are up.
    for server in [&a, &b] {
        let mut c = server.connect()?;
        assert!(eventually(Duration::from_secs(15), || {
            let info: String = redis::cmd("INFO").arg("l2").query(c.con())?;
            Ok(info.contains("bus_link:up"))
        })?);
    }
    let (pa, pb) = (a.port, b.port);
    let on_a = std::thread::spawn(move || concurrent_gets(pa, 100, "1"));
    let on_b = std::thread::spawn(move || concurrent_gets(pb, 100, "1"));
    for replies in [on_a.join().unwrap()?, on_b.join().unwrap()?] {
        assert!(
            replies.iter().all(|r| r.contains("ada@example.com")),
            "{:?}\n{}\n{}",
            replies.iter().find(|r| !r.contains("ada@example.com")),
            a.log(),
            b.log()
        );
    }
    assert_eq!(
        loads(&pg)?,
        1,
        "one origin query for both nodes\n{}\n{}",
        a.log(),
        b.log()
    );
    Ok(())
}

/// The same mapping written in Python (`plugins/python/user-db`, built by
/// `hoard plugin build` with `[tool.hoard] world = "origin-plugin"`): read
/// through, not found, write through, against the same PostgreSQL.
#[test]
fn a_python_mapping_reads_and_writes_through_postgres() -> Result<()> {
    let plugins = built_user_db("plugins/python/user-db")?;
    reads_and_writes_through_postgres(plugins.path())
}

/// The same mapping in JavaScript (`plugins/js/user-db`, package.json
/// `"hoard": {"world": "origin-plugin"}`): through PostgreSQL and HTTP, and
/// every rule and mapping answered as the Rust example answers it.
#[test]
fn a_javascript_mapping_reads_and_writes_through_postgres_and_http() -> Result<()> {
    let plugins = built_user_db("plugins/js/user-db")?;
    reads_and_writes_through_postgres(plugins.path())?;
    answers_like_the_rust_example(plugins.path())
}

/// The same mapping in C (`plugins/c/user-db`, `world = "origin-plugin"` in
/// its hoard-plugin.toml), proven the same way as the JavaScript one.
#[test]
fn a_c_mapping_reads_and_writes_through_postgres_and_http() -> Result<()> {
    let plugins = built_user_db("plugins/c/user-db")?;
    reads_and_writes_through_postgres(plugins.path())?;
    answers_like_the_rust_example(plugins.path())
}

/// A plugin folder holding the `UserDb` built by `hoard plugin build` from
/// `project` (relative to the workspace).
fn built_user_db(project: &str) -> Result<tempfile::TempDir> {
    let wasm = hoard_tests::build_plugin(&hoard_tests::workspace_root().join(project))?;
    let plugins = tempfile::tempdir()?;
    std::fs::copy(&wasm, plugins.path().join("user-db.wasm"))?;
    Ok(plugins)
}

/// Read through, not found, write through, with the `UserDb` in `plugins`
/// against a real PostgreSQL.
fn reads_and_writes_through_postgres(plugins: &std::path::Path) -> Result<()> {
    let pg = Postgres::start()?;
    pg.psql(SCHEMA)?;
    let config = format!(
        "[[origins]]\nname = \"users-db\"\npostgres = \"{}\"\ndefinitions = [\"UserDb\"]\nwrite = \"through\"\n{}",
        pg.connection_string(),
        statements(0.0, true)
    );
    let server = serve(plugins, config)?;
    let mut c = server.connect()?;
    assert_eq!(
        email_of(&c.cache_get("UserDb", &["1"])?.unwrap()),
        "ada@example.com"
    );
    assert_eq!(c.cache_get("UserDb", &["404"])?.as_deref(), Some("null"));
    c.cache_set("UserDb", r#"{"id":"2","email":"bob@example.com"}"#, &["2"])?;
    assert_eq!(
        pg.psql("SELECT email FROM users WHERE id = 2")?,
        "bob@example.com"
    );
    assert_eq!(loads(&pg)?, 2);
    assert!(
        c.cache_info("UserDb")?
            .fields
            .text("plugin-source")?
            .contains("user-db")
    );
    Ok(())
}

/// Asks the `UserDb` in `plugins` and the Rust example the same things and
/// compares the answers: its rules (keys, validation, events), and its
/// mapping against PostgreSQL (names, NULLs, the write's parameters and the
/// conditional version) and an HTTP origin (the JSON read and written, not
/// found, an API error).
fn answers_like_the_rust_example(plugins: &std::path::Path) -> Result<()> {
    let rust = plugin_dir(&["user_db"])?;
    let expected = user_db_answers(rust.path())?;
    let answers = user_db_answers(plugins)?;
    for (want, got) in expected.iter().zip(&answers) {
        assert_eq!(got, want, "asked the same as the Rust example");
    }
    assert_eq!(answers.len(), expected.len());
    Ok(())
}

/// What the `UserDb` in `plugins` answers to a fixed list of requests, one
/// line each.
fn user_db_answers(plugins: &std::path::Path) -> Result<Vec<String>> {
    fn ask(c: &mut Client, cmd: &mut redis::Cmd) -> String {
        match cmd.query::<Value>(c.con()) {
            Ok(value) => format!("{value:?}"),
            Err(e) => format!("error {e}"),
        }
    }
    let mut answers = Vec::new();

    // PostgreSQL, written through.
    let pg = Postgres::start()?;
    pg.psql(SCHEMA)?;
    pg.psql("INSERT INTO users (id, email) VALUES (3, 'nameless@example.com')")?;
    let config = format!(
        "[[origins]]\nname = \"users-db\"\npostgres = \"{}\"\ndefinitions = [\"UserDb\"]\nwrite = \"through\"\n{}",
        pg.connection_string(),
        statements(0.0, true)
    );
    let server = serve(plugins, config)?;
    let mut c = server.connect()?;
    for id in ["1", "3", "404", "1"] {
        answers.push(ask(&mut c, redis::cmd("CACHE.GET").arg("UserDb").arg(id)));
    }
    for (value, id) in [
        (r#"{"id":"2","email":"bob@example.com","name":"Bob"}"#, "2"),
        (r#"{"id":"4","email":"eve@example.com","extra":[1,2]}"#, "4"),
        (r#"{"id":"5","email":"mallory@example.com"}"#, "6"),
    ] {
        answers.push(ask(
            &mut c,
            redis::cmd("CACHE.SET").arg("UserDb").arg(value).arg(id),
        ));
    }
    // The sequence reached the `version` column: a second write of 2 wins.
    answers.push(ask(
        &mut c,
        redis::cmd("CACHE.SET")
            .arg("UserDb")
            .arg(r#"{"id":"2","email":"bob@example.org"}"#)
            .arg("2"),
    ));
    answers.push(pg.psql(
        "SELECT string_agg(concat_ws(' ', id, email, coalesce(name, '-'), version > 0), ', ' ORDER BY id) FROM users",
    )?);

    // The rules.
    for parts in [&["7"][..], &["a:b"], &["\u{2003}"], &[""], &["1", "2"]] {
        answers.push(ask(
            &mut c,
            redis::cmd("CACHE.GET").arg("UserDb").arg(parts),
        ));
    }
    for value in [
        r#"{"id":"8","email":"a@b.c"}"#,
        r#"{"id":"","email":"no-at"}"#,
        r#"{"id":"8","email":"a@b@c","name":null}"#,
        r#"{"id":"8"}"#,
        r#"{"id":"8","email":7}"#,
        r#"{"id":"8","email":"a@b.c","name":7}"#,
        r#""8""#,
    ] {
        // Why a value is no user at all is in each decoder's own words
        // (serde's in Rust): the sentence up to them is compared.
        let reasons = ask(
            &mut c,
            redis::cmd("CACHE.VALIDATE").arg("UserDb").arg(value),
        );
        let not_a_user = "The value is not a user ({id, email, name?}):";
        answers.push(match reasons.split_once(not_a_user) {
            Some((before, _)) => format!("{before}{not_a_user} …"),
            None => reasons,
        });
    }
    for (event, payload) in [
        ("UserUpdated", r#"{"id":"1"}"#),
        ("UserDeleted", r#"{"id":"9"}"#),
        ("UserRenamed", r#"{"id":"1"}"#),
        ("UserUpdated", r#"{"id":1}"#),
        ("UserUpdated", r#"{"userId":"1"}"#),
        ("UserUpdated", r#"["1"]"#),
        ("UserUpdated", r#"{"id":"a*"}"#),
    ] {
        answers.push(ask(
            &mut c,
            redis::cmd("CACHE.PLAN")
                .arg("UserDb")
                .arg(event)
                .arg(payload),
        ));
    }

    // HTTP, written through.
    let origin = HttpOrigin::start()?;
    origin.put(
        "1",
        r#"{"id":"1","email":"ada@example.com","name":"Ada","extra":true}"#,
    );
    origin.put("2", r#"{"id":"2","email":"tab\t@example.com","name":null}"#);
    origin.put(
        "3",
        r#"{"id":"3","email":"\u00e9\ud83d\ude00@example.com"}"#,
    );
    let server = serve(
        plugins,
        format!(
            "[[origins]]\nname = \"users-api\"\nhttp = \"{}\"\ndefinitions = [\"UserDb\"]\nwrite = \"through\"\n",
            origin.base()
        ),
    )?;
    let mut c = server.connect()?;
    for id in ["1", "2", "3", "404"] {
        answers.push(ask(&mut c, redis::cmd("CACHE.GET").arg("UserDb").arg(id)));
    }
    for (value, id) in [
        (
            r#"{"id":"5","email":"q\"uote\\@example.com","name":"Zo\u00eb\n"}"#,
            "5",
        ),
        (r#"{"id":"6","email":"six@example.com"}"#, "6"),
    ] {
        answers.push(ask(
            &mut c,
            redis::cmd("CACHE.SET").arg("UserDb").arg(value).arg(id),
        ));
        answers.push(format!("{:?}", origin.user(id)));
    }
    // The origin breaks: its garbage and its errors are errors.
    origin.put("7", "not json");
    let garbage = ask(&mut c, redis::cmd("CACHE.GET").arg("UserDb").arg("7"));
    answers.push(
        garbage
            .split(" is not valid JSON")
            .next()
            .unwrap_or("")
            .to_owned(),
    );
    origin.fail(true);
    answers.push(ask(&mut c, redis::cmd("CACHE.GET").arg("UserDb").arg("8")));
    Ok(answers)
}
