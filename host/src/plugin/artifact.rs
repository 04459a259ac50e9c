//! Compiling plugins, and the on-disk cache of compiled artifacts that lets a
//! restart skip compilation.
//!
//! Deserializing a compiled artifact is `unsafe` in wasmtime: the bytes are
//! trusted to be machine code wasmtime produced. So the host only ever
//! deserializes files it wrote itself, named after the SHA-256 of the source
//! component and the engine's compatibility hash, and only after the file's
//! own SHA-256 matches the digest recorded next to it when it was written.
//! The cache directory is created with owner-only permissions. Any mismatch
//! or error falls back to compiling from source.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::LoadError;

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// How a component was obtained, for the load report and the benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArtifactSource {
    /// Compiled from the `.wasm` now.
    Compiled,
    /// Deserialized from the host's own artifact cache.
    Cached,
}

/// Compiles `wasm`, or loads its compiled form from `cache_dir` when a valid one is there.
pub(crate) fn load_component(
    engine: &Engine,
    wasm: &[u8],
    source_hash: &str,
    cache_dir: Option<&Path>,
) -> Result<(Component, ArtifactSource), LoadError> {
    let Some(dir) = cache_dir else {
        return Ok((compile(engine, wasm)?, ArtifactSource::Compiled));
    };
    let stem = format!("{source_hash}-{:016x}", engine_fingerprint(engine));
    let artifact = dir.join(format!("{stem}.cwasm"));
    let digest = dir.join(format!("{stem}.sha256"));
    if let Some(component) = read_cached(engine, &artifact, &digest) {
        return Ok((component, ArtifactSource::Cached));
    }
    let component = compile(engine, wasm)?;
    if let Err(error) = write_cached(&component, dir, &artifact, &digest) {
        tracing::warn!(%error, dir = %dir.display(), "could not cache compiled plugin");
    }
    Ok((component, ArtifactSource::Compiled))
}

fn compile(engine: &Engine, wasm: &[u8]) -> Result<Component, LoadError> {
    if wasm.starts_with(b"\0asm\x01\0\0\0") {
        return Err(LoadError::NotAComponent(
            "this is a core WebAssembly module; wrap it with `wasm-tools component new` \
             or build for wasm32-wasip2"
                .into(),
        ));
    }
    Component::new(engine, wasm).map_err(|e| LoadError::NotAComponent(format!("{e:#}")))
}

/// A number that changes whenever the engine would produce incompatible code.
fn engine_fingerprint(engine: &Engine) -> u64 {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

fn read_cached(engine: &Engine, artifact: &Path, digest: &Path) -> Option<Component> {
    let expected = fs::read_to_string(digest).ok()?;
    let bytes = fs::read(artifact).ok()?;
    if sha256_hex(&bytes) != expected.trim() {
        tracing::warn!(path = %artifact.display(), "cached artifact does not match its digest; recompiling");
        return None;
    }
    // SAFETY: the bytes are a file this host wrote with `Component::serialize`
    // (the digest beside it matches), in a directory only this user can
    // write, named after the engine's compatibility hash; wasmtime checks the
    // header and engine settings again before using them.
    #[allow(unsafe_code)]
    let loaded = unsafe { Component::deserialize(engine, &bytes) };
    match loaded {
        Ok(component) => Some(component),
        Err(error) => {
            tracing::warn!(%error, path = %artifact.display(), "cached artifact refused; recompiling");
            None
        }
    }
}

fn write_cached(
    component: &Component,
    dir: &Path,
    artifact: &Path,
    digest: &Path,
) -> Result<(), String> {
    create_private_dir(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let bytes = component.serialize().map_err(|e| format!("{e:#}"))?;
    write_atomically(artifact, &bytes)?;
    write_atomically(digest, sha256_hex(&bytes).as_bytes())?;
    Ok(())
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes to a temporary name and renames, so a concurrent reader (another
/// hoard starting on the same cache directory) never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp: PathBuf = path.with_extension(format!("tmp{}", std::process::id()));
    let mut file = fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}
