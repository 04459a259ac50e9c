//! Domain events: exact keys, glob patterns, cascade to dependent caches, and no cascade.

use std::collections::HashMap;

use anyhow::Result;
use hoard_tests::Server;
use redis::Value;

fn set(con: &mut redis::Connection, cache: &str, value: &str, parts: &[&str]) -> Result<()> {
    let _: String = redis::cmd("CACHE.SET")
        .arg(cache)
        .arg(value)
        .arg(parts)
        .query(con)?;
    Ok(())
}

fn present(con: &mut redis::Connection, cache: &str, parts: &[&str]) -> Result<bool> {
    let v: Option<String> = redis::cmd("CACHE.GET").arg(cache).arg(parts).query(con)?;
    Ok(v.is_some())
}

fn event(con: &mut redis::Connection, name: &str, payload: &str) -> Result<HashMap<String, Value>> {
    Ok(redis::cmd("CACHE.EVENT")
        .arg(name)
        .arg(payload)
        .query(con)?)
}

fn caches(reply: &HashMap<String, Value>) -> HashMap<String, i64> {
    match reply.get("caches") {
        Some(Value::Array(flat)) => flat
            .chunks(2)
            .filter_map(|pair| match pair {
                [Value::BulkString(k), Value::Int(n)] => {
                    Some((String::from_utf8_lossy(k).into_owned(), *n))
                }
                _ => None,
            })
            .collect(),
        Some(Value::Map(pairs)) => pairs
            .iter()
            .filter_map(|pair| match pair {
                (Value::BulkString(k), Value::Int(n)) => {
                    Some((String::from_utf8_lossy(k).into_owned(), *n))
                }
                _ => None,
            })
            .collect(),
        _ => HashMap::new(),
    }
}

fn seed(con: &mut redis::Connection) -> Result<()> {
    for id in ["u1", "u2"] {
        let user = format!(r#"{{"id":"{id}","email":"{id}@example.com"}}"#);
        set(con, "UserCache", &user, &[id])?;
        set(con, "UserCache", &user, &[id, "1"])?;
        set(con, "UserCache", &user, &[id, "2"])?;
        let perms = format!(r#"{{"userId":"{id}","roles":["reader"]}}"#);
        set(con, "UserPermissions", &perms, &[id])?;
        set(con, "UserPermissions", &perms, &[id, "r1"])?;
    }
    Ok(())
}

#[test]
fn user_updated_removes_keys_patterns_and_cascades() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    seed(&mut con)?;
    let reply = event(&mut con, "UserUpdated", r#"{"userId":"u1"}"#)?;
    assert_eq!(
        reply.get("outcome"),
        Some(&Value::BulkString(b"invalidated".to_vec()))
    );
    let per_cache = caches(&reply);
    assert_eq!(per_cache.get("UserCache"), Some(&3), "{reply:?}");
    assert_eq!(
        per_cache.get("UserPermissions"),
        Some(&2),
        "cascade: {reply:?}"
    );
    assert_eq!(reply.get("count"), Some(&Value::Int(5)));

    assert!(!present(&mut con, "UserCache", &["u1"])?);
    assert!(!present(&mut con, "UserCache", &["u1", "2"])?);
    assert!(!present(&mut con, "UserPermissions", &["u1"])?);
    assert!(!present(&mut con, "UserPermissions", &["u1", "r1"])?);
    // The other user is untouched: patterns are not over-broad.
    assert!(present(&mut con, "UserCache", &["u2"])?);
    assert!(present(&mut con, "UserCache", &["u2", "1"])?);
    assert!(present(&mut con, "UserPermissions", &["u2"])?);
    Ok(())
}

#[test]
fn permissions_changed_does_not_cascade() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    seed(&mut con)?;
    let reply = event(
        &mut con,
        "PermissionsChanged",
        r#"{"userId":"u1","roleId":"r1"}"#,
    )?;
    let per_cache = caches(&reply);
    assert_eq!(per_cache.get("UserCache"), None, "{reply:?}");
    assert_eq!(per_cache.get("UserPermissions"), Some(&2), "{reply:?}");
    assert!(
        present(&mut con, "UserCache", &["u1"])?,
        "no cascade into UserCache"
    );
    assert!(!present(&mut con, "UserPermissions", &["u1", "r1"])?);
    assert!(present(&mut con, "UserPermissions", &["u2", "r1"])?);
    Ok(())
}

#[test]
fn unknown_events_and_bad_payloads() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    seed(&mut con)?;
    let reply = event(&mut con, "NobodyListens", "{}")?;
    assert_eq!(reply.get("count"), Some(&Value::Int(0)));
    let reply = event(&mut con, "UserDeleted", r#"{"nope":1}"#)?;
    assert_eq!(
        reply.get("outcome"),
        Some(&Value::BulkString(b"partially-invalidated".to_vec())),
        "{reply:?}"
    );
    assert!(
        present(&mut con, "UserCache", &["u1"])?,
        "a bad payload removes nothing"
    );
    let err = redis::cmd("CACHE.EVENT")
        .arg("UserDeleted")
        .arg("{oops")
        .query::<Value>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("invalid JSON"), "{err}");
    Ok(())
}

#[test]
fn user_deleted_reaches_sessions_and_activity_patterns() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    seed(&mut con)?;
    let reply = event(&mut con, "UserDeleted", r#"{"userId":"u2"}"#)?;
    let per_cache = caches(&reply);
    assert_eq!(per_cache.get("UserCache"), Some(&3), "{reply:?}");
    assert!(!present(&mut con, "UserCache", &["u2"])?);
    assert!(present(&mut con, "UserCache", &["u1"])?);
    Ok(())
}

#[test]
fn cascade_cycles_ask_each_cache_once() -> Result<()> {
    let dir = hoard_tests::plugin_dir(&["fixture_cycle_a", "fixture_cycle_b"])?;
    let server = Server::start_with(hoard_tests::ServerOptions {
        plugins: Some(dir.path().to_path_buf()),
        ..Default::default()
    })?;
    let mut con = server.client()?;
    set(&mut con, "CycleA", "1", &["1"])?;
    set(&mut con, "CycleB", "1", &["1"])?;
    set(&mut con, "CycleB", "1", &["2"])?;
    let reply = event(&mut con, "Ping", r#"{"id":"1"}"#)?;
    let per_cache = caches(&reply);
    // A asked directly, B by cascade, and B's cascade back to A stops there.
    assert_eq!(per_cache.get("CycleA"), Some(&1), "{reply:?}");
    assert_eq!(per_cache.get("CycleB"), Some(&1), "{reply:?}");
    assert_eq!(
        reply.get("outcome"),
        Some(&Value::BulkString(b"invalidated".to_vec()))
    );
    assert!(present(&mut con, "CycleB", &["2"])?);
    Ok(())
}
