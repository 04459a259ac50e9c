//! Misbehaving plugins: each fault answers the client with a clear error in
//! bounded time, the instance is replaced, and every other cache keeps serving.

use std::time::{Duration, Instant};

use anyhow::Result;
use hoard_tests::{Client, Server, ServerOptions, error_code, plugin_dir};

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
fn key_error(con: &mut Client, cache: &str, part: &str) -> Result<redis::RedisError> {
    let started = Instant::now();
    let result = con.cache_key(cache, &[part]);
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

fn faults(con: &mut Client, cache: &str) -> Result<i64> {
    Ok(con.cache_info(cache)?.plugin_faults)
}

/// After a fault the same cache must still answer normal calls.
fn still_serves(con: &mut Client, cache: &str, prefix: &str) -> Result<()> {
    assert_eq!(con.cache_key(cache, &["fine"])?, format!("{prefix}:fine"));
    Ok(())
}

#[test]
fn a_spinning_plugin_times_out_and_the_server_keeps_serving() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.connect()?;
    let err = key_error(&mut con, "SpinCache", "spin")?;
    assert_eq!(error_code(&err), "PLUGIN");
    assert!(err.to_string().contains("timed out"), "{err}");
    still_serves(&mut con, "SpinCache", "SpinCache")?;
    assert_eq!(faults(&mut con, "SpinCache")?, 1);
    assert_eq!(con.cache_key("UserCache", &["u1"])?, "User:u1");
    // A spinning validate and a spinning on-event are bounded too.
    let err = con.cache_set("SpinCache", "\"spin\"", &["x"]).unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    let reply = con.cache_event("Spin", "{}")?;
    assert_eq!(reply.outcome, "partially-invalidated");
    Ok(())
}

#[test]
fn a_memory_bomb_hits_its_limit() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.connect()?;
    let err = key_error(&mut con, "MemoryBombCache", "bomb")?;
    assert_eq!(error_code(&err), "PLUGIN");
    assert!(err.to_string().contains("memory limit"), "{err}");
    still_serves(&mut con, "MemoryBombCache", "MemoryBombCache")?;
    Ok(())
}

/// A guest whose memory creeps up call after call (2 MiB kept per call,
/// 32 MiB limit) never costs a client an error: the instance is retired
/// once past three quarters of its limit, before a call can trap on it.
#[test]
fn an_instance_whose_memory_creeps_up_is_retired_before_it_traps() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.connect()?;
    // Without retirement the 16th or so call would hit the limit.
    for i in 0..40 {
        let key = format!("k{i}");
        con.cache_set("MemoryBombCache", "\"leak\"", &[key.as_str()])?;
    }
    let info = con.cache_info("MemoryBombCache")?;
    assert_eq!(info.plugin_faults, 0);
    let retired = info.fields.int("plugin-retired-instances")?;
    assert!((2..=4).contains(&retired), "retired {retired}");
    still_serves(&mut con, "MemoryBombCache", "MemoryBombCache")?;
    Ok(())
}

fn instantiations(con: &mut Client, cache: &str) -> Result<i64> {
    Ok(con.cache_info(cache)?.plugin_instantiations)
}

#[test]
fn after_warm_up_only_a_faulted_call_instantiates() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.connect()?;
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
    let mut con = server.connect()?;
    for part in ["trap", "unreachable"] {
        let err = key_error(&mut con, "TrapCache", part)?;
        assert_eq!(error_code(&err), "PLUGIN");
        assert!(err.to_string().contains("trapped"), "{err}");
        still_serves(&mut con, "TrapCache", "TrapCache")?;
    }
    let err = con.cache_set("TrapCache", "\"trap\"", &["x"]).unwrap_err();
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
    let mut con = server.connect()?;
    // 1 MiB + 1 byte: over the output cap, well under the memory cap.
    let err = key_error(&mut con, "HugeOutputCache", "many")?;
    assert_eq!(error_code(&err), "PLUGIN");
    assert!(err.to_string().contains("returned more than"), "{err}");
    // 64 MiB: the guest cannot even build it under its memory cap.
    let err = key_error(&mut con, "HugeOutputCache", "huge")?;
    assert_eq!(error_code(&err), "PLUGIN");
    still_serves(&mut con, "HugeOutputCache", "HugeOutputCache")?;
    let reply = con.cache_event("Huge", "{}")?;
    assert_eq!(reply.outcome, "partially-invalidated", "{reply:?}");
    Ok(())
}

#[test]
fn under_the_inert_policy_file_imports_load_but_reach_no_file() -> Result<()> {
    let (server, _dir) = start()?;
    let mut con = server.connect()?;
    let list = con.cache_list()?;
    assert!(list.contains_key("BadImportCache"), "{list:?}");
    // The plugin tries std::fs::read("/etc/passwd"): there is no preopened
    // directory, so the read fails inside the guest and nothing leaks.
    let err = con.cache_key("BadImportCache", &["passwd"]).unwrap_err();
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
    let mut con = server.connect()?;
    let list = con.cache_list()?;
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
    let mut con = server.connect()?;
    // An hour's sleep inside a WASI host call, where epoch interruption
    // cannot reach: the host refuses a wait longer than the budget left.
    let err = key_error(&mut con, "SleepCache", "sleep")?;
    assert_eq!(error_code(&err), "PLUGIN", "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert_eq!(con.cache_key("SleepCache", &["nap"])?, "SleepCache:nap");
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
    let mut con = server.connect()?;
    let list = con.cache_list()?;
    assert_eq!(list.len(), 1, "{list:?}");
    let log = server.log();
    assert!(log.contains("garbage.wasm"), "{log}");
    assert!(log.contains("core WebAssembly module"), "{log}");
    Ok(())
}

#[test]
fn other_clients_are_served_while_a_plugin_spins() -> Result<()> {
    let (server, _dir) = start()?;
    let mut spinning = server.connect()?;
    let spinner = std::thread::spawn(move || {
        for _ in 0..5 {
            let _ = spinning.cache_key("SpinCache", &["spin"]);
        }
    });
    let mut con = server.connect()?;
    for i in 0..200 {
        let key = con.cache_key("UserCache", &[&format!("u{i}")])?;
        assert_eq!(key, format!("User:u{i}"));
    }
    spinner
        .join()
        .map_err(|_| anyhow::anyhow!("spinner panicked"))?;
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
    let mut con = server.connect()?;
    for _ in 0..3 {
        let err = key_error(&mut con, "TrapCache", "trap")?;
        assert!(err.to_string().contains("trapped"), "{err}");
    }
    // Even a good call is refused now, without running the plugin.
    let err = key_error(&mut con, "TrapCache", "fine")?;
    assert_eq!(error_code(&err), "PLUGIN");
    assert!(err.to_string().contains("quarantined"), "{err}");
    assert_eq!(faults(&mut con, "TrapCache")?, 3, "refusals are not calls");
    let info = con.cache_info("TrapCache")?;
    assert_eq!(info.fields.text("plugin-state")?, "quarantined");
    // Other definitions are not affected.
    assert_eq!(con.cache_key("UserCache", &["u1"])?, "User:u1");
    // After the cool-down one probe goes through, succeeds, and closes the breaker.
    let recovered = hoard_tests::eventually(Duration::from_secs(5), || {
        Ok(con.cache_key("TrapCache", &["fine"]).is_ok())
    })?;
    assert!(recovered, "the breaker never let a probe through");
    still_serves(&mut con, "TrapCache", "TrapCache")?;
    Ok(())
}
