//! What plugin authors run, not the server: `hoard plugin check` (the load
//! path as a report), `hoard plugin build` (one recipe per language),
//! `hoard plugin new` (scaffolds from `host/templates/`) and the conformance
//! suite both `check` and the integration tests judge plugins with.

pub mod check;
pub mod conformance;
pub mod plugin_build;
pub mod scaffold;
