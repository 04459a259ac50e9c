//! Rust: `cargo build --release --target wasm32-wasip2`, whose output is
//! already a component. The artifact's path comes from cargo's own JSON
//! messages, so a crate inside a workspace (whose `target/` sits at the
//! workspace root) is found as surely as a standalone one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// Builds the crate in `dir` and returns its component.
pub(super) fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    let manifest = dir.join("Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&manifest)
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo")?;
    if !output.status.success() {
        bail!(
            "cargo build failed ({}); is the target installed? rustup target add wasm32-wasip2",
            output.status
        );
    }
    let manifest = manifest.canonicalize().unwrap_or(manifest);
    artifact_of(&output.stdout, &manifest).with_context(|| {
        format!(
            "cargo built {} but reported no .wasm for it (is crate-type [\"cdylib\"] set?)",
            manifest.display()
        )
    })
}

/// The `.wasm` cargo reported for the package whose manifest is `manifest`.
fn artifact_of(messages: &[u8], manifest: &Path) -> Option<PathBuf> {
    String::from_utf8_lossy(messages)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m.get("reason").and_then(|r| r.as_str()) == Some("compiler-artifact"))
        .filter(|m| {
            m.get("manifest_path")
                .and_then(|p| p.as_str())
                .is_some_and(|p| Path::new(p) == manifest)
        })
        .flat_map(|m| {
            m.get("filenames")
                .and_then(|f| f.as_array())
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wasm_of_the_right_package_is_picked() {
        let messages = br#"{"reason":"compiler-artifact","manifest_path":"/w/dep/Cargo.toml","filenames":["/w/target/libdep.rlib"]}
not json
{"reason":"compiler-artifact","manifest_path":"/w/p/Cargo.toml","filenames":["/w/target/wasm32-wasip2/release/p.wasm"]}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            artifact_of(messages, Path::new("/w/p/Cargo.toml")),
            Some(PathBuf::from("/w/target/wasm32-wasip2/release/p.wasm"))
        );
        assert_eq!(artifact_of(messages, Path::new("/w/q/Cargo.toml")), None);
    }
}
