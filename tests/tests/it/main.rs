//! The integration tests, as one binary: cargo links a test binary per file
//! at the top of `tests/tests`, and each link pulls in the whole `hoard`
//! crate, so one binary with a module per area builds (and lists) once.
//! Every test starts its own real `hoard` on port 0 through
//! [`hoard_tests::Server`].

mod artifacts;
mod clients;
mod commands;
mod conformance;
mod cpu_share;
mod credentials;
mod definitions;
mod differential;
mod events;
mod invalidation_budget;
mod observe;
mod origins;
mod plain;
mod plugin_check;
mod plugin_files;
mod plugin_log;
mod plugin_new;
mod protocol;
mod reload;
mod sandbox;
mod tenants;
mod tiers;
mod tracking;
mod transactions;
mod write_behind;
