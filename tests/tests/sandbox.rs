//! Misbehaving plugins: each fault answers the client with a clear error in
//! bounded time, the instance is replaced, and every other cache keeps serving.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use hoard_tests::{Server, ServerOptions, error_code, plugin_dir};
use redis::Value;

const FIXTURES: &[&str] = &[
    "user_cache",
    "fixture_spin",
    "fixture_memory_bomb",
    "fixture_trap",
    "fixture_huge_output",
    "fixture_stack_overflow",
    "fixture_bad_import",
    "fixture_wrong_world",
    "fixture_spin_describe",
    "fixture_sleep",
];

fn start() -> Result<(Server, tempfile::TempDir)> {
    let dir = plugin_dir(FIXTURES)?;
    let server = Server::start_with(ServerOptions {
        plugins: Some(dir.path().to_path_buf()),
        config: Some(
            "[plugin]\ncall_timeout_ms = 200\nmemory_bytes = 33554432\nquarantine_after_faults = 100\nwasi = \"inert\"\n"
                .into(),
        ),
        ..Default::default()
    })?;
    Ok((server, dir))
}

/// Runs CACHE.KEY and returns the error, checking it came back in bounded time.
fn key_error(con: &mut redis::Connection, cache: &str, part: &str) -> Result<redis::RedisError> {
    let started = Instant::now();
    let result = redis::cmd("CACHE.KEY")
        .arg(cache)
        .arg(part)
        .query::<String>(con);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "{cache} {part} took {took:?}"
    );
    match result {
        Ok(key) => panic!("{cache} {part} should have failed, got key {key}"),
        Err(e) => Ok(e),
    }
}

/// An integer field of `CACHE.INFO <cache>`.
fn info_int(con: &mut redis::Connection, cache: &str, field: &str) -> Result<i64> {
    let info: HashMap<String, Value> = redis::cmd("CACHE.INFO").arg(cache).query(con)?;
    Ok(match info.get(field) {
        Some(Value::Int(n)) => *n,
        other => panic!("{field} missing: {other:?}"),
    })
}

fn faults(con: &mut redis::Connection, cache: &str) -> Result<i64> {
    info_int(con, cache, "plugin-faults")
}

/// After a fault the same cache must still answer normal calls.
fn still_serves(con: &mut redis::Connection, cache: &str, prefix: &str) -> Result<()> {
    let key: String = redis::cmd("CACHE.KEY").arg(cache).arg("fine").query(con)?;
    assert_eq!(key, format!("{prefix}:fine"));
    Ok(())
}

#[test]
fn a_spinning_plugin_times_out_and_the_server_keeps_serving() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.client()?;
    let err = key_error(&mut con, "SpinCache", "spin")?;
    assert_eq!(error_code(&err), "PLUGIN");
    assert!(err.to_string().contains("timed out"), "{err}");
    still_serves(&mut con, "SpinCache", "SpinCache")?;
    assert_eq!(faults(&mut con, "SpinCache")?, 1);
    let key: String = redis::cmd("CACHE.KEY")
        .arg("UserCache")
        .arg("u1")
        .query(&mut con)?;
    assert_eq!(key, "User:u1");
    // A spinning validate and a spinning on-event are bounded too.
    let err = redis::cmd("CACHE.SET")
        .arg("SpinCache")
        .arg("\"spin\"")
        .arg("x")
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    let reply: HashMap<String, Value> = redis::cmd("CACHE.EVENT")
        .arg("Spin")
        .arg("{}")
        .query(&mut con)?;
    assert_eq!(
        reply.get("outcome"),
        Some(&Value::BulkString(b"partially-invalidated".to_vec()))
    );
    Ok(())
}

#[test]
fn a_memory_bomb_hits_its_limit() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.client()?;
    let err = key_error(&mut con, "MemoryBombCache", "bomb")?;
    assert_eq!(error_code(&err), "PLUGIN");
    assert!(err.to_string().contains("memory limit"), "{err}");
    still_serves(&mut con, "MemoryBombCache", "MemoryBombCache")?;
    Ok(())
}

fn instantiations(con: &mut redis::Connection, cache: &str) -> Result<i64> {
    info_int(con, cache, "plugin-instantiations")
}

#[test]
fn after_warm_up_only_a_faulted_call_instantiates() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.client()?;
    let warm = instantiations(&mut con, "TrapCache")?;
    assert!(warm >= 1, "the pool is filled at load");
    for _ in 0..50 {
        still_serves(&mut con, "TrapCache", "TrapCache")?;
    }
    assert_eq!(instantiations(&mut con, "TrapCache")?, warm);
    // The trapping call replaces its own instance before it answers, so the
    // healthy requests after it find a ready one.
    key_error(&mut con, "TrapCache", "trap")?;
    assert_eq!(instantiations(&mut con, "TrapCache")?, warm + 1);
    for _ in 0..50 {
        still_serves(&mut con, "TrapCache", "TrapCache")?;
    }
    assert_eq!(instantiations(&mut con, "TrapCache")?, warm + 1);
    Ok(())
}

#[test]
fn traps_panics_and_stack_overflows_are_contained() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.client()?;
    for part in ["trap", "unreachable"] {
        let err = key_error(&mut con, "TrapCache", part)?;
        assert_eq!(error_code(&err), "PLUGIN");
        assert!(err.to_string().contains("trapped"), "{err}");
        still_serves(&mut con, "TrapCache", "TrapCache")?;
    }
    let err = redis::cmd("CACHE.SET")
        .arg("TrapCache")
        .arg("\"trap\"")
        .arg("x")
        .query::<()>(&mut con)
        .unwrap_err();
    assert_eq!(error_code(&err), "PLUGIN");
    assert_eq!(faults(&mut con, "TrapCache")?, 3);

    let err = key_error(&mut con, "StackOverflowCache", "deep")?;
    assert_eq!(error_code(&err), "PLUGIN");
    assert!(err.to_string().contains("stack"), "{err}");
    still_serves(&mut con, "StackOverflowCache", "StackOverflowCache")?;
    Ok(())
}

#[test]
fn huge_outputs_are_cut_off() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.client()?;
    // 1 MiB + 1 byte: over the output cap, well under the memory cap.
    let err = key_error(&mut con, "HugeOutputCache", "many")?;
    assert_eq!(error_code(&err), "PLUGIN");
    assert!(err.to_string().contains("returned more than"), "{err}");
    // 64 MiB: the guest cannot even build it under its memory cap.
    let err = key_error(&mut con, "HugeOutputCache", "huge")?;
    assert_eq!(error_code(&err), "PLUGIN");
    still_serves(&mut con, "HugeOutputCache", "HugeOutputCache")?;
    let reply: HashMap<String, Value> = redis::cmd("CACHE.EVENT")
        .arg("Huge")
        .arg("{}")
        .query(&mut con)?;
    assert_eq!(
        reply.get("outcome"),
        Some(&Value::BulkString(b"partially-invalidated".to_vec())),
        "{reply:?}"
    );
    Ok(())
}

#[test]
fn under_the_inert_policy_file_imports_load_but_reach_no_file() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.client()?;
    let list: HashMap<String, String> = redis::cmd("CACHE.LIST").query(&mut con)?;
    assert!(list.contains_key("BadImportCache"), "{list:?}");
    // The plugin tries std::fs::read("/etc/passwd"): there is no preopened
    // directory, so the read fails inside the guest and nothing leaks.
    let err = redis::cmd("CACHE.KEY")
        .arg("BadImportCache")
        .arg("passwd")
        .query::<String>(&mut con)
        .unwrap_err();
    assert_eq!(error_code(&err), "BADKEY", "{err}");
    assert!(!err.to_string().contains("root:"), "{err}");
    still_serves(&mut con, "BadImportCache", "BadImportCache")?;
    // A component of another world is refused, naming the mismatch.
    assert!(!list.contains_key("WrongWorldCache"), "{list:?}");
    let log = server.log();
    assert!(log.contains("fixture_wrong_world.wasm"), "{log}");
    assert!(
        log.contains("does not implement the hoard:definition@0.1.0"),
        "{log}"
    );
    Ok(())
}

#[test]
fn the_default_policy_refuses_file_imports_at_load_naming_them() -> Result<()> {
    let dir = plugin_dir(&["user_cache", "fixture_bad_import", "fixture_sleep"])?;
    let server = Server::start_with(ServerOptions {
        plugins: Some(dir.path().to_path_buf()),
        ..Default::default()
    })?;
    let mut con = server.client()?;
    let list: HashMap<String, String> = redis::cmd("CACHE.LIST").query(&mut con)?;
    assert!(!list.contains_key("BadImportCache"), "{list:?}");
    assert!(list.contains_key("UserCache"));
    let log = server.log();
    assert!(log.contains("fixture_bad_import.wasm"), "{log}");
    assert!(log.contains("wasi:filesystem"), "{log}");
    // Sleeping needs wasi:clocks, which only the inert policy links.
    assert!(!list.contains_key("SleepCache"), "{list:?}");
    assert!(log.contains("wasi:clocks/monotonic-clock"), "{log}");
    Ok(())
}

#[test]
fn a_sleep_past_the_budget_is_a_timeout_and_a_short_one_is_fine() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.client()?;
    // An hour's sleep inside a WASI host call, where epoch interruption
    // cannot reach: the host refuses a wait longer than the budget left.
    let err = key_error(&mut con, "SleepCache", "sleep")?;
    assert_eq!(error_code(&err), "PLUGIN", "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    let key: String = redis::cmd("CACHE.KEY")
        .arg("SleepCache")
        .arg("nap")
        .query(&mut con)?;
    assert_eq!(key, "SleepCache:nap");
    still_serves(&mut con, "SleepCache", "SleepCache")?;
    still_serves(&mut con, "UserCache", "User")?;
    Ok(())
}

#[test]
fn files_that_are_not_plugins_are_refused() -> Result<()> {
    let dir = plugin_dir(&["user_cache"])?;
    std::fs::write(dir.path().join("garbage.wasm"), b"definitely not wasm")?;
    // A core module (the smallest valid one), not a component.
    std::fs::write(dir.path().join("core.wasm"), b"\0asm\x01\0\0\0")?;
    let server = Server::start_with(ServerOptions {
        plugins: Some(dir.path().to_path_buf()),
        ..Default::default()
    })?;
    let mut con = server.client()?;
    let list: HashMap<String, String> = redis::cmd("CACHE.LIST").query(&mut con)?;
    assert_eq!(list.len(), 1, "{list:?}");
    let log = server.log();
    assert!(log.contains("garbage.wasm"), "{log}");
    assert!(log.contains("core WebAssembly module"), "{log}");
    Ok(())
}

#[test]
fn other_clients_are_served_while_a_plugin_spins() -> Result<()> {
    let (server, _dir) = start()?;
    let port = server.port;
    let spinner = std::thread::spawn(move || -> Result<()> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))?;
        let mut con = client.get_connection()?;
        for _ in 0..5 {
            let _ = redis::cmd("CACHE.KEY")
                .arg("SpinCache")
                .arg("spin")
                .query::<String>(&mut con);
        }
        Ok(())
    });
    let mut con = server.client()?;
    for i in 0..200 {
        let key: String = redis::cmd("CACHE.KEY")
            .arg("UserCache")
            .arg(format!("u{i}"))
            .query(&mut con)?;
        assert_eq!(key, format!("User:u{i}"));
    }
    spinner
        .join()
        .map_err(|_| anyhow::anyhow!("spinner panicked"))??;
    assert_eq!(faults(&mut con, "SpinCache")?, 5);
    Ok(())
}

#[test]
fn repeated_faults_quarantine_a_plugin_until_the_cooldown_passes() -> Result<()> {
    let dir = plugin_dir(&["user_cache", "fixture_trap"])?;
    let server = Server::start_with(ServerOptions {
        plugins: Some(dir.path().to_path_buf()),
        config: Some("[plugin]\nquarantine_after_faults = 3\nquarantine_ms = 400\n".into()),
        ..Default::default()
    })?;
    let mut con = server.client()?;
    for _ in 0..3 {
        let err = key_error(&mut con, "TrapCache", "trap")?;
        assert!(err.to_string().contains("trapped"), "{err}");
    }
    // Even a good call is refused now, without running the plugin.
    let err = key_error(&mut con, "TrapCache", "fine")?;
    assert_eq!(error_code(&err), "PLUGIN");
    assert!(err.to_string().contains("quarantined"), "{err}");
    assert_eq!(faults(&mut con, "TrapCache")?, 3, "refusals are not calls");
    let info: HashMap<String, Value> = redis::cmd("CACHE.INFO").arg("TrapCache").query(&mut con)?;
    assert_eq!(
        info.get("plugin-state"),
        Some(&Value::BulkString(b"quarantined".to_vec()))
    );
    // Other definitions are not affected.
    let key: String = redis::cmd("CACHE.KEY")
        .arg("UserCache")
        .arg("u1")
        .query(&mut con)?;
    assert_eq!(key, "User:u1");
    // After the cool-down one probe goes through, succeeds, and closes the breaker.
    let recovered = hoard_tests::eventually(Duration::from_secs(5), || {
        Ok(redis::cmd("CACHE.KEY")
            .arg("TrapCache")
            .arg("fine")
            .query::<String>(&mut con)
            .is_ok())
    })?;
    assert!(recovered, "the breaker never let a probe through");
    still_serves(&mut con, "TrapCache", "TrapCache")?;
    Ok(())
}
