//! Domain events: exact keys, glob patterns, cascade to dependent caches, and no cascade.

use anyhow::Result;
use hoard_tests::{Client, Server};

fn seed(con: &mut Client) -> Result<()> {
    for id in ["u1", "u2"] {
        let user = format!(r#"{{"id":"{id}","email":"{id}@example.com"}}"#);
        con.cache_set("UserCache", &user, &[id])?;
        con.cache_set("UserCache", &user, &[id, "1"])?;
        con.cache_set("UserCache", &user, &[id, "2"])?;
        let perms = format!(r#"{{"userId":"{id}","roles":["reader"]}}"#);
        con.cache_set("UserPermissions", &perms, &[id])?;
        con.cache_set("UserPermissions", &perms, &[id, "r1"])?;
    }
    Ok(())
}

#[test]
fn user_updated_removes_keys_patterns_and_cascades() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    seed(&mut con)?;
    let reply = con.cache_event("UserUpdated", r#"{"userId":"u1"}"#)?;
    assert_eq!(reply.outcome, "invalidated");
    assert_eq!(reply.caches.get("UserCache"), Some(&3), "{reply:?}");
    assert_eq!(
        reply.caches.get("UserPermissions"),
        Some(&2),
        "cascade: {reply:?}"
    );
    assert_eq!(reply.count, 5);

    assert!(!con.cache_has("UserCache", &["u1"])?);
    assert!(!con.cache_has("UserCache", &["u1", "2"])?);
    assert!(!con.cache_has("UserPermissions", &["u1"])?);
    assert!(!con.cache_has("UserPermissions", &["u1", "r1"])?);
    // The other user is untouched: patterns are not over-broad.
    assert!(con.cache_has("UserCache", &["u2"])?);
    assert!(con.cache_has("UserCache", &["u2", "1"])?);
    assert!(con.cache_has("UserPermissions", &["u2"])?);
    Ok(())
}

#[test]
fn permissions_changed_does_not_cascade() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    seed(&mut con)?;
    let reply = con.cache_event("PermissionsChanged", r#"{"userId":"u1","roleId":"r1"}"#)?;
    assert_eq!(reply.caches.get("UserCache"), None, "{reply:?}");
    assert_eq!(reply.caches.get("UserPermissions"), Some(&2), "{reply:?}");
    assert!(
        con.cache_has("UserCache", &["u1"])?,
        "no cascade into UserCache"
    );
    assert!(!con.cache_has("UserPermissions", &["u1", "r1"])?);
    assert!(con.cache_has("UserPermissions", &["u2", "r1"])?);
    Ok(())
}

#[test]
fn unknown_events_and_bad_payloads() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    seed(&mut con)?;
    let reply = con.cache_event("NobodyListens", "{}")?;
    assert_eq!(reply.count, 0);
    let reply = con.cache_event("UserDeleted", r#"{"nope":1}"#)?;
    assert_eq!(reply.outcome, "partially-invalidated", "{reply:?}");
    assert!(
        con.cache_has("UserCache", &["u1"])?,
        "a bad payload removes nothing"
    );
    let err = con.cache_event("UserDeleted", "{oops").unwrap_err();
    assert!(err.to_string().contains("invalid JSON"), "{err}");
    Ok(())
}

#[test]
fn user_deleted_reaches_sessions_and_activity_patterns() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    seed(&mut con)?;
    let reply = con.cache_event("UserDeleted", r#"{"userId":"u2"}"#)?;
    assert_eq!(reply.caches.get("UserCache"), Some(&3), "{reply:?}");
    assert!(!con.cache_has("UserCache", &["u2"])?);
    assert!(con.cache_has("UserCache", &["u1"])?);
    Ok(())
}

#[test]
fn cascade_cycles_ask_each_cache_once() -> Result<()> {
    let dir = hoard_tests::plugin_dir(&["fixture_cycle_a", "fixture_cycle_b"])?;
    let server = Server::start_with(hoard_tests::ServerOptions {
        plugins: Some(dir.path().to_path_buf()),
        ..Default::default()
    })?;
    let mut con = server.connect()?;
    con.cache_set("CycleA", "1", &["1"])?;
    con.cache_set("CycleB", "1", &["1"])?;
    con.cache_set("CycleB", "1", &["2"])?;
    let reply = con.cache_event("Ping", r#"{"id":"1"}"#)?;
    // A asked directly, B by cascade, and B's cascade back to A stops there.
    assert_eq!(reply.caches.get("CycleA"), Some(&1), "{reply:?}");
    assert_eq!(reply.caches.get("CycleB"), Some(&1), "{reply:?}");
    assert_eq!(reply.outcome, "invalidated");
    assert!(con.cache_has("CycleB", &["2"])?);
    Ok(())
}
