//! A plugin's log text is data: a message with newlines, carriage returns and ANSI escapes
//! cannot start a line that looks like a host record, nor reach the log raw.

use anyhow::Result;
use hoard_tests::{Server, ServerOptions, plugin_dir};

#[test]
fn a_plugin_cannot_forge_a_host_log_line() -> Result<()> {
    let dir = plugin_dir(&["fixture_log_forger"])?;
    let server = Server::start_with(ServerOptions {
        plugins: Some(dir.path().to_owned()),
        ..Default::default()
    })?;
    let mut con = server.client()?;
    let _: String = redis::cmd("CACHE.SET")
        .arg("LogForger")
        .arg(r#""v""#)
        .arg("1")
        .query(&mut con)?;
    // The harness reads the server's stderr on a thread of its own.
    hoard_tests::eventually(std::time::Duration::from_secs(10), || {
        Ok(server.log().contains("key asked"))
    })?;
    let log = server.log();
    let line = log
        .lines()
        .find(|l| l.contains("key asked"))
        .ok_or_else(|| anyhow::anyhow!("the plugin's message was not logged:\n{log}"))?;
    assert!(line.contains("fixture_log_forger.wasm"), "{line}");
    assert!(
        line.contains(r"key asked\n2026-01-01T00:00:00.000000Z  INFO hoard: FORGED"),
        "{line}"
    );
    assert!(line.contains(r"\r\u{1b}[2J"), "{line}");
    assert!(
        !log.lines().any(|l| l.starts_with("2026-01-01T00:00:00")),
        "a forged record started a line:\n{log}"
    );
    assert!(!log.contains('\u{1b}'), "an escape byte reached the log");
    assert!(!log.contains('\r') && !log.contains('\u{85}') && !log.contains('\u{2028}'));
    Ok(())
}
