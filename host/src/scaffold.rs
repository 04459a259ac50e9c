//! `hoard plugin new <name> --lang <lang>`: writes a ready-to-build plugin
//! project from the templates in `host/templates/`, with the WIT contract
//! copied in, so `hoard plugin build` and `hoard plugin check` pass on it
//! untouched. Rust only for now; the other languages are issue #4's work.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The contract every plugin implements, copied into each new project.
const WIT: &str = include_str!("../../wit/definition.wit");

/// (relative path, template) of the Rust project.
const RUST_FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../templates/rust/Cargo.toml.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../templates/rust/src/lib.rs.tmpl"),
    ),
    (
        "README.md",
        include_str!("../templates/rust/README.md.tmpl"),
    ),
    ("wit/definition.wit", WIT),
];

/// Creates `<dir>/<name>/` for a plugin named `name` (lower-kebab-case, which
/// becomes the crate and definition id; the cache name is its PascalCase).
pub fn new_plugin(name: &str, lang: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let valid = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!("plugin name {name:?} must be lower-kebab-case, like user-cache");
    }
    let files = match lang {
        "rust" => RUST_FILES,
        other => bail!("--lang {other} is not supported yet (supported: rust)"),
    };
    let root = dir.join(name);
    if root.exists() {
        bail!("{} already exists", root.display());
    }
    let pascal: String = name
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    for (path, template) in files {
        let target = root.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let text = template
            .replace("{{crate}}", name)
            .replace("{{name}}", &pascal);
        std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(root)
}
