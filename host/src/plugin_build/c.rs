//! C: bindings from wit-bindgen's C generator, compiled with clang for
//! wasm32-wasi, wrapped into a component by wit-component. (Placeholder
//! until the recipe lands.)

use std::path::Path;

/// Whether `dir/src` holds C sources.
pub(super) fn has_sources(dir: &Path) -> bool {
    std::fs::read_dir(dir.join("src")).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.path().extension().is_some_and(|x| x == "c"))
    })
}

pub(super) fn build(_dir: &Path, _wit: &Path, _out: &Path) -> anyhow::Result<()> {
    anyhow::bail!("C plugins cannot be built yet")
}
