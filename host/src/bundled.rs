//! The example definitions compiled into the binary, so that `hoard serve`
//! runs with nothing else on disk. `build.rs` builds them from `plugins/`.

use std::borrow::Cow;
use std::sync::Arc;

use crate::cache::catalog::PluginSource;
use crate::definition::DefinitionCaps;
use crate::plugin::{LoadError, LoadedPlugin, PluginLimits, PluginRuntime};

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

/// The bundled example whose label contains `name`, loaded on a runtime of
/// its own with `limits`: what a bench or test that calls a plugin directly,
/// without a catalog, starts from.
pub fn load_example(name: &str, limits: PluginLimits) -> Result<LoadedPlugin, LoadError> {
    let Some(source) = examples().into_iter().find(|s| s.label.contains(name)) else {
        return Err(LoadError::Read {
            path: format!("bundled:{name}"),
            source: std::io::ErrorKind::NotFound.into(),
        });
    };
    let runtime = Arc::new(PluginRuntime::new(limits)?);
    LoadedPlugin::load(
        &runtime,
        &source.bytes,
        &source.label,
        None,
        &DefinitionCaps::default(),
    )
}
