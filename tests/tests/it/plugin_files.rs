//! Plugin files are opened once, checked on what was opened, and confined to the tenant's
//! directory; a cache name belongs to the id that holds it. Two real tenants on one real
//! server: `acme` holds `UserPermissions`, `globex` tries to get it through symlinks (at
//! start-up, through `PLUGIN.LOAD`, `PLUGIN.RELOAD`, the watcher, and a file flipped between
//! a component and a symlink while it is loaded); a squatter component claims `UserCache`.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use hoard_tests::{Server, ServerOptions, eventually, plugin_artifact, plugin_dir};
use redis::Value;

fn sha256(text: &str) -> Result<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    if let Some(stdin) = child.stdin.as_mut() {
        stdin.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned())
}

struct Tenants {
    server: Server,
    acme: tempfile::TempDir,
    globex: tempfile::TempDir,
}

/// `acme` holds UserCache and UserPermissions; `globex` UserCache, plus `stolen.wasm`, a
/// symlink to acme's UserPermissions, present from start-up.
fn start() -> Result<Tenants> {
    let acme = plugin_dir(&["user_cache", "user_permissions"])?;
    let globex = plugin_dir(&["user_cache"])?;
    std::os::unix::fs::symlink(
        acme.path().join("user_permissions.wasm"),
        globex.path().join("stolen.wasm"),
    )?;
    let config = format!(
        r#"
[[tenants]]
name = "acme"
password_sha256 = "{}"
plugins = "{}"

[[tenants]]
name = "globex"
password_sha256 = "{}"
plugins = "{}"
"#,
        sha256("acme-pw")?,
        acme.path().display(),
        sha256("globex-pw")?,
        globex.path().display(),
    );
    let server = Server::start_with(ServerOptions {
        config: Some(config),
        ..Default::default()
    })?;
    Ok(Tenants {
        server,
        acme,
        globex,
    })
}

fn login(server: &Server, tenant: &str) -> Result<redis::Connection> {
    let mut con = server.client()?;
    let _: String = redis::cmd("AUTH")
        .arg(tenant)
        .arg(format!("{tenant}-pw"))
        .query(&mut con)?;
    Ok(con)
}

fn cache_names(con: &mut redis::Connection) -> Result<Vec<String>> {
    let list: Value = redis::cmd("CACHE.LIST").query(con)?;
    let text = format!("{list:?}");
    Ok(["UserCache", "UserPermissions", "EventBomb"]
        .iter()
        .filter(|n| text.contains(*n))
        .map(|n| (*n).to_owned())
        .collect())
}

fn load(con: &mut redis::Connection, path: &Path, replace: bool) -> redis::RedisResult<Value> {
    let mut cmd = redis::cmd("PLUGIN.LOAD");
    cmd.arg(path.to_string_lossy().as_ref());
    if replace {
        cmd.arg("REPLACE");
    }
    cmd.query(con)
}

#[test]
fn a_symlink_to_another_tenants_plugin_is_never_followed() -> Result<()> {
    let t = start()?;
    let mut globex = login(&t.server, "globex")?;
    // Start-up: refused and said why.
    assert_eq!(cache_names(&mut globex)?, vec!["UserCache".to_owned()]);
    assert!(
        t.server.log().contains("outside the plugin directory"),
        "{}",
        t.server.log()
    );
    // PLUGIN.LOAD of the symlink: refused.
    let stolen = t.globex.path().join("stolen.wasm");
    let err = load(&mut globex, &stolen, false).unwrap_err();
    assert!(
        err.to_string().contains("outside the plugin directory"),
        "{err}"
    );
    // PLUGIN.RELOAD after the genuine file became a symlink to acme's: refused, old serves.
    // Renamed over the genuine file, so the watcher never sees the name missing.
    let own = t.globex.path().join("user_cache.wasm");
    let tmp = t.globex.path().join("swap.tmp");
    std::os::unix::fs::symlink(t.acme.path().join("user_permissions.wasm"), &tmp)?;
    std::fs::rename(&tmp, &own)?;
    let err = redis::cmd("PLUGIN.RELOAD")
        .arg("UserCache")
        .query::<Value>(&mut globex)
        .unwrap_err();
    assert!(
        err.to_string().contains("outside the plugin directory"),
        "{err}"
    );
    assert_eq!(cache_names(&mut globex)?, vec!["UserCache".to_owned()]);
    // The watcher saw the same change: refused too, and UserPermissions never appears.
    assert!(eventually(Duration::from_secs(10), || {
        Ok(t.server
            .log()
            .matches("outside the plugin directory")
            .count()
            >= 2)
    })?);
    assert_eq!(cache_names(&mut globex)?, vec!["UserCache".to_owned()]);
    // A path outside the directory (even through `..`) is NOPERM, as before.
    let acme_name = t.acme.path().file_name().unwrap_or_default();
    let sideways = t
        .globex
        .path()
        .join("..")
        .join(acme_name)
        .join("user_permissions.wasm");
    let err = load(&mut globex, &sideways, false).unwrap_err();
    assert_eq!(hoard_tests::error_code(&err), "NOPERM", "{err}");
    Ok(())
}

#[test]
fn a_file_flipped_between_component_and_symlink_never_loads_the_other_tenants_plugin() -> Result<()>
{
    let t = start()?;
    let mut globex = login(&t.server, "globex")?;
    let flip = t.globex.path().join("flip.wasm");
    let genuine = plugin_artifact("user_cache");
    let foreign = t.acme.path().join("user_permissions.wasm");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let (stop, dir, flip) = (stop.clone(), t.globex.path().to_owned(), flip.clone());
        std::thread::spawn(move || -> Result<u64> {
            let mut flips = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Renames are atomic: the name is always either a component or a symlink.
                let tmp = dir.join(".flip.tmp");
                let _ = std::fs::remove_file(&tmp);
                if flips.is_multiple_of(2) {
                    std::os::unix::fs::symlink(&foreign, &tmp)?;
                } else {
                    std::fs::copy(&genuine, &tmp)?;
                }
                std::fs::rename(&tmp, &flip)?;
                flips += 1;
            }
            Ok(flips)
        })
    };
    let mut loaded = 0;
    let mut refused = 0;
    for _ in 0..100 {
        match load(&mut globex, &flip, false) {
            Ok(reply) => {
                assert!(format!("{reply:?}").contains("UserCache"), "{reply:?}");
                loaded += 1;
            }
            Err(err) => {
                let text = err.to_string();
                assert!(
                    text.contains("outside the plugin directory")
                        || text.contains("No such file")
                        || text.contains("cannot read"),
                    "{text}"
                );
                refused += 1;
            }
        }
        assert!(
            !cache_names(&mut globex)?.contains(&"UserPermissions".to_owned()),
            "globex got acme's plugin"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let flips = flipper
        .join()
        .map_err(|_| anyhow::anyhow!("flipper panicked"))??;
    assert!(flips >= 2, "the file flipped while loading ({flips} flips)");
    assert_eq!(loaded + refused, 100);
    assert!(refused > 0, "some loads met the symlink");
    Ok(())
}

#[test]
fn a_name_belongs_to_the_id_that_holds_it() -> Result<()> {
    let dir = plugin_dir(&["user_cache"])?;
    let server = Server::start_with(ServerOptions {
        plugins: Some(dir.path().to_owned()),
        config: Some(format!(
            "[admin]\npassword_sha256 = \"{}\"\n",
            hoard_tests::ADMIN_PASSWORD_SHA256
        )),
        ..Default::default()
    })?;
    let mut con = server.client()?;
    let _: String = redis::cmd("AUTH")
        .arg("admin")
        .arg(hoard_tests::ADMIN_PASSWORD)
        .query(&mut con)?;
    let _: String = redis::cmd("CACHE.SET")
        .arg("UserCache")
        .arg(r#"{"id":"1","email":"a@example.com"}"#)
        .arg("1")
        .query(&mut con)?;
    // PLUGIN.LOAD: refused with the reason, the genuine cache and its entry stay.
    let squatter = plugin_artifact("fixture_name_squatter");
    let err = load(&mut con, &squatter, false).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("belongs to id \"user-cache\""), "{text}");
    assert!(text.contains("fixture-name-squatter"), "{text}");
    // The watcher: refused and logged, nothing replaced.
    std::fs::copy(&squatter, dir.path().join("squatter.wasm"))?;
    assert!(eventually(Duration::from_secs(10), || {
        Ok(server
            .log()
            .contains("squatter.wasm declares id \"fixture-name-squatter\""))
    })?);
    let got: Option<String> = redis::cmd("CACHE.GET")
        .arg("UserCache")
        .arg("1")
        .query(&mut con)?;
    assert!(got.is_some(), "the genuine cache kept its entry");
    // The administrator's explicit REPLACE does replace it.
    let reply = load(&mut con, &squatter, true)?;
    assert!(
        format!("{reply:?}").contains("fixture-name-squatter"),
        "{reply:?}"
    );
    Ok(())
}

#[test]
fn at_start_up_neither_claimant_of_a_name_wins_by_sort_order() -> Result<()> {
    let dir = plugin_dir(&["user_cache", "fixture_name_squatter", "user_permissions"])?;
    let server = Server::start_with(ServerOptions {
        plugins: Some(dir.path().to_owned()),
        ..Default::default()
    })?;
    let mut con = server.client()?;
    assert_eq!(cache_names(&mut con)?, vec!["UserPermissions".to_owned()]);
    let log = server.log();
    let refusals: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("declared by different ids"))
        .collect();
    assert_eq!(refusals.len(), 2, "{log}");
    for line in refusals {
        assert!(
            line.contains("user_cache.wasm") && line.contains("fixture_name_squatter.wasm"),
            "{line}"
        );
    }
    Ok(())
}
