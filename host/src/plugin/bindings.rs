//! The repository's only `bindgen!`: Rust types for the `plugin` world of
//! `wit/definition.wit`.
//!
//! Everything generated here stays inside `plugin/`; the rest of the host
//! sees the conversions in `describe.rs` and `runner.rs`.

#![allow(missing_docs)]

wasmtime::component::bindgen!({
    world: "plugin",
    path: "../wit",
});

pub(crate) use self::hoard::definition::host::LogLevel;
pub(crate) use self::hoard::definition::types as wit_types;
