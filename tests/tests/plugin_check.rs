//! `hoard plugin check`: the server's load path as a command, with a report
//! and an exit code a build script can rely on.

use std::process::Command;

use anyhow::Result;
use hoard_tests::{hoard_bin, plugin_artifact};

fn check(name: &str) -> Result<(bool, String)> {
    check_with(name, &[])
}

fn check_with(name: &str, args: &[&std::ffi::OsStr]) -> Result<(bool, String)> {
    let output = Command::new(hoard_bin()?)
        .args(["plugin", "check"])
        .arg(plugin_artifact(name))
        .args(args)
        .env("HOARD_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((output.status.success(), text))
}

#[test]
fn a_good_plugin_gets_a_report_and_exit_zero() -> Result<()> {
    let (ok, text) = check("user_cache")?;
    assert!(ok, "{text}");
    assert!(text.contains("UserCache (user-cache@1.0.0)"), "{text}");
    assert!(text.contains("hoard:definition/host@0.1.0"), "{text}");
    assert!(text.contains("-> \"User:42\""), "{text}");
    assert!(text.contains("result      OK"), "{text}");
    Ok(())
}

#[test]
fn refused_plugins_exit_non_zero_with_the_reason() -> Result<()> {
    let config = tempfile::NamedTempFile::new()?;
    std::fs::write(config.path(), "[plugin]\nwasi = \"minimal\"\n")?;
    let (ok, text) = check_with(
        "fixture_bad_import",
        &["--config".as_ref(), config.path().as_os_str()],
    )?;
    assert!(!ok, "{text}");
    assert!(text.contains("wasi:filesystem"), "{text}");
    // Under the default policy the same imports load, reported as inert.
    let (ok, text) = check("fixture_bad_import")?;
    assert!(ok, "{text}");
    assert!(text.contains("inert"), "{text}");
    let (ok, text) = check("fixture_wrong_world")?;
    assert!(!ok, "{text}");
    assert!(
        text.contains("does not implement the hoard:definition@0.1.0"),
        "{text}"
    );
    assert!(text.contains("describe"), "{text}");
    let (ok, text) = check("fixture_trap")?;
    assert!(ok, "a trap only on a magic word still loads: {text}");
    Ok(())
}

/// `plugin new` → `plugin build` → `plugin check` for a Rust project: the
/// scaffold builds and loads untouched.
#[test]
fn a_new_rust_plugin_builds_and_passes_check() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let status = Command::new(hoard_bin()?)
        .args(["plugin", "new", "scaffold-probe", "--lang", "rust", "--dir"])
        .arg(dir.path())
        .status()?;
    assert!(status.success());
    assert!(
        dir.path()
            .join("scaffold-probe/wit/definition.wit")
            .exists()
    );

    // Share the plugins' target directory so wit-bindgen is not rebuilt.
    let target = hoard_tests::workspace_root().join("plugins/target");
    let output = Command::new(hoard_bin()?)
        .args(["plugin", "build"])
        .arg(dir.path().join("scaffold-probe"))
        .env("CARGO_TARGET_DIR", &target)
        .output()?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let wasm = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(wasm.ends_with("scaffold_probe.wasm"), "{wasm}");

    let output = Command::new(hoard_bin()?)
        .args(["plugin", "check", &wasm])
        .env("HOARD_LOG", "warn")
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains("ScaffoldProbe (scaffold-probe@0.1.0)"),
        "{text}"
    );
    assert!(text.contains("-> \"ScaffoldProbe:42\""), "{text}");

    let refused = Command::new(hoard_bin()?)
        .args(["plugin", "new", "Bad Name", "--dir"])
        .arg(dir.path())
        .output()?;
    assert!(!refused.status.success());
    let refused = Command::new(hoard_bin()?)
        .args(["plugin", "new", "other", "--lang", "cobol", "--dir"])
        .arg(dir.path())
        .output()?;
    assert!(!refused.status.success());
    Ok(())
}
