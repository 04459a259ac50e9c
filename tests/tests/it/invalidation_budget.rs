//! The host work an `on-event` answer causes is bounded: `EventBomb` answers within every cap
//! (10,000 prefixless patterns; globs with a long literal tail after a `*`), and the host
//! either finishes within its work budget or clears the affected caches and says so. Never
//! less invalidation than asked.

use std::collections::HashMap;

use anyhow::Result;
use hoard_tests::{Server, ServerOptions, plugin_dir};
use redis::Value;

fn start() -> Result<(Server, tempfile::TempDir)> {
    let dir = plugin_dir(&["fixture_event_bomb", "user_cache"])?;
    let server = Server::start_with(ServerOptions {
        plugins: Some(dir.path().to_owned()),
        ..Default::default()
    })?;
    Ok((server, dir))
}

/// `n` EventBomb entries whose single key part is `part(i)`.
fn seed(con: &mut redis::Connection, n: usize, part: impl Fn(usize) -> String) -> Result<()> {
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("CACHE.SET")
            .arg("EventBomb")
            .arg(r#""v""#)
            .arg(part(i))
            .ignore();
    }
    pipe.query::<()>(con)?;
    Ok(())
}

fn event(con: &mut redis::Connection, name: &str) -> Result<HashMap<String, Value>> {
    Ok(redis::cmd("CACHE.EVENT").arg(name).arg("{}").query(con)?)
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(Value::SimpleString(s)) => s.clone(),
        other => format!("{other:?}"),
    }
}

fn fallback(reply: &HashMap<String, Value>) -> Vec<String> {
    match reply.get("fallback") {
        Some(Value::Array(items)) => items.iter().map(|v| text(Some(v))).collect(),
        _ => Vec::new(),
    }
}

fn present(con: &mut redis::Connection, part: &str) -> Result<bool> {
    let v: Option<String> = redis::cmd("CACHE.GET")
        .arg("EventBomb")
        .arg(part)
        .query(con)?;
    Ok(v.is_some())
}

fn info_counter(con: &mut redis::Connection, name: &str) -> Result<u64> {
    let info: String = redis::cmd("INFO").arg("stats").query(con)?;
    Ok(info
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(u64::MAX))
}

#[test]
fn ten_thousand_prefixless_patterns_fall_back_to_clearing_and_say_so() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.client()?;
    seed(&mut con, 2_000, |i| format!("k{i}"))?;
    let _: String = redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg(r#"{"id":"1","email":"a@example.com"}"#)
        .arg("1")
        .query(&mut con)?;
    assert_eq!(info_counter(&mut con, "invalidation_fallbacks")?, 0);

    let reply = event(&mut con, "Prefixless")?;
    assert_eq!(text(reply.get("outcome")), "fallback", "{reply:?}");
    // Both caches could hold a match and were not finished: both cleared, never less.
    assert_eq!(
        fallback(&reply),
        vec!["EventBomb".to_owned(), "UserCache".to_owned()]
    );
    assert!(!present(&mut con, "k0")? && !present(&mut con, "k1999")?);
    let user: Option<String> = redis::cmd("CACHE.GET")
        .arg("UserCache")
        .arg("1")
        .query(&mut con)?;
    assert!(user.is_none());
    assert_eq!(info_counter(&mut con, "invalidation_fallbacks")?, 1);
    assert!(info_counter(&mut con, "invalidation_steps")? >= 20_000_000);
    // The server still answers, and the log says what happened.
    let pong: String = redis::cmd("PING").query(&mut con)?;
    assert_eq!(pong, "PONG");
    assert!(server.log().contains("over its work budget"));
    Ok(())
}

#[test]
fn quadratic_shaped_globs_cost_linear_work_and_finish_within_the_budget() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.client()?;
    // 100 keys of ~1 kB of `a`: the patterns' 900-byte tail nearly matches at every start.
    seed(&mut con, 100, |i| format!("{}{i:04}", "a".repeat(1_000)))?;
    seed(&mut con, 3, |i| format!("cheap:{i}"))?;
    let reply = event(&mut con, "Quadratic")?;
    assert_eq!(text(reply.get("outcome")), "invalidated", "{reply:?}");
    assert!(fallback(&reply).is_empty());
    assert_eq!(reply.get("count"), Some(&Value::Int(0)), "nothing matches");
    assert!(present(&mut con, &format!("{}0007", "a".repeat(1_000)))?);
    let steps = info_counter(&mut con, "invalidation_steps")?;
    // Linear: about key length × words per glob × 8 globs per key, far below backtracking's
    // key length × tail length per glob.
    assert!(steps < 103 * 1_020 * 15 * 8 + 10_000, "{steps} steps");

    let reply = event(&mut con, "Cheap")?;
    assert_eq!(text(reply.get("outcome")), "invalidated", "{reply:?}");
    assert_eq!(reply.get("count"), Some(&Value::Int(3)));
    assert!(!present(&mut con, "cheap:1")?);
    assert!(present(&mut con, &format!("{}0007", "a".repeat(1_000)))?);
    assert_eq!(info_counter(&mut con, "invalidation_fallbacks")?, 0);
    Ok(())
}
