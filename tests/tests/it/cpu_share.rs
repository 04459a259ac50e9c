//! A definition whose calls are slow but legal (issue 9, item 4) against the
//! real binary: calls beyond its budget are refused at once with `BUSY`
//! instead of queueing, and the request path keeps answering meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::Result;
use hoard_tests::{Server, ServerOptions, error_code, plugin_dir};

/// One slow call may run and none may wait: a second one at the same time is
/// BUSY. A generous deadline: on a loaded machine 80 ms of work may take longer.
const CONFIG: &str =
    "[plugin]\ncall_timeout_ms = 2000\nworkers = 2\ndefinition_workers = 1\ndefinition_queue = 0\n";

fn start() -> Result<(Server, tempfile::TempDir)> {
    start_with(CONFIG)
}

fn start_with(config: &str) -> Result<(Server, tempfile::TempDir)> {
    let dir = plugin_dir(&["fixture_slow_but_legal", "user_permissions"])?;
    let server = Server::start_with(ServerOptions {
        plugins: Some(dir.path().to_path_buf()),
        config: Some(config.into()),
        ..Default::default()
    })?;
    Ok((server, dir))
}

/// Sends `CACHE.KEY SlowCache <id>` on each connection before reading any
/// reply, so the calls overlap; returns the first line of every reply.
fn burst(conns: &mut [TcpStream]) -> Result<Vec<String>> {
    for (i, con) in conns.iter_mut().enumerate() {
        let id = format!("k{i}");
        write!(
            con,
            "*3\r\n$9\r\nCACHE.KEY\r\n$9\r\nSlowCache\r\n${}\r\n{id}\r\n",
            id.len()
        )?;
    }
    let mut replies = Vec::new();
    for con in conns.iter_mut() {
        let mut line = String::new();
        let mut reader = BufReader::new(con.try_clone()?);
        reader.read_line(&mut line)?;
        if line.starts_with('$') {
            let mut key = String::new();
            reader.read_line(&mut key)?;
            line = format!("+{}", key.trim_end());
        }
        replies.push(line.trim_end().to_owned());
    }
    Ok(replies)
}

#[test]
fn calls_beyond_a_definitions_budget_are_busy_not_queued() -> Result<()> {
    let (server, _dir) = start()?;
    let mut conns = (0..6)
        .map(|_| {
            let con = server.tcp()?;
            con.set_read_timeout(Some(Duration::from_secs(10)))?;
            Ok(con)
        })
        .collect::<Result<Vec<_>>>()?;
    // Six calls of 80 ms sent together: one runs, the others find the
    // budget spent. A burst can spread out on a loaded machine, so try a
    // few; every reply must be a key or BUSY, never anything else.
    let mut busy_seen = false;
    for _ in 0..10 {
        let replies = burst(&mut conns)?;
        for reply in &replies {
            assert!(
                reply.starts_with("+SlowCache:k") || reply.starts_with("-BUSY SlowCache"),
                "{replies:?}"
            );
        }
        assert!(replies.iter().any(|r| r.starts_with('+')), "{replies:?}");
        if replies.iter().any(|r| r.starts_with("-BUSY")) {
            busy_seen = true;
            break;
        }
    }
    assert!(busy_seen, "no call was refused with BUSY");

    // The error is the one a redis client sees, with its prefix.
    let mut con = server.client()?;
    let mut raw = server.tcp()?;
    raw.write_all(b"*3\r\n$9\r\nCACHE.KEY\r\n$9\r\nSlowCache\r\n$4\r\nhold\r\n")?;
    let mut refused = None;
    for _ in 0..50 {
        match redis::cmd("CACHE.KEY")
            .arg("SlowCache")
            .arg("again")
            .query::<String>(&mut con)
        {
            Err(e) => {
                refused = Some(e);
                break;
            }
            Ok(_) => {
                raw.write_all(b"*3\r\n$9\r\nCACHE.KEY\r\n$9\r\nSlowCache\r\n$4\r\nhold\r\n")?
            }
        }
    }
    let refused = refused.expect("a call overlapping another should be BUSY");
    assert_eq!(error_code(&refused), "BUSY", "{refused}");
    Ok(())
}

/// An integer field of `CACHE.INFO <cache>`.
fn info_int(con: &mut redis::Connection, cache: &str, field: &str) -> Result<i64> {
    let info: std::collections::HashMap<String, redis::Value> =
        redis::cmd("CACHE.INFO").arg(cache).query(con)?;
    match info.get(field) {
        Some(redis::Value::Int(n)) => Ok(*n),
        other => panic!("{field} missing: {other:?}"),
    }
}

#[test]
fn plain_commands_and_memo_hits_do_not_wait_behind_slow_calls() -> Result<()> {
    let (server, _dir) = start_with(
        "[plugin]\ncall_timeout_ms = 2000\nworkers = 1\ndefinition_workers = 1\ndefinition_queue = 64\n",
    )?;
    let mut con = server.client()?;
    redis::cmd("CACHE.SET")
        .arg("UserPermissions")
        .arg(r#"{"userId":"u1","roles":["r"]}"#)
        .arg("u1")
        .query::<()>(&mut con)?;
    let calls_before = info_int(&mut con, "UserPermissions", "plugin-calls")?;
    // Four connections queue slow calls (80 ms each) for the one plugin thread.
    let mut hammer = (0..4).map(|_| server.tcp()).collect::<Result<Vec<_>>>()?;
    for con in &mut hammer {
        for _ in 0..5 {
            con.write_all(b"*3\r\n$9\r\nCACHE.KEY\r\n$9\r\nSlowCache\r\n$1\r\nx\r\n")?;
        }
    }
    let waiting = || -> Result<i64> {
        let mut c = server.client()?;
        info_int(&mut c, "SlowCache", "plugin-waiting-calls")
    };
    assert!(
        hoard_tests::eventually(Duration::from_secs(10), || Ok(waiting()? > 0))?,
        "slow calls never queued"
    );
    // A memo hit and plain commands are answered while slow calls still
    // wait for the plugin thread: they never queue behind a plugin.
    for _ in 0..20 {
        let value: String = redis::cmd("CACHE.GET")
            .arg("UserPermissions")
            .arg("u1")
            .query(&mut con)?;
        assert!(value.contains("u1"));
        let _: Option<String> = redis::cmd("GET").arg("plain").query(&mut con)?;
    }
    assert!(
        waiting()? > 0,
        "the memo hits waited for the slow calls to drain"
    );
    assert_eq!(
        info_int(&mut con, "UserPermissions", "plugin-calls")?,
        calls_before,
        "a memo hit called the plugin"
    );
    Ok(())
}
