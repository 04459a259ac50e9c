//! hoard: a cache runtime whose cache definitions are sandboxed WebAssembly
//! components. The host owns storage, TTL, eviction and the network; each
//! definition's plugin owns its key scheme, validation and invalidation
//! rules. See ARCHITECTURE.md for the map of modules and the path of a
//! request through them.

pub mod bundled;
pub mod cache;
pub mod catalog;
pub mod check;
pub mod cmd;
pub mod compression;
pub mod config;
pub mod conformance;
pub mod definition;
pub mod encryption;
pub mod envelope;
pub mod error;
pub mod invalidation;
pub mod l1;
pub mod lifecycle;
pub mod outcome;
pub mod plugin;
pub mod plugin_build;
pub mod resp;
pub mod scaffold;
pub mod server;
pub mod startup;
pub mod tenant;
pub mod watcher;
pub mod wire;

#[cfg(test)]
mod test_dir;
