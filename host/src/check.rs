//! `hoard plugin check <file.wasm>`: loads a plugin exactly as the server
//! would (same engine, allowlist, world check, `describe()`, caps) and
//! prints a readable report, so a plugin author learns what the server will
//! say before deploying. Returns an error (non-zero exit) on any failure.

use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::Config;
use crate::definition::Definition;
use crate::l1::{ExpiryMode, Policy};
use crate::plugin::{LoadedPlugin, PluginRuntime, WasiPolicy};

/// Metadata key under which a plugin may declare sample key parts
/// (comma-separated) for the check to time `generate-key` with.
pub const SAMPLE_PARTS_KEY: &str = "check.key-parts";

/// Calls timed per export.
const TIMED_CALLS: u32 = 1000;

/// Loads `path` with `config`'s limits and returns the report text.
pub fn check(path: &Path, config: &Config) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let runtime = Arc::new(PluginRuntime::new(config.plugin.clone())?);
    let label = path.display().to_string();
    let plugin = LoadedPlugin::load(&runtime, &bytes, &label, None, &config.caps())
        .map_err(|e| anyhow::anyhow!("{label}: refused: {e}"))?;
    let mut out = String::new();
    let origin = plugin.origin();
    let d = plugin.definition();
    let _ = writeln!(out, "plugin      {label}");
    let _ = writeln!(
        out,
        "size        {} bytes, sha256 {}",
        origin.size, origin.sha256
    );
    let _ = writeln!(out, "compile     {:.1} ms", ms(origin.compile_time));
    let (inert, granted): (Vec<&str>, Vec<&str>) = origin
        .imports
        .iter()
        .map(String::as_str)
        .partition(|name| WasiPolicy::is_inert(name));
    let _ = writeln!(out, "imports     {}", granted.join(", "));
    if !inert.is_empty() {
        let _ = writeln!(
            out,
            "inert       {} (linked, but no files, no network; sleeps cut to the call budget)",
            inert.join(", ")
        );
    }
    describe(&mut out, d);

    let parts: Vec<String> = d
        .metadata
        .iter()
        .find(|(k, _)| k == SAMPLE_PARTS_KEY)
        .map(|(_, v)| v.split(',').map(str::to_owned).collect())
        .unwrap_or_else(|| vec!["42".to_owned()]);
    let started = Instant::now();
    let mut last = None;
    for _ in 0..TIMED_CALLS {
        last = Some(plugin.generate_key(&parts));
    }
    let per_call = started.elapsed() / TIMED_CALLS;
    match last {
        Some(Ok(Ok(key))) => {
            let _ = writeln!(
                out,
                "generate-key {parts:?} -> {key:?}, {:.2} µs per call",
                per_call.as_secs_f64() * 1e6
            );
        }
        Some(Ok(Err(key_error))) => {
            let _ = writeln!(out, "generate-key {parts:?} -> key error: {key_error}");
        }
        Some(Err(fault)) => anyhow::bail!("{label}: generate-key {parts:?} failed: {fault}"),
        None => {}
    }
    let (calls, faults) = plugin.call_stats();
    if faults > 0 {
        anyhow::bail!("{label}: {faults} of {calls} calls faulted");
    }
    let _ = writeln!(out, "result      OK: the server will load this plugin");
    Ok(out)
}

fn describe(out: &mut String, d: &Definition) {
    let _ = writeln!(
        out,
        "cache       {} ({}) — {}",
        d.name,
        d.versioned_id(),
        d.description
    );
    let _ = writeln!(
        out,
        "ttl         default {} ms, max {} ms, {}",
        d.default_ttl_ms,
        d.max_ttl_ms,
        match d.expiry {
            ExpiryMode::Absolute => "absolute",
            ExpiryMode::Sliding => "sliding",
        }
    );
    let _ = writeln!(
        out,
        "storage     max {} items, {}, nulls {}, compress {}, encrypt {}, pure keys {}",
        d.max_items,
        match d.eviction {
            Policy::Lru => "lru",
            Policy::Lfu => "lfu",
        },
        if d.allow_null { "allowed" } else { "refused" },
        d.compress_threshold
            .map_or("off".to_owned(), |t| format!("above {t} B")),
        d.encrypt,
        d.pure_keys,
    );
    let _ = writeln!(out, "events      {}", d.invalidation_events.join(", "));
    let _ = writeln!(out, "dependents  {}", d.dependent_caches.join(", "));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
