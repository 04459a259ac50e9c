//! JavaScript: `componentize-js` (npm) compiles the module into a component
//! around the StarlingMonkey engine. Dependencies come from the project's
//! package.json (`npm ci` when a lockfile pins them); the entry module is
//! package.json's `main` (default `src/plugin.js`). Every optional WASI
//! feature is disabled, so the component imports nothing but the contract.
//! package.json's `"hoard": {"world": "origin-plugin"}` picks
//! `hoard:definition@0.2.0`'s origin world: the module then also exports
//! `origin` (an object with `loadRequest`, `loadResponse`, `writeRequest`)
//! and imports the host as `hoard:definition/host@0.2.0`.

use std::path::Path;
use std::process::Command;

/// The entry used when package.json names no `main`.
const DEFAULT_ENTRY: &str = "src/plugin.js";

/// WASI features componentize-js would otherwise import.
const DISABLED: &[&str] = &["stdio", "random", "clocks", "http", "fetch-event"];

pub(super) fn build(dir: &Path, wit: &Path, world: &str, out: &Path) -> anyhow::Result<()> {
    let npm = super::tool("HOARD_NPM", &["npm"]);
    if dependencies_stale(dir) {
        let mut install = Command::new(&npm);
        install.current_dir(dir);
        if dir.join("package-lock.json").is_file() {
            install.arg("ci");
        } else {
            install.arg("install");
        }
        install.args(["--no-audit", "--no-fund"]);
        super::run(install, "npm install", "apt-get install nodejs npm")?;
    }
    let entry = entry_of(dir)?;
    let mut command = Command::new(dir.join("node_modules/.bin/componentize-js"));
    command
        .current_dir(dir)
        .arg(&entry)
        .arg("--wit")
        .arg(wit)
        .args(["--world-name", world, "--disable"])
        .args(DISABLED)
        .arg("--out")
        .arg(out);
    super::run(
        command,
        "componentize-js",
        "npm install --save-dev @bytecodealliance/componentize-js@0.23.0",
    )
}

/// Whether `npm` must (re)install: no componentize-js yet, or package.json
/// or the lockfile changed since npm last wrote `node_modules`.
fn dependencies_stale(dir: &Path) -> bool {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    let Some(installed) = installed else {
        return true;
    };
    !dir.join("node_modules/.bin/componentize-js").exists()
        || ["package.json", "package-lock.json"]
            .iter()
            .filter_map(|name| modified(&dir.join(name)))
            .any(|changed| changed > installed)
}

/// package.json's `main`.
fn entry_of(dir: &Path) -> anyhow::Result<String> {
    Ok(super::package_json(dir)?
        .get("main")
        .and_then(|m| m.as_str())
        .unwrap_or(DEFAULT_ENTRY)
        .to_owned())
}
