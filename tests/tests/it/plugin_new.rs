//! `hoard plugin new` → `hoard plugin build` → `hoard plugin check`, in every
//! language: a scaffolded project builds with its toolchain, loads the way
//! the server would load it, and passes the starter conformance suite it
//! ships with, untouched.

use std::path::Path;

use anyhow::Result;
use hoard_tests::{build_plugin, build_plugin_with, hoard_command, workspace_root};

macro_rules! languages {
    ($($lang:ident),* $(,)?) => {$(
        #[test]
        fn $lang() -> Result<()> {
            new_build_check(stringify!($lang))
        }
    )*};
}

languages!(rust, python, js, c);

fn new_build_check(lang: &str) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let name = format!("probe-{lang}");
    let pascal = format!("Probe{}{}", lang[..1].to_uppercase(), &lang[1..]);
    let status = hoard_command()?
        .args(["plugin", "new", &name, "--lang", lang, "--dir"])
        .arg(dir.path())
        .status()?;
    assert!(status.success(), "plugin new --lang {lang}");
    let project = dir.path().join(&name);
    assert!(project.join("wit/definition.wit").is_file());
    assert!(project.join("conformance.toml").is_file());

    let wasm = if lang == "rust" {
        // Share the plugins' target directory so wit-bindgen is not rebuilt;
        // the component then lives outside the project, so name the suite.
        let target = workspace_root().join("plugins/target");
        build_plugin_with(&project, &[("CARGO_TARGET_DIR", &target)])?
    } else {
        build_plugin(&project)?
    };
    assert!(wasm.is_file(), "{}", wasm.display());

    let report = check(&wasm, &project)?;
    assert!(
        report.contains(&format!("{pascal} ({name}@0.1.0)")),
        "{report}"
    );
    assert!(report.contains(&format!("-> \"{pascal}:42\"")), "{report}");
    assert!(report.contains("cases passed"), "{report}");
    assert!(report.contains("result      OK"), "{report}");
    Ok(())
}

/// `hoard plugin check`; the suite is found above the component unless the
/// component was built outside the project.
fn check(wasm: &Path, project: &Path) -> Result<String> {
    let mut command = hoard_command()?;
    command.args(["plugin", "check"]).arg(wasm);
    if !wasm.starts_with(project) {
        command.arg("--suite").arg(project.join("conformance.toml"));
    }
    let output = command.output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    Ok(text)
}

#[test]
fn bad_names_and_unknown_languages_are_refused() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for args in [["Bad Name", "rust"], ["other", "cobol"]] {
        let output = hoard_command()?
            .args(["plugin", "new", args[0], "--lang", args[1], "--dir"])
            .arg(dir.path())
            .output()?;
        assert!(!output.status.success(), "{args:?}");
        assert!(!String::from_utf8_lossy(&output.stderr).is_empty());
    }
    Ok(())
}
