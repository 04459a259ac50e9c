//! Builds the definition plugins in `plugins/` for `wasm32-wasip2`, so that the
//! `hoard` binary can bundle the example definitions and the integration tests
//! find the misbehaving fixtures, without any `.wasm` ever being committed.
//!
//! The nested cargo gets its own target directory (`plugins/target`) and a
//! scrubbed environment: the outer build's RUSTFLAGS, wrappers (clippy) and
//! target selection are for the host, not for the guests.

use std::env;
use std::error::Error;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

/// Example definitions bundled into the binary (artifact names).
const BUNDLED: &[&str] = &["user_cache.wasm", "user_permissions.wasm"];

/// Variables of the outer cargo that must not leak into the guest build.
const SCRUBBED: &[&str] = &[
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CLIPPY_ARGS",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_LLVM_COV",
    "LLVM_PROFILE_FILE",
];

fn main() -> Result<(), Box<dyn Error>> {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let plugins = manifest_dir.join("..").join("plugins");
    // `shared` holds the guest helpers every plugin links: a change there
    // must rebuild the bundled examples too, or the binary serves stale ones.
    for watched in [
        "Cargo.toml",
        "Cargo.lock",
        "examples",
        "fixtures",
        "shared",
        ".cargo",
    ] {
        println!("cargo:rerun-if-changed={}", plugins.join(watched).display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("../wit").display()
    );

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    build
        .arg("build")
        .arg("--release")
        .arg("--target")
        .arg("wasm32-wasip2")
        .arg("--manifest-path")
        .arg(plugins.join("Cargo.toml"))
        .current_dir(&plugins);
    for var in SCRUBBED {
        build.env_remove(var);
    }
    let status = build.status()?;
    if !status.success() {
        return Err(format!(
            "building the plugins in {} failed ({status}); is the target installed? \
             run `rustup target add wasm32-wasip2`",
            plugins.display()
        )
        .into());
    }

    let artifacts = plugins.join("target/wasm32-wasip2/release");
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    for name in BUNDLED {
        fs::copy(artifacts.join(name), out_dir.join(name))
            .map_err(|e| format!("copying {name} from {}: {e}", artifacts.display()))?;
    }
    Ok(())
}
