//! The import allowlist: which interfaces a plugin may import, checked when
//! the plugin is loaded, before any of its code runs.
//!
//! A definition needs a log and a clock, which `hoard:definition/host`
//! provides. The Rust standard library on `wasm32-wasip2` also imports
//! `wasi:cli` and `wasi:io` for stdio, environment and exit; those are linked
//! to an empty context (no environment, no arguments, stdin empty, output
//! discarded). Everything else — files, sockets, clocks, randomness, HTTP — is
//! refused, with the offending import named in the error.

/// Interfaces a plugin may import, as `namespace:package/interface`
/// (any `@version` of them is accepted where the version is listed as `*`).
const ALLOWED: &[(&str, &str)] = &[
    ("hoard:definition/host", "0.1.0"),
    ("hoard:definition/types", "0.1.0"),
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

/// Human-readable list of the allowed imports, for errors and documentation.
pub fn allowed_imports() -> Vec<String> {
    ALLOWED
        .iter()
        .map(|(name, version)| format!("{name}@{version}"))
        .collect()
}

/// Whether one import name (`wasi:io/streams@0.2.4`) is on the allowlist.
pub fn is_allowed(import: &str) -> bool {
    let (name, version) = import.split_once('@').unwrap_or((import, ""));
    ALLOWED.iter().any(|(allowed, pattern)| {
        *allowed == name
            && match pattern.strip_suffix('*') {
                Some(prefix) => version.starts_with(prefix),
                None => version == *pattern,
            }
    })
}

/// Every import not on the allowlist, in the component's order.
pub fn forbidden<'a>(imports: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    imports
        .into_iter()
        .filter(|name| !is_allowed(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_accepts_host_and_stdio_only() {
        assert!(is_allowed("hoard:definition/host@0.1.0"));
        assert!(is_allowed("wasi:io/streams@0.2.4"));
        assert!(is_allowed("wasi:cli/environment@0.2.0"));
        assert!(!is_allowed("hoard:definition/host@0.2.0"));
        assert!(!is_allowed("wasi:filesystem/types@0.2.4"));
        assert!(!is_allowed("wasi:sockets/tcp@0.2.4"));
        assert!(!is_allowed("wasi:clocks/wall-clock@0.2.4"));
        assert!(!is_allowed("wasi:random/random@0.2.4"));
        assert!(!is_allowed("wasi:io/streams@0.3.0"));
        assert!(!is_allowed("wasi:io/streams"));
    }

    #[test]
    fn forbidden_names_every_culprit() {
        let imports = [
            "wasi:clocks/wall-clock@0.2.4",
            "wasi:io/error@0.2.4",
            "wasi:filesystem/preopens@0.2.4",
        ];
        assert_eq!(
            forbidden(imports),
            vec![
                "wasi:clocks/wall-clock@0.2.4",
                "wasi:filesystem/preopens@0.2.4"
            ]
        );
        assert!(forbidden(["wasi:io/error@0.2.4"]).is_empty());
    }
}
