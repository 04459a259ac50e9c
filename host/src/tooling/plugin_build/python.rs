//! Python: `componentize-py` (PyPI) bundles CPython, the project's modules
//! and the generated bindings into one component. The module holding the
//! exports is `[tool.hoard] module` in pyproject.toml (default `app`); it
//! defines a class `WitWorld` whose methods are the world's exports.
//!
//! `--stub-wasi` replaces the ~25 WASI interfaces CPython's runtime imports
//! with stubs inside the component: it then imports nothing but the
//! contract and loads under `[plugin] wasi = "minimal"`. A plugin that does
//! reach for WASI (`time.time()`, `open()`) traps, and the host drops that
//! instance; the host's `now-ms` is the clock a definition may use.

use std::path::Path;
use std::process::Command;

/// The module used when pyproject.toml does not name one.
const DEFAULT_MODULE: &str = "app";

pub(super) fn build(dir: &Path, wit: &Path, out: &Path) -> anyhow::Result<()> {
    let module = module_of(dir)?;
    let mut command = Command::new(super::tool("HOARD_COMPONENTIZE_PY", &["componentize-py"]));
    command
        .current_dir(dir)
        .arg("--wit-path")
        .arg(wit)
        .args(["--world", super::WORLD, "componentize", "--python-path"])
        .arg(dir)
        .arg(&module)
        .arg("--output")
        .arg(out)
        .arg("--stub-wasi")
        // A Python error is the author's; wasmtime's Rust backtrace is noise.
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0");
    super::run(
        command,
        "componentize-py",
        "pip install componentize-py==0.25.1",
    )
}

/// `[tool.hoard] module` from pyproject.toml.
fn module_of(dir: &Path) -> anyhow::Result<String> {
    Ok(super::pyproject(dir)?
        .get("tool")
        .and_then(|t| t.get("hoard"))
        .and_then(|h| h.get("module"))
        .and_then(|m| m.as_str())
        .unwrap_or(DEFAULT_MODULE)
        .to_owned())
}
