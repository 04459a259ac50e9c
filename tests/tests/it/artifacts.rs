//! Compiled plugins are cached on disk by content hash: a restart
//! deserializes instead of recompiling, and a tampered artifact is never
//! trusted (the server recompiles from the .wasm instead).

use anyhow::Result;
use hoard_tests::{Server, ServerOptions};

fn artifact_state(server: &Server) -> Result<String> {
    let info = server.connect()?.cache_info("UserCache")?;
    Ok(info.fields.text("plugin-artifact")?)
}

fn start(dir: &std::path::Path) -> Result<Server> {
    Server::start_with(ServerOptions {
        artifact_cache: Some(dir.to_path_buf()),
        ..Default::default()
    })
}

#[test]
fn a_restart_reuses_the_compiled_artifact_and_a_tampered_one_is_recompiled() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let first = start(dir.path())?;
    assert_eq!(artifact_state(&first)?, "compiled");
    drop(first);

    let artifacts: Vec<_> = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(
        artifacts.len(),
        2,
        "one artifact per bundled plugin: {artifacts:?}"
    );

    let second = start(dir.path())?;
    assert_eq!(artifact_state(&second)?, "cached");
    drop(second);

    // Flip one byte in every artifact: the digest no longer matches.
    for path in &artifacts {
        let mut bytes = std::fs::read(path)?;
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(path, bytes)?;
    }
    let third = start(dir.path())?;
    assert_eq!(artifact_state(&third)?, "compiled");
    assert_eq!(third.connect()?.cache_key("UserCache", &["u1"])?, "User:u1");
    assert!(
        third.log().contains("does not match its digest"),
        "{}",
        third.log()
    );
    Ok(())
}
