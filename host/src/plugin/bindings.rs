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

/// `hoard:definition@0.2.0`: the same rules as `0.1.0` plus the `origin`
/// mapping. A `0.2.0` plugin's core exports have the same shapes as
/// `0.1.0`'s (the component model compares records structurally), so the
/// pool drives them through the `0.1.0` bindings above and uses these only
/// for the host imports of `0.2.0` and for the `origin` export.
pub(crate) mod v2 {
    #![allow(missing_docs)]

    wasmtime::component::bindgen!({
        world: "origin-plugin",
        path: "../wit/0.2.0",
    });

    pub(crate) use self::exports::hoard::definition::origin;
}
