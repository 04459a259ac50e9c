//! Every CACHE.* command through the bundled example definitions.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Result;
use hoard_tests::{Server, error_code, eventually};
use redis::Value;

const ADA: &str = r#"{"id":"u1","email":"ada@example.com","name":"Ada","createdAt":"2026-01-01T00:00:00Z","version":2}"#;

fn info(con: &mut redis::Connection, cache: &str) -> Result<HashMap<String, Value>> {
    Ok(redis::cmd("CACHE.INFO").arg(cache).query(con)?)
}

fn int(map: &HashMap<String, Value>, field: &str) -> i64 {
    match map.get(field) {
        Some(Value::Int(n)) => *n,
        other => panic!("{field} is not an integer: {other:?}"),
    }
}

#[test]
fn list_and_info_show_the_bundled_definitions() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    let list: HashMap<String, String> = redis::cmd("CACHE.LIST").query(&mut con)?;
    assert_eq!(
        list.get("UserCache").map(String::as_str),
        Some("user-cache@1.0.0")
    );
    assert_eq!(
        list.get("UserPermissions").map(String::as_str),
        Some("user-permissions@1.0.0")
    );
    let user = info(&mut con, "UserCache")?;
    assert_eq!(
        user.get("id"),
        Some(&Value::BulkString(b"user-cache@1.0.0".to_vec()))
    );
    assert_eq!(int(&user, "default-ttl-ms"), 30 * 60 * 1000);
    assert_eq!(int(&user, "max-items"), 10_000);
    let err = redis::cmd("CACHE.INFO")
        .arg("Nope")
        .query::<Value>(&mut con)
        .unwrap_err();
    assert_eq!(error_code(&err), "NOCACHE");
    Ok(())
}

#[test]
fn set_get_key_del_round_trip() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    let key: String = redis::cmd("CACHE.KEY")
        .arg("UserCache")
        .arg("u1")
        .query(&mut con)?;
    assert_eq!(key, "User:u1");
    let key: String = redis::cmd("CACHE.KEY")
        .arg("UserCache")
        .arg("u1")
        .arg("2")
        .query(&mut con)?;
    assert_eq!(key, "User:u1:v2");

    let miss: Option<String> = redis::cmd("CACHE.GET")
        .arg("UserCache")
        .arg("u1")
        .query(&mut con)?;
    assert_eq!(miss, None);
    let ok: String = redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg(ADA)
        .arg("u1")
        .query(&mut con)?;
    assert_eq!(ok, "OK");
    let hit: String = redis::cmd("CACHE.GET")
        .arg("UserCache")
        .arg("u1")
        .query(&mut con)?;
    let got: serde_json::Value = serde_json::from_str(&hit)?;
    let want: serde_json::Value = serde_json::from_str(ADA)?;
    assert_eq!(got, want);
    assert_eq!(
        hit, ADA,
        "JSON comes back byte for byte, keys in their order"
    );

    let removed: i64 = redis::cmd("CACHE.DEL")
        .arg("UserCache")
        .arg("u1")
        .query(&mut con)?;
    assert_eq!(removed, 1);
    let removed: i64 = redis::cmd("CACHE.DEL")
        .arg("UserCache")
        .arg("u1")
        .query(&mut con)?;
    assert_eq!(removed, 0);
    let stats = info(&mut con, "UserCache")?;
    assert_eq!(int(&stats, "hits"), 1);
    assert!(int(&stats, "misses") >= 1);
    assert_eq!(int(&stats, "sets"), 1);
    Ok(())
}

#[test]
fn invalid_values_and_keys_are_refused_and_nothing_is_stored() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    let bad = r#"{"name":"NoId","email":"not-an-email","createdAt":"2999-01-01T00:00:00Z"}"#;
    let err = redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg(bad)
        .arg("u9")
        .query::<()>(&mut con)
        .unwrap_err();
    assert_eq!(error_code(&err), "INVALID");
    let text = err.to_string();
    assert!(text.contains("id"), "{text}");
    assert!(text.contains("email"), "{text}");
    assert!(text.contains("future"), "{text}");
    let miss: Option<String> = redis::cmd("CACHE.GET")
        .arg("UserCache")
        .arg("u9")
        .query(&mut con)?;
    assert_eq!(miss, None);

    let err = redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg("null")
        .arg("u9")
        .query::<()>(&mut con)
        .unwrap_err();
    assert_eq!(error_code(&err), "INVALID");
    let err = redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg("{not json")
        .arg("u9")
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("invalid JSON"), "{err}");

    let err = redis::cmd("CACHE.KEY")
        .arg("UserCache")
        .arg("a")
        .arg("b")
        .arg("c")
        .query::<String>(&mut con)
        .unwrap_err();
    assert_eq!(error_code(&err), "BADKEY");
    let err = redis::cmd("CACHE.KEY")
        .arg("UserCache")
        .arg("u*")
        .query::<String>(&mut con)
        .unwrap_err();
    assert_eq!(error_code(&err), "BADKEY");
    let err = redis::cmd("CACHE.GET")
        .arg("NoSuchCache")
        .arg("x")
        .query::<String>(&mut con)
        .unwrap_err();
    assert_eq!(error_code(&err), "NOCACHE");
    let err = redis::cmd("CACHE.GET")
        .arg("UserCache")
        .query::<String>(&mut con)
        .unwrap_err();
    assert!(
        err.to_string().contains("wrong number of arguments"),
        "{err}"
    );

    let stats = info(&mut con, "UserCache")?;
    assert_eq!(int(&stats, "rejects"), 2);
    assert_eq!(int(&stats, "items"), 0);
    Ok(())
}

#[test]
fn null_is_cached_where_the_definition_allows_it() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    let ok: String = redis::cmd("CACHE.SET")
        .arg("UserPermissions")
        .arg("null")
        .arg("u1")
        .query(&mut con)?;
    assert_eq!(ok, "OK");
    let hit: Option<String> = redis::cmd("CACHE.GET")
        .arg("UserPermissions")
        .arg("u1")
        .query(&mut con)?;
    assert_eq!(
        hit.as_deref(),
        Some("null"),
        "a cached null is a hit, not a miss"
    );
    Ok(())
}

#[test]
fn psetex_entries_expire() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    let ok: String = redis::cmd("CACHE.PSETEX")
        .arg("UserCache")
        .arg(150)
        .arg(ADA)
        .arg("u1")
        .query(&mut con)?;
    assert_eq!(ok, "OK");
    let hit: Option<String> = redis::cmd("CACHE.GET")
        .arg("UserCache")
        .arg("u1")
        .query(&mut con)?;
    assert!(hit.is_some());
    let gone = eventually(Duration::from_secs(5), || {
        let v: Option<String> = redis::cmd("CACHE.GET")
            .arg("UserCache")
            .arg("u1")
            .query(&mut con)?;
        Ok(v.is_none())
    })?;
    assert!(gone, "CACHE.PSETEX 150 never expired");
    let stats = info(&mut con, "UserCache")?;
    assert!(int(&stats, "expirations") >= 1);
    Ok(())
}

#[test]
fn large_values_are_compressed_and_encrypted_and_round_trip() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    let long_name = "Ada Lovelace ".repeat(400);
    let value = serde_json::json!({"id":"u2","email":"ada@example.com","name": long_name});
    let text = value.to_string();
    assert!(text.len() > 5000);
    let _: String = redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg(&text)
        .arg("u2")
        .query(&mut con)?;
    let back: String = redis::cmd("CACHE.GET")
        .arg("UserCache")
        .arg("u2")
        .query(&mut con)?;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&back)?, value);
    let stats = info(&mut con, "UserCache")?;
    let stored = int(&stats, "bytes");
    assert!(
        stored < 1500,
        "a 5 KB repetitive value should be stored compressed, got {stored} bytes"
    );
    assert_eq!(stats.get("encrypt"), Some(&Value::Int(1)));
    Ok(())
}

#[test]
fn msgpack_format_skips_json() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    let _: String = redis::cmd("CACHE.FORMAT").arg("MSGPACK").query(&mut con)?;
    // {"id":"u3","email":"c@d.io"} as MessagePack.
    let mut packed = vec![0x82, 0xa2, b'i', b'd', 0xa2, b'u', b'3', 0xa5];
    packed.extend_from_slice(b"email");
    packed.push(0xa6);
    packed.extend_from_slice(b"c@d.io");
    let _: String = redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg(&packed)
        .arg("u3")
        .query(&mut con)?;
    let back: Vec<u8> = redis::cmd("CACHE.GET")
        .arg("UserCache")
        .arg("u3")
        .query(&mut con)?;
    assert_eq!(back, packed);
    let err = redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg(&[0xc1u8][..])
        .arg("u3")
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("MessagePack"), "{err}");
    Ok(())
}

#[test]
fn definition_caches_evict_at_max_items() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    let mut pipe = redis::pipe();
    for i in 0..10_500 {
        let v = format!(r#"{{"id":"u{i}","email":"u{i}@example.com"}}"#);
        pipe.cmd("CACHE.SET")
            .arg("UserCache")
            .arg(v)
            .arg(format!("u{i}"))
            .ignore();
    }
    let _: () = pipe.query(&mut con)?;
    let stats = info(&mut con, "UserCache")?;
    assert!(
        int(&stats, "items") <= 10_000,
        "items {}",
        int(&stats, "items")
    );
    assert!(int(&stats, "evictions") >= 500);
    let last: Option<String> = redis::cmd("CACHE.GET")
        .arg("UserCache")
        .arg("u10499")
        .query(&mut con)?;
    assert!(last.is_some(), "the newest entry must survive eviction");
    Ok(())
}

#[test]
fn ttls_are_defaulted_clamped_and_sliding_where_declared() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    let ttl = |con: &mut redis::Connection, cache: &str, id: &str| -> Result<i64> {
        Ok(redis::cmd("CACHE.TTL").arg(cache).arg(id).query(con)?)
    };
    assert_eq!(ttl(&mut con, "UserCache", "nobody")?, -2);
    // Default TTL: 30 minutes.
    let _: String = redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg(ADA)
        .arg("u1")
        .query(&mut con)?;
    let t = ttl(&mut con, "UserCache", "u1")?;
    assert!(t > 29 * 60 * 1000 && t <= 30 * 60 * 1000, "default ttl {t}");
    // An explicit TTL above the max (24 h) is clamped to it.
    let _: String = redis::cmd("CACHE.PSETEX")
        .arg("UserCache")
        .arg(7 * 24 * 3600 * 1000_i64)
        .arg(ADA)
        .arg("u1")
        .query(&mut con)?;
    let t = ttl(&mut con, "UserCache", "u1")?;
    assert!(
        t > 23 * 3600 * 1000 && t <= 24 * 3600 * 1000,
        "clamped ttl {t}"
    );

    // UserPermissions is sliding: a read pushes the expiry back to the full TTL.
    let perms = r#"{"userId":"u1","roles":["r"]}"#;
    let _: String = redis::cmd("CACHE.PSETEX")
        .arg("UserPermissions")
        .arg(300)
        .arg(perms)
        .arg("u1")
        .query(&mut con)?;
    std::thread::sleep(std::time::Duration::from_millis(150));
    let before = ttl(&mut con, "UserPermissions", "u1")?;
    assert!(before <= 150, "time passed: {before}");
    let hit: Option<String> = redis::cmd("CACHE.GET")
        .arg("UserPermissions")
        .arg("u1")
        .query(&mut con)?;
    assert!(hit.is_some());
    let after = ttl(&mut con, "UserPermissions", "u1")?;
    assert!(
        after > 200,
        "a read must slide the expiry: {before} -> {after}"
    );
    Ok(())
}

#[test]
fn expired_entries_are_reclaimed_without_being_read() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.client()?;
    for i in 0..20 {
        let _: String = redis::cmd("CACHE.PSETEX")
            .arg("UserPermissions")
            .arg(100)
            .arg(r#"{"userId":"u","roles":[]}"#)
            .arg(format!("u{i}"))
            .query(&mut con)?;
    }
    assert_eq!(int(&info(&mut con, "UserPermissions")?, "items"), 20);
    // No reads: only the background sweep can bring the count down.
    let swept = eventually(Duration::from_secs(5), || {
        Ok(int(&info(&mut con, "UserPermissions")?, "items") == 0)
    })?;
    assert!(
        swept,
        "the background sweep never reclaimed expired entries"
    );
    let stats = info(&mut con, "UserPermissions")?;
    assert_eq!(int(&stats, "expirations"), 20);
    assert_eq!(
        int(&stats, "hits") + int(&stats, "misses"),
        0,
        "nothing was read"
    );
    Ok(())
}
