//! `hoard plugin new <name> --lang <lang>`: writes a ready-to-build plugin
//! project from the templates in `host/templates/`, with the WIT contract
//! copied in and a conformance suite to grow, so `hoard plugin build` and
//! `hoard plugin check` pass on it untouched.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::tooling::plugin_build::{Lang, WIT};

/// The starter suite every project gets, whatever its language: the
/// skeletons all make `{Name}:{id}` keys and invalidate `{Name}:*`.
const SUITE: (&str, &str) = (
    "conformance.toml",
    include_str!("../../templates/conformance.toml.tmpl"),
);

/// (relative path, template) of a project in each language.
fn files(lang: Lang) -> &'static [(&'static str, &'static str)] {
    match lang {
        Lang::Rust => &[
            (
                "Cargo.toml",
                include_str!("../../templates/rust/Cargo.toml.tmpl"),
            ),
            (
                "src/lib.rs",
                include_str!("../../templates/rust/src/lib.rs.tmpl"),
            ),
            (
                "README.md",
                include_str!("../../templates/rust/README.md.tmpl"),
            ),
        ],
        Lang::Python => &[
            (
                "pyproject.toml",
                include_str!("../../templates/python/pyproject.toml.tmpl"),
            ),
            ("app.py", include_str!("../../templates/python/app.py.tmpl")),
            (
                "README.md",
                include_str!("../../templates/python/README.md.tmpl"),
            ),
            (
                ".gitignore",
                include_str!("../../templates/python/gitignore.tmpl"),
            ),
        ],
        Lang::Js => &[
            (
                "package.json",
                include_str!("../../templates/js/package.json.tmpl"),
            ),
            (
                "src/plugin.js",
                include_str!("../../templates/js/src/plugin.js.tmpl"),
            ),
            (
                "README.md",
                include_str!("../../templates/js/README.md.tmpl"),
            ),
            (
                ".gitignore",
                include_str!("../../templates/js/gitignore.tmpl"),
            ),
        ],
        Lang::C => &[
            (
                "src/definition.c",
                include_str!("../../templates/c/src/definition.c.tmpl"),
            ),
            (
                "README.md",
                include_str!("../../templates/c/README.md.tmpl"),
            ),
            (
                ".gitignore",
                include_str!("../../templates/c/gitignore.tmpl"),
            ),
        ],
    }
}

/// Creates `<dir>/<name>/` for a plugin named `name` (lower-kebab-case, which
/// becomes the project and definition id; the cache name is its PascalCase).
pub fn new_plugin(name: &str, lang: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let valid = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!("plugin name {name:?} must be lower-kebab-case, like user-cache");
    }
    let lang: Lang = lang.parse()?;
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
    let fixed = [("wit/definition.wit", WIT), SUITE];
    for (path, template) in files(lang).iter().chain(fixed.iter()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_scaffolds_its_files_with_names_filled_in() {
        let dir = crate::test_dir::TestDir::new();
        for lang in Lang::ALL {
            let name = format!("probe-{lang}");
            let root = new_plugin(&name, &lang.to_string(), dir.path()).unwrap();
            assert_eq!(Lang::detect(&root).unwrap(), lang);
            assert!(root.join("wit/definition.wit").is_file());
            for (path, _) in files(lang).iter().chain([SUITE].iter()) {
                let text = std::fs::read_to_string(root.join(path)).unwrap();
                assert!(!text.contains("{{"), "{lang} {path} keeps a placeholder");
            }
        }
    }

    #[test]
    fn bad_names_languages_and_existing_dirs_are_refused() {
        let dir = crate::test_dir::TestDir::new();
        assert!(new_plugin("Bad_Name", "rust", dir.path()).is_err());
        assert!(new_plugin("ok", "cobol", dir.path()).is_err());
        new_plugin("twice", "c", dir.path()).unwrap();
        assert!(new_plugin("twice", "c", dir.path()).is_err());
    }
}
