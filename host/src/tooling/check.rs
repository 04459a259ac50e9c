//! `hoard plugin check <file.wasm>`: loads a plugin exactly as the server
//! would (same engine, allowlist, world check, `describe()`, caps) and
//! prints a readable report, so a plugin author learns what the server will
//! say before deploying. Returns an error (non-zero exit) on any failure.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::cache::msgpack_strict;
use crate::cache::transcode::TranscodeError;
use crate::config::Config;
use crate::definition::Definition;
use crate::plugin::{LoadedPlugin, PluginRuntime, WasiPolicy};
use crate::tooling::conformance::{
    self, Answer, KeyAnswer, Plan, Subject, SubjectError, Suite, Verdict,
};
use hoard_l1::{ExpiryMode, Policy};

/// Metadata key under which a plugin may declare sample key parts
/// (comma-separated) for the check to time `generate-key` with.
pub const SAMPLE_PARTS_KEY: &str = "check.key-parts";

/// Calls timed per export.
const TIMED_CALLS: u32 = 1000;

/// Fresh instantiations timed.
const INSTANTIATIONS: usize = 5;

/// The file a plugin project declares its conformance suite in; `check`
/// finds it beside the component or in a directory above it (a project's
/// `target/` output sits below its root).
pub const SUITE_FILE: &str = "conformance.toml";

/// Directories above the component searched for [`SUITE_FILE`].
const SUITE_SEARCH_DEPTH: usize = 4;

/// Loads `path` with `config`'s limits and returns the report text. Runs
/// the conformance suite `suite`, or the one the project declares (see
/// [`SUITE_FILE`]), and fails if any case fails.
pub fn check(path: &Path, config: &Config, suite: Option<&Path>) -> anyhow::Result<String> {
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
            "inert       {} (linked, but no files, no network, no sleeping past the call budget)",
            inert.join(", ")
        );
    }
    describe(&mut out, d);

    let mut instantiations: Vec<Duration> = (0..INSTANTIATIONS)
        .map(|_| plugin.time_instantiation())
        .collect::<Result<_, _>>()
        .map_err(|fault| anyhow::anyhow!("{label}: instantiation failed: {fault}"))?;
    instantiations.sort();
    let _ = writeln!(
        out,
        "instantiate {:.2} ms (median of {INSTANTIATIONS}; the server keeps a warm pool)",
        ms(instantiations[instantiations.len() / 2])
    );

    let parts: Vec<String> = d
        .metadata
        .iter()
        .find(|(k, _)| k == SAMPLE_PARTS_KEY)
        .map(|(_, v)| v.split(',').map(str::to_owned).collect())
        .unwrap_or_else(|| vec!["42".to_owned()]);
    let (key, per_call) = timed(|| plugin.generate_key(&parts));
    match key.map_err(|fault| anyhow::anyhow!("{label}: generate-key {parts:?} failed: {fault}"))? {
        Ok(key) => {
            let _ = writeln!(
                out,
                "generate-key {parts:?} -> {key:?}, {} per call",
                us(per_call)
            );
        }
        Err(key_error) => {
            let _ = writeln!(out, "generate-key {parts:?} -> key error: {key_error}");
        }
    }
    // An empty map: every definition can answer it, whatever its verdict.
    let (verdict, per_call) = timed(|| plugin.validate(&[0x80]));
    let verdict =
        match verdict.map_err(|fault| anyhow::anyhow!("{label}: validate failed: {fault}"))? {
            Ok(()) => "accepted".to_owned(),
            Err(reasons) => format!("refused ({} reasons)", reasons.len()),
        };
    let _ = writeln!(
        out,
        "validate    {{}} -> {verdict}, {} per call",
        us(per_call)
    );
    if let Some(event) = d.invalidation_events.first() {
        let (answer, per_call) = timed(|| plugin.on_event(event, &[0x80]));
        let answer = match answer
            .map_err(|fault| anyhow::anyhow!("{label}: on-event {event} failed: {fault}"))?
        {
            Ok(plan) => format!("{} keys, {} patterns", plan.keys.len(), plan.patterns.len()),
            Err(refused) => format!("{refused}"),
        };
        let _ = writeln!(
            out,
            "on-event    {event} {{}} -> {answer}, {} per call",
            us(per_call)
        );
    }

    let suite = suite.map(Path::to_path_buf).or_else(|| find_suite(path));
    if let Some(suite_path) = suite {
        let suite = Suite::load(&suite_path)?;
        let report = suite.run(&mut InProcess(&plugin));
        let _ = writeln!(out, "suite       {}: {report}", suite_path.display());
        if !report.ok() {
            anyhow::bail!("{out}{label}: does not conform to {}", suite_path.display());
        }
    }
    let (calls, faults) = plugin.call_stats();
    if faults > 0 {
        anyhow::bail!("{label}: {faults} of {calls} calls faulted");
    }
    let _ = writeln!(out, "result      OK: the server will load this plugin");
    Ok(out)
}

/// The nearest [`SUITE_FILE`] at or above the component's directory.
fn find_suite(component: &Path) -> Option<PathBuf> {
    let start = component.canonicalize().ok()?;
    start
        .ancestors()
        .skip(1)
        .take(SUITE_SEARCH_DEPTH)
        .map(|dir| dir.join(SUITE_FILE))
        .find(|candidate| candidate.is_file())
}

/// The plugin called directly, as the server would: values and payloads
/// first held to the server's MessagePack rules (`msgpack_strict`, refused
/// with the server's text), then judged by the server's own `value_verdict`.
struct InProcess<'a>(&'a LoadedPlugin);

impl Subject for InProcess<'_> {
    fn describe(&mut self) -> Result<serde_json::Map<String, serde_json::Value>, SubjectError> {
        Ok(conformance::descriptor_fields(self.0.definition()))
    }

    fn key(&mut self, parts: &[String]) -> Result<KeyAnswer, SubjectError> {
        self.0
            .generate_key(parts)
            .map(Answer::Plugin)
            .map_err(|e| SubjectError(e.to_string()))
    }

    fn validate(&mut self, msgpack: &[u8]) -> Result<Verdict, SubjectError> {
        if let Some(refusal) = host_refusal(msgpack) {
            return Ok(Verdict::Host(refusal));
        }
        crate::cache::value_verdict(self.0, msgpack)
            .map(Verdict::Plugin)
            .map_err(|e| SubjectError(e.to_string()))
    }

    fn plan(&mut self, event: &str, msgpack: &[u8]) -> Result<Plan, SubjectError> {
        if let Some(refusal) = host_refusal(msgpack) {
            return Ok(Plan::Host(refusal));
        }
        self.0
            .on_event(event, msgpack)
            .map(Plan::Plugin)
            .map_err(|e| SubjectError(e.to_string()))
    }
}

/// What the server would reply to a client that sent `msgpack`, if it
/// refuses it before any plugin sees it.
fn host_refusal(msgpack: &[u8]) -> Option<String> {
    msgpack_strict::check(msgpack)
        .err()
        .map(|e| TranscodeError::from(e).to_string())
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

/// Calls `f` [`TIMED_CALLS`] times; its last answer and the mean time per call.
fn timed<T>(mut f: impl FnMut() -> T) -> (T, Duration) {
    let started = Instant::now();
    let mut last = f();
    for _ in 1..TIMED_CALLS {
        last = f();
    }
    (last, started.elapsed() / TIMED_CALLS)
}

fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
