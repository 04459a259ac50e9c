//! Hot reload: replacing a definition's plugin while the server serves.
//!
//! `lifecycle.rs` loads, reloads and unloads plugins and swaps the catalog
//! (it compiles wasm, so it never runs on an async worker); `watcher.rs`
//! turns file changes in the plugin directory into lifecycle calls.

pub mod lifecycle;
pub mod watcher;
