//! The example definitions compiled into the binary, so that `hoard serve`
//! runs with nothing else on disk. `build.rs` builds them from `plugins/`.

use std::borrow::Cow;

use crate::cache::catalog::PluginSource;

/// The bundled example plugins, as load sources.
pub fn examples() -> Vec<PluginSource> {
    vec![
        PluginSource {
            label: "bundled:user_cache.wasm".into(),
            bytes: Cow::Borrowed(include_bytes!(concat!(env!("OUT_DIR"), "/user_cache.wasm"))),
        },
        PluginSource {
            label: "bundled:user_permissions.wasm".into(),
            bytes: Cow::Borrowed(include_bytes!(concat!(
                env!("OUT_DIR"),
                "/user_permissions.wasm"
            ))),
        },
    ]
}
