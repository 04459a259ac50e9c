//! Every CACHE.* command through the bundled example definitions.

use std::time::Duration;

use anyhow::Result;
use hoard_tests::{Server, error_code, eventually};

const ADA: &str = r#"{"id":"u1","email":"ada@example.com","name":"Ada","createdAt":"2026-01-01T00:00:00Z","version":2}"#;

#[test]
fn list_and_info_show_the_bundled_definitions() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    let list = con.cache_list()?;
    assert_eq!(
        list.get("UserCache").map(String::as_str),
        Some("user-cache@1.0.0")
    );
    assert_eq!(
        list.get("UserPermissions").map(String::as_str),
        Some("user-permissions@1.0.0")
    );
    let user = con.cache_info("UserCache")?;
    assert_eq!(user.id, "user-cache@1.0.0");
    assert_eq!(user.default_ttl_ms, 30 * 60 * 1000);
    assert_eq!(user.max_items, 10_000);
    let err = con.cache_info("Nope").unwrap_err();
    assert_eq!(error_code(&err), "NOCACHE");
    Ok(())
}

#[test]
fn set_get_key_del_round_trip() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    assert_eq!(con.cache_key("UserCache", &["u1"])?, "User:u1");
    assert_eq!(con.cache_key("UserCache", &["u1", "2"])?, "User:u1:v2");

    assert_eq!(con.cache_get("UserCache", &["u1"])?, None);
    con.cache_set("UserCache", ADA, &["u1"])?;
    let hit = con
        .cache_get("UserCache", &["u1"])?
        .ok_or_else(|| anyhow::anyhow!("miss after CACHE.SET"))?;
    let got: serde_json::Value = serde_json::from_str(&hit)?;
    let want: serde_json::Value = serde_json::from_str(ADA)?;
    assert_eq!(got, want);
    assert_eq!(
        hit, ADA,
        "JSON comes back byte for byte, keys in their order"
    );

    assert_eq!(con.cache_del("UserCache", &["u1"])?, 1);
    assert_eq!(con.cache_del("UserCache", &["u1"])?, 0);
    let stats = con.cache_info("UserCache")?;
    assert_eq!(stats.hits, 1);
    assert!(stats.misses >= 1);
    assert_eq!(stats.sets, 1);
    Ok(())
}

#[test]
fn invalid_values_and_keys_are_refused_and_nothing_is_stored() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    let bad = r#"{"name":"NoId","email":"not-an-email","createdAt":"2999-01-01T00:00:00Z"}"#;
    let err = con.cache_set("UserCache", bad, &["u9"]).unwrap_err();
    assert_eq!(error_code(&err), "INVALID");
    let text = err.to_string();
    assert!(text.contains("id"), "{text}");
    assert!(text.contains("email"), "{text}");
    assert!(text.contains("future"), "{text}");
    assert_eq!(con.cache_get("UserCache", &["u9"])?, None);

    let err = con.cache_set("UserCache", "null", &["u9"]).unwrap_err();
    assert_eq!(error_code(&err), "INVALID");
    let err = con
        .cache_set("UserCache", "{not json", &["u9"])
        .unwrap_err();
    assert!(err.to_string().contains("invalid JSON"), "{err}");

    let err = con.cache_key("UserCache", &["a", "b", "c"]).unwrap_err();
    assert_eq!(error_code(&err), "BADKEY");
    let err = con.cache_key("UserCache", &["u*"]).unwrap_err();
    assert_eq!(error_code(&err), "BADKEY");
    let err = con.cache_get("NoSuchCache", &["x"]).unwrap_err();
    assert_eq!(error_code(&err), "NOCACHE");
    let err = con.cache_get("UserCache", &[]).unwrap_err();
    assert!(
        err.to_string().contains("wrong number of arguments"),
        "{err}"
    );

    let stats = con.cache_info("UserCache")?;
    assert_eq!(stats.rejects, 2);
    assert_eq!(stats.items, 0);
    Ok(())
}

#[test]
fn null_is_cached_where_the_definition_allows_it() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    con.cache_set("UserPermissions", "null", &["u1"])?;
    let hit = con.cache_get("UserPermissions", &["u1"])?;
    assert_eq!(
        hit.as_deref(),
        Some("null"),
        "a cached null is a hit, not a miss"
    );
    Ok(())
}

/// Wiring only: a short real TTL reaches the server's clock. Expiry rules
/// themselves are tested in-process on the controllable clock.
#[test]
fn psetex_entries_expire() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    con.cache_psetex("UserCache", 150, ADA, &["u1"])?;
    assert!(con.cache_has("UserCache", &["u1"])?);
    let gone = eventually(Duration::from_secs(5), || {
        Ok(!con.cache_has("UserCache", &["u1"])?)
    })?;
    assert!(gone, "CACHE.PSETEX 150 never expired");
    assert!(con.cache_info("UserCache")?.expirations >= 1);
    Ok(())
}

#[test]
fn large_values_are_compressed_and_encrypted_and_round_trip() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    let long_name = "Ada Lovelace ".repeat(400);
    let value = serde_json::json!({"id":"u2","email":"ada@example.com","name": long_name});
    let text = value.to_string();
    assert!(text.len() > 5000);
    con.cache_set("UserCache", &text, &["u2"])?;
    let back = con
        .cache_get("UserCache", &["u2"])?
        .ok_or_else(|| anyhow::anyhow!("miss after CACHE.SET"))?;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&back)?, value);
    let stats = con.cache_info("UserCache")?;
    assert!(
        stats.bytes < 1500,
        "a 5 KB repetitive value should be stored compressed, got {} bytes",
        stats.bytes
    );
    assert!(stats.fields.flag("encrypt")?);
    Ok(())
}

#[test]
fn msgpack_format_skips_json() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    con.cache_format("MSGPACK")?;
    // {"id":"u3","email":"c@d.io"} as MessagePack.
    let mut packed = vec![0x82, 0xa2, b'i', b'd', 0xa2, b'u', b'3', 0xa5];
    packed.extend_from_slice(b"email");
    packed.push(0xa6);
    packed.extend_from_slice(b"c@d.io");
    con.cache_set("UserCache", &packed, &["u3"])?;
    assert_eq!(con.cache_get_bytes("UserCache", &["u3"])?, Some(packed));
    let err = con
        .cache_set("UserCache", &[0xc1u8][..], &["u3"])
        .unwrap_err();
    assert!(err.to_string().contains("MessagePack"), "{err}");
    Ok(())
}

#[test]
fn definition_caches_evict_at_max_items() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    let mut pipe = redis::pipe();
    for i in 0..10_500 {
        let v = format!(r#"{{"id":"u{i}","email":"u{i}@example.com"}}"#);
        pipe.cmd("CACHE.SET")
            .arg("UserCache")
            .arg(v)
            .arg(format!("u{i}"))
            .ignore();
    }
    let _: () = pipe.query(con.con())?;
    let stats = con.cache_info("UserCache")?;
    assert!(stats.items <= 10_000, "items {}", stats.items);
    assert!(stats.evictions >= 500);
    assert!(
        con.cache_has("UserCache", &["u10499"])?,
        "the newest entry must survive eviction"
    );
    Ok(())
}

#[test]
fn ttls_are_defaulted_clamped_and_sliding_where_declared() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    assert_eq!(con.cache_ttl("UserCache", &["nobody"])?, -2);
    // Default TTL: 30 minutes.
    con.cache_set("UserCache", ADA, &["u1"])?;
    let t = con.cache_ttl("UserCache", &["u1"])?;
    assert!(t > 29 * 60 * 1000 && t <= 30 * 60 * 1000, "default ttl {t}");
    // An explicit TTL above the max (24 h) is clamped to it.
    con.cache_psetex("UserCache", 7 * 24 * 3600 * 1000, ADA, &["u1"])?;
    let t = con.cache_ttl("UserCache", &["u1"])?;
    assert!(
        t > 23 * 3600 * 1000 && t <= 24 * 3600 * 1000,
        "clamped ttl {t}"
    );

    // UserPermissions is sliding: a read pushes the expiry back to the full
    // TTL. Wait (on the TTL the server reports, not a fixed sleep) until
    // half of it has passed, then read.
    let perms = r#"{"userId":"u1","roles":["r"]}"#;
    con.cache_psetex("UserPermissions", 1000, perms, &["u1"])?;
    let mut before = 0;
    let aged = eventually(Duration::from_secs(5), || {
        before = con.cache_ttl("UserPermissions", &["u1"])?;
        Ok(before <= 500)
    })?;
    assert!(aged, "the TTL never went down: {before}");
    assert!(before > 0, "expired before the read: {before}");
    assert!(con.cache_has("UserPermissions", &["u1"])?);
    let after = con.cache_ttl("UserPermissions", &["u1"])?;
    assert!(
        after > 700,
        "a read must slide the expiry: {before} -> {after}"
    );
    Ok(())
}

#[test]
fn expired_entries_are_reclaimed_without_being_read() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    for i in 0..20 {
        con.cache_psetex(
            "UserPermissions",
            100,
            r#"{"userId":"u","roles":[]}"#,
            &[&format!("u{i}")],
        )?;
    }
    assert_eq!(con.cache_info("UserPermissions")?.items, 20);
    // No reads: only the background sweep can bring the count down.
    let swept = eventually(Duration::from_secs(5), || {
        Ok(con.cache_info("UserPermissions")?.items == 0)
    })?;
    assert!(
        swept,
        "the background sweep never reclaimed expired entries"
    );
    let stats = con.cache_info("UserPermissions")?;
    assert_eq!(stats.expirations, 20);
    assert_eq!(stats.hits + stats.misses, 0, "nothing was read");
    Ok(())
}
