//! What each plugin instance's wasmtime store holds, and the host functions
//! the plugin may import (`log`, `now-ms`) plus the empty WASI context that
//! satisfies the Rust standard library's stdio imports.
//!
//! A plugin's log message is data: it is escaped (control characters,
//! newlines, ANSI sequences) before it is written, so it cannot forge a host
//! record.
//!
//! Nothing here may block: epoch interruption does not reach into host
//! functions, so a host function that waited would make a plugin unbounded.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::{LogLevel, hoard::definition::host};
use super::limits::GuestLimiter;

/// Longest log line kept; the rest is cut.
const MAX_LOG_LINE: usize = 4096;

/// Per-instance state: one per wasmtime store, never shared between calls in flight.
pub(crate) struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(super) limiter: GuestLimiter,
    plugin_id: Arc<str>,
    log_budget: u32,
    log_lines_per_call: u32,
    /// The call budget, and when the current call began: a WASI clock wait
    /// must end within it (see `runtime.rs`). `None` when the policy links
    /// no clocks, so calls then skip reading the time.
    call_budget: Option<Duration>,
    call_started: Instant,
}

impl PluginState {
    pub(super) fn new(
        plugin_id: Arc<str>,
        memory_bytes: usize,
        log_lines_per_call: u32,
        call_budget: Option<Duration>,
    ) -> Self {
        // No preopens, no environment, no arguments, no inherited stdio, and
        // every socket operation denied (said explicitly rather than trusting
        // the builder's defaults): an import of wasi:filesystem or
        // wasi:sockets that the allowlist lets through reaches nothing.
        let wasi = WasiCtxBuilder::new()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        Self {
            call_budget,
            call_started: Instant::now(),
            wasi,
            table: ResourceTable::new(),
            limiter: GuestLimiter::new(memory_bytes),
            plugin_id,
            log_budget: log_lines_per_call,
            log_lines_per_call,
        }
    }

    /// Called before each call so the log budget is per call, not per instance.
    pub(super) fn begin_call(&mut self) {
        self.log_budget = self.log_lines_per_call;
        if self.call_budget.is_some() {
            self.call_started = Instant::now();
        }
    }

    /// What is left of the current call's budget (none, failing closed, if
    /// this store was made without one).
    pub(super) fn budget_left(&self) -> Duration {
        self.call_budget.map_or(Duration::ZERO, |b| {
            b.saturating_sub(self.call_started.elapsed())
        })
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl host::Host for PluginState {
    fn log(&mut self, level: LogLevel, message: String) {
        if self.log_budget == 0 {
            return;
        }
        self.log_budget -= 1;
        // Plugin text is data: escaped before it reaches a log line (see `escape_log_text`).
        let message = super::error::truncate(super::error::escape_log_text(&message), MAX_LOG_LINE);
        let plugin = &*self.plugin_id;
        match level {
            LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            LogLevel::Info => tracing::info!(plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn now_ms(&mut self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// The `types` interface has no functions; wasmtime still wants the trait.
impl super::bindings::wit_types::Host for PluginState {}

/// `0.2.0`'s host interface is `0.1.0`'s: the same log and clock.
impl super::bindings::v2::hoard::definition::host::Host for PluginState {
    fn log(
        &mut self,
        level: super::bindings::v2::hoard::definition::host::LogLevel,
        message: String,
    ) {
        use super::bindings::v2::hoard::definition::host::LogLevel as V2;
        let level = match level {
            V2::Trace => LogLevel::Trace,
            V2::Debug => LogLevel::Debug,
            V2::Info => LogLevel::Info,
            V2::Warn => LogLevel::Warn,
            V2::Error => LogLevel::Error,
        };
        host::Host::log(self, level, message);
    }

    fn now_ms(&mut self) -> u64 {
        host::Host::now_ms(self)
    }
}

impl super::bindings::v2::hoard::definition::types::Host for PluginState {}
