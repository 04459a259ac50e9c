//! Every language's `user-cache`, built from source with `hoard plugin build`
//! and loaded by a real server, passes the one conformance suite
//! (`tests/conformance/user-cache.toml`) over RESP: same keys, same key
//! errors, same verdicts with the same reasons, same invalidations.
//!
//! A new language is a build recipe in `host/src/plugin_build/` and one
//! line in the table below.

use anyhow::Result;
use hoard::tooling::conformance::Suite;
use hoard_tests::remote::RemoteSubject;
use hoard_tests::{Server, ServerOptions, build_plugin, workspace_root};

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
    let suite = Suite::load(&workspace_root().join("tests/conformance/user-cache.toml"))?;
    let mut subject = RemoteSubject::connect(server.port, &suite.cache)?;
    let report = suite.run(&mut subject);
    assert!(report.ok(), "{project}: {report}");
    assert_eq!(report.passed, suite.len(), "{project}: {report}");
    // Values the server refuses on the wire (malformed MessagePack) never
    // reach the plugin; `hoard plugin check --suite` covers those in-process.
    assert!(report.host_answered > 0, "{project}: {report}");
    Ok(())
}
