//! `hoard plugin build <dir>`: builds a plugin project in any supported
//! language into a component, calling the right toolchain, so users need not
//! remember four recipes. Each language's recipe is its own module; adding a
//! language is a module here, a template folder, and one line in the
//! conformance tests.
//!
//! Every recipe gets the same inputs: the project directory, the WIT
//! contract (the project's own `wit/` if it has one, else the copy compiled
//! into this binary), and where to put the component.

mod c;
mod js;
mod progress;
mod python;
mod rust;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use anyhow::{Context, bail};

/// The contract every plugin implements, compiled in so that a project
/// without a `wit/` folder (the examples in this repository) still builds.
pub const WIT: &str = include_str!("../../../../wit/definition.wit");

/// The world every plugin targets.
pub const WORLD: &str = "plugin";

/// `hoard:definition@0.2.0`, for projects that ask for it in their own
/// manifest (see [`wants_origin`]): the same rules plus the `origin` mapping.
pub const WIT_V2: &str = include_str!("../../../../wit/0.2.0/definition.wit");

/// The world of `WIT_V2` with the origin mapping.
pub const ORIGIN_WORLD: &str = "origin-plugin";

/// A language hoard can scaffold and build plugins in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// `wit-bindgen` + `cargo build --target wasm32-wasip2`.
    Rust,
    /// `componentize-py` (PyPI).
    Python,
    /// `componentize-js` (npm).
    Js,
    /// `wit-bindgen`'s C generator (built in) + clang + `wit-component` (built in).
    C,
}

impl Lang {
    /// Every supported language, in the order help texts list them.
    pub const ALL: [Lang; 4] = [Lang::Rust, Lang::Python, Lang::Js, Lang::C];

    /// The language of the project in `dir`, from the file its tooling keys on.
    pub fn detect(dir: &Path) -> anyhow::Result<Lang> {
        if dir.join("Cargo.toml").is_file() {
            Ok(Lang::Rust)
        } else if dir.join("pyproject.toml").is_file() {
            Ok(Lang::Python)
        } else if dir.join("package.json").is_file() {
            Ok(Lang::Js)
        } else if c::has_sources(dir) {
            Ok(Lang::C)
        } else {
            bail!(
                "{} is not a plugin project: expected Cargo.toml (Rust), pyproject.toml \
                 (Python), package.json (JavaScript) or src/*.c (C)",
                dir.display()
            )
        }
    }
}

impl FromStr for Lang {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Lang> {
        match s {
            "rust" | "rs" => Ok(Lang::Rust),
            "python" | "py" => Ok(Lang::Python),
            "js" | "javascript" => Ok(Lang::Js),
            "c" => Ok(Lang::C),
            other => bail!("unknown language {other:?} (supported: rust, python, js, c)"),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
            Lang::C => "c",
        })
    }
}

/// Builds the project in `dir` and returns the component's path.
pub fn build_plugin(dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("opening {}", dir.display()))?;
    let lang = Lang::detect(&dir)?;
    let mut progress = progress::Progress::stderr();
    if lang == Lang::Rust {
        // Cargo finds the WIT through the crate's own generate! macro, and
        // prints its own progress.
        return rust::build(&dir);
    }
    let name = project_name(&dir, lang)?;
    progress.status("Compiling", &format!("{name} ({lang}, {})", dir.display()));
    let target = dir.join("target");
    std::fs::create_dir_all(&target).with_context(|| format!("creating {}", target.display()))?;
    let origin = wants_origin(&dir, lang)?;
    let wit = wit_dir(&dir, origin)?;
    let world = if origin { ORIGIN_WORLD } else { WORLD };
    let out = target.join(format!("{name}.wasm"));
    match lang {
        Lang::Python => python::build(&dir, &wit, world, &out)?,
        Lang::Js => js::build(&dir, &wit, world, &out)?,
        Lang::C => c::build(&dir, &wit, world, &out)?,
        Lang::Rust => {}
    }
    if !out.is_file() {
        bail!(
            "the {lang} toolchain succeeded but {} is missing",
            out.display()
        );
    }
    progress.finished(&out.display().to_string());
    Ok(out)
}

/// The file a C project's settings live in: C has no manifest of its own,
/// so `hoard plugin build` reads this one when it is there.
pub const C_MANIFEST: &str = "hoard-plugin.toml";

/// Whether the project asks for the origin world (`hoard:definition@0.2.0`'s
/// `origin-plugin`) in its own manifest, each language in its own idiom:
///
/// - Python: pyproject.toml `[tool.hoard] world = "origin-plugin"`
/// - JavaScript: package.json `"hoard": {"world": "origin-plugin"}`
/// - C: `world = "origin-plugin"` in [`C_MANIFEST`] beside `src/`
///
/// Without the setting a project builds the 0.1.0 `plugin` world. A Rust
/// crate names its world in its own `wit_bindgen::generate!`.
fn wants_origin(dir: &Path, lang: Lang) -> anyhow::Result<bool> {
    let (world, setting) = match lang {
        Lang::Rust => return Ok(false),
        Lang::Python => (
            pyproject(dir)?
                .get("tool")
                .and_then(|t| t.get("hoard"))
                .and_then(|h| h.get("world"))
                .map(|w| w.as_str().map(str::to_owned).ok_or(())),
            "pyproject.toml: [tool.hoard] world",
        ),
        Lang::Js => (
            package_json(dir)?
                .get("hoard")
                .and_then(|h| h.get("world"))
                .map(|w| w.as_str().map(str::to_owned).ok_or(())),
            "package.json: \"hoard\": {\"world\"}",
        ),
        Lang::C => (
            c_manifest(dir)?
                .as_ref()
                .and_then(|m| m.get("world"))
                .map(|w| w.as_str().map(str::to_owned).ok_or(())),
            "hoard-plugin.toml: world",
        ),
    };
    match world {
        None => Ok(false),
        Some(Ok(w)) if w == WORLD => Ok(false),
        Some(Ok(w)) if w == ORIGIN_WORLD => Ok(true),
        Some(Ok(other)) => {
            bail!("{setting} = {other:?}; expected {WORLD:?} or {ORIGIN_WORLD:?}")
        }
        Some(Err(())) => bail!("{setting} must be a string: {WORLD:?} or {ORIGIN_WORLD:?}"),
    }
}

/// The project's own `wit/`, or the compiled-in contract (`0.2.0` when the
/// project wants the origin world) written to `target/wit/` (rewritten each
/// build, so it never goes stale).
fn wit_dir(dir: &Path, origin: bool) -> anyhow::Result<PathBuf> {
    let own = dir.join("wit");
    if own.join("definition.wit").is_file() {
        return Ok(own);
    }
    let generated = dir.join("target/wit");
    std::fs::create_dir_all(&generated)
        .with_context(|| format!("creating {}", generated.display()))?;
    let file = generated.join("definition.wit");
    let contract = if origin { WIT_V2 } else { WIT };
    std::fs::write(&file, contract).with_context(|| format!("writing {}", file.display()))?;
    Ok(generated)
}

/// The name the component is written under: the project's declared name
/// (`[project] name`, package.json `name`), or the directory's for C.
fn project_name(dir: &Path, lang: Lang) -> anyhow::Result<String> {
    let declared = match lang {
        Lang::Python => pyproject(dir)?
            .get("project")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .map(str::to_owned),
        Lang::Js => package_json(dir)?
            .get("name")
            .and_then(|n| n.as_str())
            .map(|n| n.rsplit('/').next().unwrap_or(n).to_owned()),
        Lang::Rust | Lang::C => None,
    };
    let name = declared
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "plugin".to_owned());
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        bail!("project name {name:?} cannot name a file");
    }
    Ok(name)
}

/// A Python project's pyproject.toml.
fn pyproject(dir: &Path) -> anyhow::Result<toml::Table> {
    let path = dir.join("pyproject.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// A JavaScript project's package.json.
fn package_json(dir: &Path) -> anyhow::Result<serde_json::Value> {
    let path = dir.join("package.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// A C project's [`C_MANIFEST`], or `None` when it has none.
fn c_manifest(dir: &Path) -> anyhow::Result<Option<toml::Table>> {
    let path = dir.join(C_MANIFEST);
    if !path.is_file() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text)
        .map(Some)
        .with_context(|| format!("parsing {}", path.display()))
}

/// Runs a toolchain command, naming it and how to install it on failure.
fn run(mut command: Command, what: &str, install: &str) -> anyhow::Result<()> {
    tracing::debug!(?command, "running {what}");
    progress::Progress::stderr().status("Running", what);
    let status = command
        .status()
        .map_err(|e| anyhow::anyhow!("could not run {what}: {e}; install it with: {install}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// A toolchain program: the override variable (`HOARD_CC=...`) when set,
/// else the first of `candidates` on PATH, else the first candidate (whose
/// failure to start then names it).
fn tool(override_var: &str, candidates: &[&str]) -> PathBuf {
    find_tool(override_var, candidates)
        .unwrap_or_else(|| PathBuf::from(candidates.first().copied().unwrap_or_default()))
}

/// The override variable's program when set and non-empty, else the first
/// of `candidates` found on PATH.
fn find_tool(override_var: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(override_var).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    candidates.iter().find_map(|candidate| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(candidate))
            .find(|full| full.is_file())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_detected_by_their_project_file() {
        let dir = crate::test_dir::TestDir::new();
        assert!(Lang::detect(dir.path()).is_err());
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/plugin.c"), "").unwrap();
        assert_eq!(Lang::detect(dir.path()).unwrap(), Lang::C);
        std::fs::write(dir.path().join("package.json"), "{}").unwrap();
        assert_eq!(Lang::detect(dir.path()).unwrap(), Lang::Js);
        std::fs::write(dir.path().join("pyproject.toml"), "").unwrap();
        assert_eq!(Lang::detect(dir.path()).unwrap(), Lang::Python);
        std::fs::write(dir.path().join("Cargo.toml"), "").unwrap();
        assert_eq!(Lang::detect(dir.path()).unwrap(), Lang::Rust);
    }

    #[test]
    fn names_come_from_the_project_then_the_directory() {
        let dir = crate::test_dir::TestDir::new();
        let project = dir.path().join("my-cache");
        std::fs::create_dir(&project).unwrap();
        assert_eq!(project_name(&project, Lang::C).unwrap(), "my-cache");
        std::fs::write(project.join("package.json"), r#"{"name": "@acme/orders"}"#).unwrap();
        assert_eq!(project_name(&project, Lang::Js).unwrap(), "orders");
        std::fs::write(
            project.join("pyproject.toml"),
            "[project]\nname = \"../x\"\n",
        )
        .unwrap();
        assert!(project_name(&project, Lang::Python).is_err());
    }

    #[test]
    fn each_language_asks_for_the_origin_world_in_its_own_manifest() {
        let dir = crate::test_dir::TestDir::new();
        let project = dir.path();
        std::fs::write(project.join("pyproject.toml"), "[project]\nname = \"p\"\n").unwrap();
        assert!(!wants_origin(project, Lang::Python).unwrap());
        std::fs::write(
            project.join("pyproject.toml"),
            "[tool.hoard]\nworld = \"origin-plugin\"\n",
        )
        .unwrap();
        assert!(wants_origin(project, Lang::Python).unwrap());

        std::fs::write(project.join("package.json"), r#"{"name": "p"}"#).unwrap();
        assert!(!wants_origin(project, Lang::Js).unwrap());
        std::fs::write(
            project.join("package.json"),
            r#"{"hoard": {"world": "origin-plugin"}}"#,
        )
        .unwrap();
        assert!(wants_origin(project, Lang::Js).unwrap());
        std::fs::write(project.join("package.json"), r#"{"hoard": {"world": "x"}}"#).unwrap();
        assert!(wants_origin(project, Lang::Js).is_err());
        std::fs::write(project.join("package.json"), r#"{"hoard": {"world": 2}}"#).unwrap();
        assert!(wants_origin(project, Lang::Js).is_err());

        assert!(!wants_origin(project, Lang::C).unwrap(), "no manifest");
        std::fs::write(project.join(C_MANIFEST), "world = \"plugin\"\n").unwrap();
        assert!(!wants_origin(project, Lang::C).unwrap());
        std::fs::write(project.join(C_MANIFEST), "world = \"origin-plugin\"\n").unwrap();
        assert!(wants_origin(project, Lang::C).unwrap());
        std::fs::write(project.join(C_MANIFEST), "world = [").unwrap();
        assert!(wants_origin(project, Lang::C).is_err());
    }

    #[test]
    fn every_language_round_trips_through_its_name() {
        for lang in Lang::ALL {
            assert_eq!(lang.to_string().parse::<Lang>().unwrap(), lang);
        }
        assert!("cobol".parse::<Lang>().is_err());
    }
}
