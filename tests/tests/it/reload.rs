//! Hot reload: PLUGIN.* admin commands, the directory watcher, the rule for
//! keeping or dropping entries across versions, and reloads under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use hoard_tests::{
    ADMIN_PASSWORD, ADMIN_PASSWORD_SHA256, Client, Server, ServerOptions, error_code, eventually,
    plugin_artifact, plugin_dir,
};

fn admin_config(watch: bool) -> String {
    format!("watch_plugins = {watch}\n[admin]\npassword_sha256 = \"{ADMIN_PASSWORD_SHA256}\"\n")
}

fn start(watch: bool) -> Result<(Server, tempfile::TempDir)> {
    let dir = plugin_dir(&["user_cache", "fixture_reload_v1"])?;
    let server = Server::start_with(ServerOptions {
        plugins: Some(dir.path().to_path_buf()),
        config: Some(admin_config(watch)),
        ..Default::default()
    })?;
    Ok((server, dir))
}

fn admin(server: &Server) -> Result<Client> {
    server.login("admin", ADMIN_PASSWORD)
}

fn version(con: &mut Client) -> Result<String> {
    Ok(con.cache_info("ReloadCache")?.version)
}

#[test]
fn plugin_commands_need_the_admin() -> Result<()> {
    let server = Server::start()?;
    let mut con = server.connect()?;
    let err = con.plugin_list().unwrap_err();
    assert_eq!(error_code(&err), "NOPERM");
    assert!(err.to_string().contains("disabled"), "{err}");

    let (server, _dir) = start(false)?;
    let mut con = server.connect()?;
    let err = con.plugin_list().unwrap_err();
    assert_eq!(error_code(&err), "NOPERM");
    let err = con.auth("admin", "wrong").unwrap_err();
    assert_eq!(error_code(&err), "WRONGPASS");
    let err = con.plugin_list().unwrap_err();
    assert_eq!(error_code(&err), "NOPERM");
    let mut con = admin(&server)?;
    let list = con.plugin_list()?;
    let reload = list
        .iter()
        .find(|row| row.cache == "ReloadCache")
        .ok_or_else(|| anyhow!("ReloadCache missing: {list:?}"))?;
    assert_eq!(reload.version, "1.0.0");
    assert_eq!(reload.state, "serving");
    assert_eq!(reload.sha256.len(), 64);
    Ok(())
}

#[test]
fn a_minor_version_with_a_new_size_copies_the_entries_into_a_new_table() -> Result<()> {
    let (server, _dir) = start(false)?;
    let mut con = admin(&server)?;
    for id in ["a", "b", "c"] {
        con.cache_psetex("ReloadCache", 600_000, format!("\"{id}\""), &[id])?;
    }
    // 1.2.0 keeps the keys but shrinks max-items from 1000 to 2: the table
    // cannot be shared, so every entry is copied into a new one, which
    // evicts down to its size.
    let reply = con.plugin_load(&plugin_artifact("fixture_reload_v1_2"))?;
    assert_eq!(reply.entries, "copied");
    assert_eq!(reply.entry_count, 3);
    let info = con.cache_info("ReloadCache")?;
    assert_eq!(info.max_items, 2);
    let items = info.items;
    assert!((1..=2).contains(&items), "{items} items after the copy");
    let mut survivors = 0;
    for id in ["a", "b", "c"] {
        if let Some(value) = con.cache_get("ReloadCache", &[id])? {
            assert_eq!(value, format!("\"{id}\""));
            // The copy keeps the entry's remaining time, not a fresh TTL.
            let ttl = con.cache_ttl("ReloadCache", &[id])?;
            assert!((1..=600_000).contains(&ttl), "{id}: ttl {ttl}");
            survivors += 1;
        }
    }
    assert_eq!(survivors, items);
    Ok(())
}

#[test]
fn minor_versions_keep_entries_major_versions_drop_them_broken_builds_change_nothing() -> Result<()>
{
    let (server, _dir) = start(false)?;
    let mut con = admin(&server)?;
    con.cache_set("ReloadCache", "\"v\"", &["a"])?;

    let reply = con.plugin_load(&plugin_artifact("fixture_reload_v1_1"))?;
    assert_eq!(reply.id, "fixture-reload@1.1.0");
    assert_eq!(reply.entries, "kept");
    assert_eq!(version(&mut con)?, "1.1.0");
    let kept = con.cache_get("ReloadCache", &["a"])?;
    assert_eq!(
        kept.as_deref(),
        Some("\"v\""),
        "a minor version keeps the entries"
    );

    // A broken build is refused; 1.1.0 keeps serving with its entries.
    let broken = tempfile::NamedTempFile::new()?;
    std::fs::write(broken.path(), b"\0asm\x0d\0\x01\0garbage")?;
    let err = con.plugin_load(broken.path()).unwrap_err();
    assert_eq!(error_code(&err), "PLUGIN");
    let err = con
        .plugin_load(&plugin_artifact("fixture_wrong_world"))
        .unwrap_err();
    assert!(err.to_string().contains("does not implement"), "{err}");
    assert_eq!(version(&mut con)?, "1.1.0");
    assert!(con.cache_has("ReloadCache", &["a"])?);

    // A major version is a new schema: entries are dropped, new keys apply.
    let reply = con.plugin_load(&plugin_artifact("fixture_reload_v2"))?;
    assert_eq!(reply.entries, "dropped");
    assert_eq!(version(&mut con)?, "2.0.0");
    assert_eq!(con.cache_key("ReloadCache", &["a"])?, "R2:a");
    assert_eq!(con.cache_get("ReloadCache", &["a"])?, None);

    con.plugin_unload("ReloadCache")?;
    let err = con.cache_get("ReloadCache", &["a"]).unwrap_err();
    assert_eq!(error_code(&err), "NOCACHE");
    Ok(())
}

#[test]
fn the_watcher_reloads_changed_files_and_unloads_deleted_ones() -> Result<()> {
    let (server, dir) = start(true)?;
    let mut con = server.connect()?;
    assert_eq!(version(&mut con)?, "1.0.0");
    let target = dir.path().join("fixture_reload_v1.wasm");
    // Replace atomically, as a deploy tool would.
    let staging = dir.path().join("staging.tmp");
    std::fs::copy(plugin_artifact("fixture_reload_v1_1"), &staging)?;
    std::fs::rename(&staging, &target)?;
    let reloaded = eventually(
        Duration::from_secs(10),
        || Ok(version(&mut con)? == "1.1.0"),
    )?;
    assert!(reloaded, "watcher never reloaded; log:\n{}", server.log());

    std::fs::remove_file(&target)?;
    let unloaded = eventually(Duration::from_secs(10), || {
        Ok(!con.cache_list()?.contains_key("ReloadCache"))
    })?;
    assert!(unloaded, "watcher never unloaded; log:\n{}", server.log());
    Ok(())
}

/// Several clients read and write without pause while the plugin is
/// reloaded 50 times, one reload in three to a broken build. Every client
/// request must succeed with the right answer, and every good reload must
/// take effect.
#[test]
fn fifty_reloads_under_load_lose_no_request() -> Result<()> {
    let (server, _dir) = start(false)?;
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for c in 0..4 {
        let mut con = server.connect()?;
        let stop = Arc::clone(&stop);
        let served = Arc::clone(&served);
        clients.push(std::thread::spawn(move || -> Result<()> {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let id = format!("c{c}-{}", i % 50);
                let value = format!("\"{i}\"");
                con.cache_set("ReloadCache", &value, &[&id])?;
                let got = con.cache_get("ReloadCache", &[&id])?;
                if got.as_deref() != Some(value.as_str()) {
                    return Err(anyhow!("GET {id} answered {got:?}, expected {value}"));
                }
                served.fetch_add(2, Ordering::Relaxed);
                i += 1;
            }
            Ok(())
        }));
    }

    let broken = tempfile::NamedTempFile::new()?;
    std::fs::write(broken.path(), b"not a component")?;
    let v1 = plugin_artifact("fixture_reload_v1");
    let v1_1 = plugin_artifact("fixture_reload_v1_1");
    let mut con = admin(&server)?;
    let mut latencies = Vec::new();
    let mut expected = "1.0.0";
    for round in 0..50 {
        let started = Instant::now();
        match round % 3 {
            0 => {
                let reply = con.plugin_load(&v1_1)?;
                assert_eq!(reply.entries, "kept");
                expected = "1.1.0";
            }
            1 => {
                let reply = con.plugin_load(&v1)?;
                assert_eq!(reply.entries, "kept");
                expected = "1.0.0";
            }
            _ => {
                let err = con.plugin_load(broken.path()).unwrap_err();
                assert_eq!(error_code(&err), "PLUGIN");
            }
        }
        latencies.push(started.elapsed());
        assert_eq!(
            version(&mut con)?,
            expected,
            "reload {round} did not take effect"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().map_err(|_| anyhow!("client panicked"))??;
    }
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    let p99 = latencies[latencies.len() * 99 / 100];
    println!(
        "reload latency (PLUGIN.LOAD to serving) p50 {p50:?} p99 {p99:?}; {} client requests served during 50 reloads",
        served.load(Ordering::Relaxed)
    );
    assert!(
        served.load(Ordering::Relaxed) > 100,
        "the clients barely ran"
    );
    Ok(())
}

/// Reload latency through the watcher: a new file atomically renamed into the
/// plugin directory, to the first request answered by the new version.
/// Includes the watcher's 100 ms debounce.
#[test]
fn watcher_reload_latency() -> Result<()> {
    let (server, dir) = start(true)?;
    let mut con = server.connect()?;
    let target = dir.path().join("fixture_reload_v1.wasm");
    let staging = dir.path().join("staging.tmp");
    let mut latencies = Vec::new();
    for round in 0..10 {
        let (artifact, want) = if round % 2 == 0 {
            ("fixture_reload_v1_1", "1.1.0")
        } else {
            ("fixture_reload_v1", "1.0.0")
        };
        std::fs::copy(plugin_artifact(artifact), &staging)?;
        let started = Instant::now();
        std::fs::rename(&staging, &target)?;
        loop {
            if version(&mut con)? == want {
                break;
            }
            if started.elapsed() > Duration::from_secs(10) {
                return Err(anyhow!(
                    "round {round}: {want} never served; log:\n{}",
                    server.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    let p99 = latencies[latencies.len() - 1];
    println!(
        "reload latency (file change to first request on the new version) p50 {p50:?} p99 {p99:?}"
    );
    Ok(())
}

#[test]
fn tracking_clients_hear_when_a_reload_or_unload_drops_a_caches_entries() -> Result<()> {
    use hoard_tests::raw::{RawClient, Reply};
    let (server, _dir) = start(false)?;
    let mut con = admin(&server)?;
    con.cache_psetex("ReloadCache", 600_000, "\"a\"", &["a"])?;
    let mut tracked = RawClient::connect(server.port)?;
    tracked.cmd_str(&["HELLO", "3"])?;
    tracked.cmd_str(&["CLIENT", "TRACKING", "ON"])?;
    assert_eq!(
        tracked.cmd_str(&["CACHE.GET", "ReloadCache", "a"])?,
        Reply::bulk("\"a\"")
    );
    // A minor version that shares the table keeps the entries: nothing to announce.
    assert_eq!(
        con.plugin_load(&plugin_artifact("fixture_reload_v1_1"))?
            .entries,
        "kept"
    );
    assert_eq!(tracked.cmd_str(&["PING"])?, Reply::Simple("PONG".into()));
    // Unloading drops them: Redis's flush form, a null key list.
    con.plugin_unload("ReloadCache")?;
    assert_eq!(
        tracked.read()?,
        Reply::Push(vec![Reply::bulk("invalidate"), Reply::Null])
    );
    Ok(())
}
