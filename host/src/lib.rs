//! hoard: a cache runtime whose cache definitions are sandboxed WebAssembly
//! components. The host owns storage, TTL, eviction and the network; each
//! definition's plugin owns its key scheme, validation and invalidation
//! rules. See ARCHITECTURE.md for the map of modules and the path of a
//! request through them.
//!
//! The crate is grouped by wing: `cmd/` (one file per command), `cache/` (the
//! data path and what it stores), `plugin/` (everything wasmtime), `reload/`
//! (hot reload), `server/` (accept loop and housekeeping), `tooling/` (what
//! plugin authors run: check, build, new, conformance). The store (`hoard-l1`)
//! and the protocol (`hoard-resp`) are crates of their own: they import
//! nothing of the host.

pub mod backoff;
pub mod bundled;
pub mod cache;
pub mod cmd;
pub mod config;
pub mod credential;
pub mod definition;
pub mod observe;
pub mod origin;
pub mod plugin;
pub mod reload;
pub mod server;
pub mod startup;
pub mod tenant;
pub mod tier;
pub(crate) mod timeout;
pub mod tooling;
pub mod write_behind;

#[cfg(test)]
mod test_dir;
