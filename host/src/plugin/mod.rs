//! The plugin host: loads definition plugins (WebAssembly components), checks
//! them, and runs their exports in a sandbox.
//!
//! This module is the only place that knows about wasmtime. It hands the rest
//! of the host a [`LoadedPlugin`], whose methods take and return host types
//! (`Definition`, `KeyError`, `Invalidation`) and fail with [`PluginError`].
//!
//! Sandbox, in one place: a plugin may import only the allowlist in
//! `imports.rs` (checked at load); each call runs on an instance no other call
//! uses, under an epoch deadline (`call_timeout_ms`), a memory cap
//! (`memory_bytes`), a stack cap, and a cap on the bytes it may hand back
//! (`max_output_bytes`, wasmtime's hostcall fuel); an instance whose call
//! failed is dropped with its store and never reused.

mod artifact;
mod bindings;
mod breaker;
mod convert;
mod convert_origin;
mod error;
pub(crate) mod file;
mod imports;
mod limits;
mod pool;
mod runtime;
mod state;
pub mod workers;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

pub use artifact::{ArtifactSource, sha256_hex};
pub use error::{LoadError, PluginError};
pub use imports::WasiPolicy;
pub use limits::PluginLimits;
pub use pool::CallCounters;
pub(crate) use pool::with_inline_budget;
pub use runtime::PluginRuntime;
pub use workers::{PluginWorkers, WorkerError};

use crate::definition::{Definition, DefinitionCaps, EventError, Invalidation, KeyError};
use crate::observe::Export;
use crate::origin::mapping::{Loaded, OriginRequest, OriginResponse};
use bindings::PluginPre;
use pool::InstancePool;

/// Where a plugin came from and what loading it cost, for operators.
#[derive(Clone, Debug)]
pub struct PluginOrigin {
    /// File name or label (`user_cache.wasm`, `bundled:user_cache.wasm`).
    pub source: String,
    /// SHA-256 of the component bytes.
    pub sha256: String,
    /// Size of the component in bytes.
    pub size: usize,
    /// When it was loaded.
    pub loaded_at: SystemTime,
    /// Whether it was compiled now or taken from the artifact cache.
    pub artifact: ArtifactSource,
    /// Time to compile or deserialize.
    pub compile_time: Duration,
    /// The component's imports, as the allowlist saw them.
    pub imports: Vec<String>,
    /// The language it was written in, from its `producers` sections.
    pub language: &'static str,
}

/// A checked, ready plugin: its definition plus a pool of instances.
pub struct LoadedPlugin {
    definition: Definition,
    origin: PluginOrigin,
    pool: InstancePool,
    times: crate::observe::ExportTimes,
    max_key_bytes: usize,
    max_invalidation_items: usize,
}

impl LoadedPlugin {
    /// Loads a plugin from its component bytes: compile (or reuse the cached
    /// artifact), check imports and world, call `describe()`, check the
    /// descriptor, and warm the instance pool. Any failure refuses the plugin.
    pub fn load(
        runtime: &Arc<PluginRuntime>,
        wasm: &[u8],
        source: &str,
        cache_dir: Option<&Path>,
        caps: &DefinitionCaps,
    ) -> Result<LoadedPlugin, LoadError> {
        let sha256 = sha256_hex(wasm);
        let started = Instant::now();
        let (component, artifact) =
            artifact::load_component(&runtime.engine, wasm, &sha256, cache_dir)?;
        let compile_time = started.elapsed();

        let imports: Vec<String> = component
            .component_type()
            .imports(&runtime.engine)
            .map(|(name, _)| name.to_owned())
            .collect();
        let policy = runtime.limits().wasi;
        let forbidden = policy.forbidden(imports.iter().map(String::as_str));
        if !forbidden.is_empty() {
            return Err(LoadError::ForbiddenImport {
                imports: forbidden.join("`, `"),
                allowed: policy.allowed_imports().join(", "),
            });
        }
        let pre = runtime
            .linker
            .instantiate_pre(&component)
            .and_then(PluginPre::new)
            .map_err(|e| LoadError::WrongWorld(error::truncate(format!("{e:#}"), 512)))?;

        let pool = InstancePool::new(Arc::clone(runtime), pre, Arc::from(source))
            .map_err(|e| LoadError::WrongWorld(error::truncate(format!("{e:#}"), 512)))?;
        let descriptor = pool
            .call(|plugin, store| plugin.call_describe(store))
            .map_err(LoadError::Describe)?;
        let definition = convert::definition_from(descriptor)?;
        definition.check(caps)?;
        pool.warm().map_err(LoadError::Describe)?;

        let limits = runtime.limits();
        Ok(LoadedPlugin {
            definition,
            origin: PluginOrigin {
                source: source.to_owned(),
                sha256,
                size: wasm.len(),
                loaded_at: SystemTime::now(),
                artifact,
                compile_time,
                imports,
                language: crate::observe::language::detect(wasm),
            },
            pool,
            times: crate::observe::ExportTimes::default(),
            max_key_bytes: limits.max_key_bytes,
            max_invalidation_items: limits.max_invalidation_items,
        })
    }

    /// The definition this plugin declared.
    pub fn definition(&self) -> &Definition {
        &self.definition
    }

    /// Where it came from and what loading cost.
    pub fn origin(&self) -> &PluginOrigin {
        &self.origin
    }

    /// The CPU time a call may take when it runs inline on an async
    /// worker; `None` when inline calls are off (`inline_budget_us` 0).
    pub(crate) fn inline_budget(&self) -> Option<Duration> {
        self.pool.inline_budget()
    }

    /// The limits its calls run under.
    pub fn limits(&self) -> &PluginLimits {
        self.pool.limits()
    }

    /// Call and fault counters.
    pub fn counters(&self) -> &CallCounters {
        &self.pool.counters
    }

    /// Instances ready in the pool right now.
    pub fn idle_instances(&self) -> usize {
        self.pool.idle_len()
    }

    /// Asks the plugin for the key of `parts`.
    pub fn generate_key(&self, parts: &[String]) -> Result<Result<String, KeyError>, PluginError> {
        let answer = self.timed(Export::GenerateKey, || {
            self.pool
                .call(|plugin, store| plugin.call_generate_key(store, parts))
        })?;
        match answer {
            Ok(key) if key.is_empty() => Err(PluginError::Contract("returned an empty key".into())),
            Ok(key) if key.len() > self.max_key_bytes => Err(PluginError::Contract(format!(
                "returned a key of {} bytes (limit {})",
                key.len(),
                self.max_key_bytes
            ))),
            answer => Ok(answer.map_err(convert::key_error_from)),
        }
    }

    /// Asks the plugin whether `value` (MessagePack) may be stored.
    pub fn validate(&self, value: &[u8]) -> Result<Result<(), Vec<String>>, PluginError> {
        self.timed(Export::Validate, || {
            self.pool
                .call(|plugin, store| plugin.call_validate(store, value))
        })
    }

    /// Asks the plugin what `event` (payload MessagePack) invalidates.
    pub fn on_event(
        &self,
        event: &str,
        payload: &[u8],
    ) -> Result<Result<Invalidation, EventError>, PluginError> {
        let answer = self.timed(Export::OnEvent, || {
            self.pool
                .call(|plugin, store| plugin.call_on_event(store, event, payload))
        })?;
        match answer {
            Ok(inv) if inv.keys.len() + inv.patterns.len() > self.max_invalidation_items => {
                Err(PluginError::Contract(format!(
                    "named {} keys and patterns (limit {})",
                    inv.keys.len() + inv.patterns.len(),
                    self.max_invalidation_items
                )))
            }
            answer => Ok(answer
                .map(convert::invalidation_from)
                .map_err(convert::event_error_from)),
        }
    }

    /// Whether the plugin exports the `origin` mapping of `0.2.0`.
    pub fn has_origin_mapping(&self) -> bool {
        self.pool.has_origin()
    }

    /// Asks the plugin which origin request loads the entry of `parts`.
    pub fn origin_load_request(
        &self,
        sql: bool,
        parts: &[String],
        key: &str,
    ) -> Result<Result<OriginRequest, String>, PluginError> {
        let kind = convert_origin::kind(sql);
        let answer = self.timed(Export::OriginMap, || {
            self.pool
                .call_origin(|origin, store| origin.call_load_request(store, kind, parts, key))
        })?;
        Ok(answer.map(convert_origin::request_from))
    }

    /// Asks the plugin what the origin's `response` to a load means.
    pub fn origin_load_response(
        &self,
        parts: &[String],
        response: &OriginResponse,
    ) -> Result<Result<Loaded, String>, PluginError> {
        let response = convert_origin::response_to(response);
        let answer = self.timed(Export::OriginMap, || {
            self.pool
                .call_origin(|origin, store| origin.call_load_response(store, parts, &response))
        })?;
        Ok(answer.map(convert_origin::loaded_from))
    }

    /// Asks the plugin which origin request writes `value` for `parts`.
    pub fn origin_write_request(
        &self,
        sql: bool,
        parts: &[String],
        value: &[u8],
        sequence: u64,
    ) -> Result<Result<OriginRequest, String>, PluginError> {
        let kind = convert_origin::kind(sql);
        let answer = self.timed(Export::OriginMap, || {
            self.pool.call_origin(|origin, store| {
                origin.call_write_request(store, kind, parts, value, sequence)
            })
        })?;
        Ok(answer.map(convert_origin::request_from))
    }

    /// Whether the circuit breaker refuses calls right now.
    pub fn is_quarantined(&self) -> bool {
        self.pool.breaker.is_open(self.pool.now_ms())
    }

    /// Time left before a quarantined plugin gets its next probe call.
    pub fn quarantine_left(&self) -> Option<Duration> {
        let until = self.pool.breaker.open_until_ms();
        let now = self.pool.now_ms();
        (now < until).then(|| Duration::from_millis(until - now))
    }

    /// Time spent in each export, for metrics and the admin page.
    pub fn export_times(&self) -> &crate::observe::ExportTimes {
        &self.times
    }

    /// One export call, timed (and traced) by `observe`.
    fn timed<T>(
        &self,
        export: Export,
        call: impl FnOnce() -> Result<T, PluginError>,
    ) -> Result<T, PluginError> {
        self.times.time(export, &self.definition.name, call)
    }

    /// How many times the plugin was quarantined.
    pub fn quarantines(&self) -> u64 {
        self.pool.breaker.trips()
    }

    /// The cost of one fresh instance (created and thrown away).
    pub fn time_instantiation(&self) -> Result<std::time::Duration, PluginError> {
        self.pool.time_instantiation()
    }

    /// Calls made and faults seen, as plain numbers.
    pub fn call_stats(&self) -> (u64, u64) {
        let c = &self.pool.counters;
        (c.calls.get(), c.faults.load(Ordering::Relaxed))
    }

    /// Instances retired near their memory limit.
    pub fn retired_instances(&self) -> u64 {
        self.pool.counters.retired.load(Ordering::Relaxed)
    }
}
