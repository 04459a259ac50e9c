//! Real clients and cache adapters from their registries (pinned and installed under
//! `target/clients/` by `scripts/toolchains`) run their own behaviour against the real binary:
//! redis-py (transactional pipeline, WATCH retries, `scan_iter`, client-side caching), Django's
//! Redis cache backend, and ioredis (`multi()`, `mget`). Each script is in `tests/clients/`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, ensure};
use hoard_tests::{Server, workspace_root};

fn clients_dir() -> PathBuf {
    workspace_root().join("target/clients")
}

/// Runs `program script port` and requires it to print `ok`.
fn run_client(program: PathBuf, script: &str, server: &Server) -> Result<()> {
    ensure!(
        program.exists(),
        "{} is missing: run scripts/toolchains to install the pinned clients",
        program.display()
    );
    let script = workspace_root().join("tests/clients").join(script);
    let out = Command::new(&program)
        .arg(&script)
        .arg(server.port.to_string())
        .env(
            "IOREDIS_PATH",
            clients_dir().join("node/node_modules/ioredis"),
        )
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success() && stdout.trim_end().ends_with("ok"),
        "{} failed ({}):\n{stdout}\n{stderr}\nserver log:\n{}",
        script.display(),
        out.status,
        server.log()
    );
    Ok(())
}

#[test]
fn redis_py() -> Result<()> {
    let server = Server::start()?;
    run_client(
        clients_dir().join("python/bin/python"),
        "redis_py.py",
        &server,
    )
}

#[test]
fn django_redis_cache_backend() -> Result<()> {
    let server = Server::start()?;
    run_client(
        clients_dir().join("python/bin/python"),
        "django_cache.py",
        &server,
    )
}

#[test]
fn ioredis() -> Result<()> {
    let server = Server::start()?;
    let node = which("node").context("node is not installed (scripts/toolchains)")?;
    run_client(node, "ioredis.js", &server)
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}
