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
//!
//! pyproject.toml's `[project] dependencies` (e.g. `msgpack==1.2.4`) are
//! installed from PyPI into `target/python-deps` with the pip beside
//! componentize-py, and their native extensions are removed: CPython in the
//! component cannot load a host `.so`, and packages such as `msgpack` fall
//! back to their pure-Python form without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// The module used when pyproject.toml does not name one.
const DEFAULT_MODULE: &str = "app";

pub(super) fn build(dir: &Path, wit: &Path, world: &str, out: &Path) -> anyhow::Result<()> {
    let module = module_of(dir)?;
    let componentize = super::tool("HOARD_COMPONENTIZE_PY", &["componentize-py"]);
    let deps = install_dependencies(dir, &componentize)?;
    let mut command = Command::new(&componentize);
    command
        .current_dir(dir)
        .arg("--wit-path")
        .arg(wit)
        .args(["--world", world, "componentize", "--python-path"])
        .arg(dir);
    if let Some(deps) = &deps {
        command.arg("--python-path").arg(deps);
    }
    command
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

/// Installs `[project] dependencies` into `target/python-deps` (again only
/// when the list changed) and returns that folder, or `None` without any.
fn install_dependencies(dir: &Path, componentize: &Path) -> anyhow::Result<Option<PathBuf>> {
    let deps = dependencies_of(dir)?;
    if deps.is_empty() {
        return Ok(None);
    }
    let target = dir.join("target").join("python-deps");
    let stamp = target.join(".hoard-dependencies");
    let wanted = deps.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|had| had == wanted) {
        return Ok(Some(target));
    }
    if target.exists() {
        std::fs::remove_dir_all(&target)
            .with_context(|| format!("clearing {}", target.display()))?;
    }
    // The venv that holds componentize-py has pip; else the python3 on PATH.
    let python = std::env::var_os("HOARD_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            let beside = componentize.parent()?.join("python3");
            beside.is_file().then_some(beside)
        })
        .unwrap_or_else(|| super::tool("HOARD_PYTHON", &["python3"]));
    let mut pip = Command::new(python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--target",
    ])
    .arg(&target)
    .args(&deps);
    super::run(
        pip,
        "pip install (pyproject.toml dependencies)",
        "apt-get install python3-pip",
    )?;
    remove_native_extensions(&target)?;
    std::fs::write(&stamp, wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(Some(target))
}

/// Deletes compiled extension modules under `dir`, so imports take the
/// packages' pure-Python paths inside the component.
fn remove_native_extensions(dir: &Path) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        if path.is_dir() {
            remove_native_extensions(&path)?;
        } else if path.extension().is_some_and(|e| e == "so" || e == "pyd") {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// `[project] dependencies` from pyproject.toml (PEP 508 strings).
fn dependencies_of(dir: &Path) -> anyhow::Result<Vec<String>> {
    Ok(super::pyproject(dir)?
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array())
        .map(|deps| {
            deps.iter()
                .filter_map(|d| d.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
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
