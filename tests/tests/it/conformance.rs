//! Every language's `user-cache`, built from source with `hoard plugin build`
//! and loaded by a real server, passes the one conformance suite
//! (`tests/conformance/user-cache.toml`) over RESP: same keys, same key
//! errors, same verdicts with the same reasons, same invalidations.
//!
//! A new language is a build recipe in `host/src/plugin_build/` and one
//! line in the table below.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;
use hoard::tooling::conformance::Suite;
use hoard_tests::remote::RemoteSubject;
use hoard_tests::{
    Server, ServerOptions, build_plugin, hoard_bin, plugin_artifact, workspace_root,
};

macro_rules! languages {
    ($($lang:ident => $project:literal,)*) => {$(
        #[test]
        fn $lang() -> Result<()> {
            passes_the_suite($project)
        }
    )*};
}

languages! {
    rust => "plugins/examples/user-cache",
    python => "plugins/python/user-cache",
    js => "plugins/js/user-cache",
    c => "plugins/c/user-cache",
}

fn passes_the_suite(project: &str) -> Result<()> {
    let wasm = build_plugin(&workspace_root().join(project))?;
    let plugins = tempfile::tempdir()?;
    std::fs::copy(&wasm, plugins.path().join("user-cache.wasm"))?;
    let server = Server::start_with(ServerOptions {
        plugins: Some(plugins.path().to_path_buf()),
        ..Default::default()
    })?;
    let suite = Suite::load(&suite_path())?;
    let mut subject = RemoteSubject::connect(server.port, &suite.cache)?;
    let report = suite.run(&mut subject);
    assert!(report.ok(), "{project}: {report}");
    assert_eq!(report.passed, suite.len(), "{project}: {report}");
    // The server itself refuses what breaks its MessagePack rules, so every
    // `host` case is answered by the host (and a zero-part key besides).
    assert!(
        report.host_answered > host_cases(&suite),
        "{project}: {report}"
    );
    Ok(())
}

/// `hoard plugin check --suite` calls the plugin in-process, after the same
/// MessagePack checks the server makes: the same suite passes, with exactly
/// the `host` cases answered by the host and the same texts.
#[test]
fn plugin_check_holds_values_to_the_servers_rules() -> Result<()> {
    let suite = Suite::load(&suite_path())?;
    let output = Command::new(hoard_bin()?)
        .args(["plugin", "check"])
        .arg(plugin_artifact("user_cache"))
        .arg("--suite")
        .arg(suite_path())
        .env("HOARD_LOG", "warn")
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    let n = suite.len();
    let summary = format!(
        "{n} of {n} cases passed ({} refused by the host before the plugin)",
        host_cases(&suite)
    );
    assert!(text.contains(&summary), "{text}");
    Ok(())
}

fn suite_path() -> PathBuf {
    workspace_root().join("tests/conformance/user-cache.toml")
}

/// Cases the host must refuse before any plugin sees the input.
fn host_cases(suite: &Suite) -> usize {
    let values = suite.validate.iter().filter(|c| c.host.is_some()).count();
    let events = suite.event.iter().filter(|c| c.host.is_some()).count();
    assert!(values >= 5 && events >= 2, "the suite lost its host cases");
    values + events
}
