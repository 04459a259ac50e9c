//! Builds a C plugin project into a component, so that a C author needs only
//! `clang` and `wasi-libc` (no `wit-bindgen` CLI, no `wasm-tools`, no
//! wasi-sdk): hoard itself
//!
//! 1. generates the C bindings of the world (`wit-bindgen-c` as a library)
//!    into `<project>/target/bindings/`,
//! 2. compiles and links every `*.c` under `<project>/src/` with them into a
//!    core module (`clang --target=wasm32-wasi -mexec-model=reactor`), and
//! 3. wraps that core module into a component (`wit-component`).
//!
//! The component-type object `<world>_component_type.o` that `wit-bindgen-c`
//! writes is linked in, so the core module carries its own WIT metadata and
//! `ComponentEncoder` needs nothing else. A C plugin that calls libc I/O
//! (`printf`, `getenv`, ...) imports `wasi_snapshot_preview1`; those imports
//! are adapted to WASI 0.2 with the reactor adapter that matches the host's
//! wasmtime, which `hoard plugin check` then reports (all inert in hoard's
//! sandbox). A plugin that avoids them imports nothing but `hoard:definition/host`.
//!
//! The bindings are named after the world: `plugin.h` and `exports_plugin_*`
//! for the 0.1.0 `plugin` world; a project whose `hoard-plugin.toml` says
//! `world = "origin-plugin"` gets `origin_plugin.h`, `exports_origin_plugin_*`
//! and the origin mapping's `exports_hoard_definition_origin_*`, generated from
//! `hoard:definition@0.2.0`.
//!
//! Every project also gets the MessagePack library cmp (`cmp.h`/`cmp.c`,
//! vendored in `plugin_build/cmp/`, MIT) beside the bindings, compiled with
//! its sources, so a C author decodes values without installing anything.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// Debian/Ubuntu packages that make up the toolchain, named in every
/// "toolchain missing" error so the fix is one copy-paste away.
const APT_HINT: &str = "install the C toolchain: apt-get install clang-14 lld-14 wasi-libc \
     libclang-rt-14-dev-wasm32 (Debian 12; elsewhere the same packages for your clang \
     version), or set HOARD_CC to a clang that targets wasm32-wasi, such as wasi-sdk's";

/// Flags that make clang produce a core module hoard can wrap: a reactor
/// (library-style module with `_initialize`, no `main`), optimized, with
/// warnings on because plugin code handles hostile input.
///
/// `-flto` optimizes the sources, the bindings and the MessagePack library
/// as one program: small helpers in other files (a reader callback, a UTF-8
/// step) are inlined into the loops that call them for every byte. With
/// `-O3` it took a third off `UserCache`'s `validate` (see README).
const CFLAGS: &[&str] = &[
    "--target=wasm32-wasi",
    "-mexec-model=reactor",
    "-O3",
    "-flto",
    "-Wall",
    "-Wextra",
    // Debug names are kept (wasmtime shows them in trap backtraces);
    // DWARF is not produced without -g anyway.
    "-Wl,--strip-debug",
];

/// The vendored MessagePack library written beside the bindings.
const LIBRARY: [(&str, &str); 2] = [
    ("cmp.h", include_str!("cmp/cmp.h")),
    ("cmp.c", include_str!("cmp/cmp.c")),
];

/// Generates the C bindings of `world` from the WIT package in `wit_dir`
/// into `dest` (created if missing) and returns the files written:
/// `<world>.h`, `<world>.c`, `<world>_component_type.o`, `cmp.h` and `cmp.c`.
///
/// Files whose content is unchanged are not rewritten, so editors and
/// mtime-based tools do not see spurious changes.
fn write_bindings(wit_dir: &Path, world: &str, dest: &Path) -> anyhow::Result<Vec<PathBuf>> {
    // wit-parser as re-exported by wit-bindgen-core: the `Resolve` must be
    // the very version the C generator was built against.
    let mut resolve = wit_bindgen_core::wit_parser::Resolve::default();
    let (package, _sources) = resolve
        .push_path(wit_dir)
        .with_context(|| format!("parsing the WIT contract in {}", wit_dir.display()))?;
    let world_id = resolve
        .select_world(&[package], Some(world))
        .with_context(|| format!("finding world `{world}` in {}", wit_dir.display()))?;

    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world_id, &mut files)
        .with_context(|| format!("generating C bindings for world `{world}`"))?;

    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let mut written = Vec::new();
    let library = LIBRARY.iter().map(|(name, text)| (*name, text.as_bytes()));
    for (name, contents) in files.iter().chain(library) {
        let path = dest.join(name);
        let unchanged = std::fs::read(&path).is_ok_and(|old| old == contents);
        if !unchanged {
            std::fs::write(&path, contents)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        written.push(path);
    }
    Ok(written)
}

/// Builds the C plugin project in `project` against world `world` of the
/// WIT package in `wit_dir`, and writes the component to `out`.
///
/// The sources are every `*.c` under `<project>/src/` (recursively, in a
/// stable order); the include path is `<project>/src/` then the bindings.
/// The intermediate core module is kept as `<project>/target/core/<name>.core.wasm`
/// for inspection with `wasm-tools` or `wasm-objdump`.
fn build_c(project: &Path, wit_dir: &Path, world: &str, out: &Path) -> anyhow::Result<()> {
    let src = project.join("src");
    let mut sources = Vec::new();
    collect_c_files(&src, &mut sources)?;
    if sources.is_empty() {
        bail!("{} has no .c files: nothing to build", src.display());
    }
    sources.sort();

    let bindings = project.join("target").join("bindings");
    let generated = write_bindings(wit_dir, world, &bindings)?;
    // The generated `.c` (lifting/lowering glue) and the `.o` (WIT metadata
    // as a custom section) are linked; the header is found via -I.
    let glue = generated
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "c" || e == "o"));

    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    // The core module goes to a subdirectory: `hoard serve --plugins target`
    // must not find it beside the component and try to load it.
    let core_dir = project.join("target").join("core");
    std::fs::create_dir_all(&core_dir)
        .with_context(|| format!("creating {}", core_dir.display()))?;
    let stem = out
        .file_stem()
        .map_or_else(|| "plugin".into(), |s| s.to_string_lossy());
    let core = core_dir.join(format!("{stem}.core.wasm"));

    // `HOARD_CC`, not `CC`, which usually names the host's compiler; Debian
    // 12 installs only `clang-14` unless the `clang` package is added.
    let cc = super::find_tool("HOARD_CC", &["clang", "clang-14"]).ok_or_else(|| {
        anyhow::anyhow!(
            "no C compiler found (HOARD_CC is unset; neither clang nor clang-14 is on PATH); {APT_HINT}"
        )
    })?;
    let mut command = Command::new(&cc);
    command
        .args(CFLAGS)
        .arg("-I")
        .arg(&src)
        .arg("-I")
        .arg(&bindings)
        .args(&sources)
        .args(glue)
        .arg("-o")
        .arg(&core);
    let output = command
        .output()
        .with_context(|| format!("running {}", cc.display()))?;
    let diagnostics = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        // A missing sysroot, builtins library or wasm-ld shows up as a
        // compile/link error naming the file; point at the packages then.
        let toolchain_missing = [
            "\"wasm-ld\"",
            "crt1-reactor.o",
            "libclang_rt.builtins",
            "-lc",
            "stdlib.h",
            "string.h",
            "stdint.h",
        ]
        .iter()
        .any(|needle| diagnostics.contains(needle))
            && (diagnostics.contains("not found")
                || diagnostics.contains("No such file")
                || diagnostics.contains("doesn't exist")
                || diagnostics.contains("unable to find")
                || diagnostics.contains("cannot open"));
        let hint = if toolchain_missing {
            format!("\nhint: {APT_HINT}")
        } else if diagnostics.contains("undefined symbol: exports_") {
            format!(
                "\nhint: implement every `exports_*` function declared in {}",
                bindings
                    .join(format!("{}.h", world.replace('-', "_")))
                    .display()
            )
        } else {
            String::new()
        };
        bail!(
            "{} failed ({}):\n{}{hint}",
            cc.display(),
            output.status,
            diagnostics.trim_end()
        );
    }
    // Warnings are the author's business, but they must see them.
    if !diagnostics.trim().is_empty() {
        eprintln!("{}", diagnostics.trim_end());
    }

    let module = std::fs::read(&core).with_context(|| format!("reading {}", core.display()))?;
    let component = componentize(&module)
        .with_context(|| format!("turning {} into a component", core.display()))?;
    std::fs::write(out, component).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

/// Wraps a core module that embeds its WIT metadata into a component. The
/// preview1 adapter is offered always; `wit-component` instantiates it only
/// when the module actually imports `wasi_snapshot_preview1`.
fn componentize(module: &[u8]) -> anyhow::Result<Vec<u8>> {
    use wasi_preview1_component_adapter_provider::{
        WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    };
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(module)
        .context("reading the module's component-type metadata")?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .context("loading the WASI preview1 adapter")?
        .encode()
}

/// Appends every `*.c` file under `dir` (recursively) to `found`.
fn collect_c_files(dir: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .with_context(|| format!("inspecting {}", path.display()))?;
        if kind.is_dir() {
            collect_c_files(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "c") {
            found.push(path);
        }
    }
    Ok(())
}

/// Whether `dir/src` holds C sources (how `Lang::detect` recognises a C project).
pub(super) fn has_sources(dir: &Path) -> bool {
    let mut found = Vec::new();
    collect_c_files(&dir.join("src"), &mut found).is_ok() && !found.is_empty()
}

/// The recipe `plugin_build` calls, with the world the project asked for
/// (`world = "origin-plugin"` in its `hoard-plugin.toml`, else `plugin`).
pub(super) fn build(dir: &Path, wit: &Path, world: &str, out: &Path) -> anyhow::Result<()> {
    build_c(dir, wit, world, out)
}
