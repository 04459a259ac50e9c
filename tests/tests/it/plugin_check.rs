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
    std::fs::write(config.path(), "[plugin]\nwasi = \"inert\"\n")?;
    let (ok, text) = check("fixture_bad_import")?;
    assert!(!ok, "{text}");
    assert!(text.contains("wasi:filesystem"), "{text}");
    // Under the inert policy the same imports load, and are reported as such.
    let (ok, text) = check_with(
        "fixture_bad_import",
        &["--config".as_ref(), config.path().as_os_str()],
    )?;
    assert!(ok, "{text}");
    let inert = text.lines().find(|l| l.starts_with("inert ")).unwrap_or("");
    assert!(inert.contains("wasi:filesystem/preopens"), "{text}");
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
