//! The import allowlist: which interfaces a plugin may import, checked when
//! the plugin is loaded, before any of its code runs.
//!
//! A definition needs a log and a clock, which `hoard:definition/host`
//! provides, so the strictest policy ([`WasiPolicy::Minimal`]) allows only
//! that plus the `wasi:cli` and `wasi:io` stdio the Rust standard library
//! imports, linked to an empty context (no environment, no arguments, stdin
//! empty, output discarded).
//!
//! Some toolchains import files, sockets, clocks and randomness whether the
//! plugin uses them or not (componentize-py without `--stub-wasi`, C code
//! that calls `printf` through the preview1 adapter). [`WasiPolicy::Inert`]
//! (opt-in) lets such a guest load because
//! none of those imports grants anything: the filesystem has no preopened
//! directory, every socket operation is denied, and a sleep is cut to the
//! call's deadline (see `runtime.rs`). Randomness and the clocks are real.
//! Everything outside WASI 0.2 — HTTP, or any interface the host does not
//! know — is refused under either policy, with the offending import named.

use serde::Deserialize;

/// Which WASI interfaces a plugin may import; `[plugin] wasi` in the config.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WasiPolicy {
    /// stdio, environment and exit only (what Rust's std needs). Every
    /// language hoard builds fits: componentize-py stubs WASI out, and the
    /// JS and C recipes import none.
    #[default]
    Minimal,
    /// Also clocks, randomness, and files and sockets that grant nothing,
    /// for guests whose toolchain imports them regardless.
    Inert,
}

/// Interfaces any plugin may import, as `namespace:package/interface`
/// (any `@version` of them is accepted where the version is listed as `*`).
const MINIMAL: &[(&str, &str)] = &[
    ("hoard:definition/host", "0.1.0"),
    ("hoard:definition/types", "0.1.0"),
    ("hoard:definition/host", "0.2.0"),
    ("hoard:definition/types", "0.2.0"),
    ("wasi:io/error", "0.2.*"),
    ("wasi:io/poll", "0.2.*"),
    ("wasi:io/streams", "0.2.*"),
    ("wasi:cli/environment", "0.2.*"),
    ("wasi:cli/exit", "0.2.*"),
    ("wasi:cli/stdin", "0.2.*"),
    ("wasi:cli/stdout", "0.2.*"),
    ("wasi:cli/stderr", "0.2.*"),
    ("wasi:cli/terminal-input", "0.2.*"),
    ("wasi:cli/terminal-output", "0.2.*"),
    ("wasi:cli/terminal-stdin", "0.2.*"),
    ("wasi:cli/terminal-stdout", "0.2.*"),
    ("wasi:cli/terminal-stderr", "0.2.*"),
];

/// Interfaces [`WasiPolicy::Inert`] adds: linked, but granting nothing.
const INERT: &[(&str, &str)] = &[
    ("wasi:clocks/monotonic-clock", "0.2.*"),
    ("wasi:clocks/wall-clock", "0.2.*"),
    ("wasi:random/random", "0.2.*"),
    ("wasi:random/insecure", "0.2.*"),
    ("wasi:random/insecure-seed", "0.2.*"),
    ("wasi:filesystem/types", "0.2.*"),
    ("wasi:filesystem/preopens", "0.2.*"),
    ("wasi:sockets/network", "0.2.*"),
    ("wasi:sockets/instance-network", "0.2.*"),
    ("wasi:sockets/tcp", "0.2.*"),
    ("wasi:sockets/tcp-create-socket", "0.2.*"),
    ("wasi:sockets/udp", "0.2.*"),
    ("wasi:sockets/udp-create-socket", "0.2.*"),
    ("wasi:sockets/ip-name-lookup", "0.2.*"),
];

impl WasiPolicy {
    fn lists(self) -> &'static [&'static [(&'static str, &'static str)]] {
        match self {
            WasiPolicy::Minimal => &[MINIMAL],
            WasiPolicy::Inert => &[MINIMAL, INERT],
        }
    }

    /// Human-readable list of the allowed imports, for errors and documentation.
    pub fn allowed_imports(self) -> Vec<String> {
        self.lists()
            .iter()
            .flat_map(|list| list.iter())
            .map(|(name, version)| format!("{name}@{version}"))
            .collect()
    }

    /// Whether one import name (`wasi:io/streams@0.2.4`) is allowed.
    pub fn is_allowed(self, import: &str) -> bool {
        let (name, version) = import.split_once('@').unwrap_or((import, ""));
        self.lists()
            .iter()
            .flat_map(|list| list.iter())
            .any(|(allowed, pattern)| {
                *allowed == name
                    && match pattern.strip_suffix('*') {
                        Some(prefix) => version.starts_with(prefix),
                        None => version == *pattern,
                    }
            })
    }

    /// Every import not allowed, in the component's order.
    pub fn forbidden<'a>(self, imports: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        imports
            .into_iter()
            .filter(|name| !self.is_allowed(name))
            .collect()
    }

    /// Whether an allowed import is one that is linked but grants nothing,
    /// so reports can tell a plugin's author which imports are inert.
    pub fn is_inert(import: &str) -> bool {
        let name = import.split_once('@').map_or(import, |(name, _)| name);
        INERT.iter().any(|(inert, _)| *inert == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_accepts_host_and_stdio_only() {
        let p = WasiPolicy::Minimal;
        assert!(p.is_allowed("hoard:definition/host@0.1.0"));
        assert!(p.is_allowed("wasi:io/streams@0.2.4"));
        assert!(p.is_allowed("wasi:cli/environment@0.2.0"));
        // Both released contracts, and no version that does not exist.
        assert!(p.is_allowed("hoard:definition/host@0.2.0"));
        assert!(!p.is_allowed("hoard:definition/host@0.3.0"));
        assert!(!p.is_allowed("wasi:filesystem/types@0.2.4"));
        assert!(!p.is_allowed("wasi:sockets/tcp@0.2.4"));
        assert!(!p.is_allowed("wasi:clocks/wall-clock@0.2.4"));
        assert!(!p.is_allowed("wasi:random/random@0.2.4"));
        assert!(!p.is_allowed("wasi:io/streams@0.3.0"));
        assert!(!p.is_allowed("wasi:io/streams"));
    }

    #[test]
    fn inert_adds_linked_but_empty_interfaces_and_nothing_else() {
        let p = WasiPolicy::Inert;
        assert!(p.is_allowed("wasi:filesystem/preopens@0.2.0"));
        assert!(p.is_allowed("wasi:sockets/tcp-create-socket@0.2.6"));
        assert!(p.is_allowed("wasi:clocks/monotonic-clock@0.2.4"));
        assert!(p.is_allowed("wasi:random/insecure-seed@0.2.4"));
        assert!(!p.is_allowed("wasi:http/outgoing-handler@0.2.4"));
        assert!(!p.is_allowed("wasi:filesystem/preopens@0.3.0"));
        assert!(!p.is_allowed("evil:net/raw@1.0.0"));
        assert!(WasiPolicy::is_inert("wasi:sockets/udp@0.2.0"));
        assert!(!WasiPolicy::is_inert("wasi:io/streams@0.2.0"));
        assert_eq!(WasiPolicy::default(), WasiPolicy::Minimal);
    }

    #[test]
    fn forbidden_names_every_culprit() {
        let imports = [
            "wasi:clocks/wall-clock@0.2.4",
            "wasi:io/error@0.2.4",
            "wasi:filesystem/preopens@0.2.4",
        ];
        assert_eq!(
            WasiPolicy::Minimal.forbidden(imports),
            vec![
                "wasi:clocks/wall-clock@0.2.4",
                "wasi:filesystem/preopens@0.2.4"
            ]
        );
        assert!(
            WasiPolicy::Minimal
                .forbidden(["wasi:io/error@0.2.4"])
                .is_empty()
        );
        assert_eq!(
            WasiPolicy::Inert.forbidden(["wasi:http/types@0.2.4", "wasi:io/error@0.2.4"]),
            vec!["wasi:http/types@0.2.4"]
        );
    }
}
