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

use wasmtime::UpdateDeadline;
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
    /// How the current call's epoch deadline is judged.
    watch: CallWatch,
}

/// What happens when a call meets its epoch deadline (wasmtime asks
/// [`PluginState::at_epoch_deadline`] only then, so a call that ends
/// before the next tick costs nothing here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallWatch {
    /// On a plugin thread, and while instantiating: the call is
    /// interrupted at its deadline (`call_timeout_ms`, wall clock).
    Deadline,
    /// Inline on an async worker: looked at every tick, and interrupted
    /// once it has used `budget` of this thread's CPU time (counted from its
    /// first tick, so it may use up to one tick more), or once its whole
    /// deadline has passed on the wall clock. CPU time, not wall time: an
    /// async worker that the machine preempts mid-call (a shared box) has
    /// not been stalled by the plugin, and a call that only waited must not
    /// send its definition to plugin threads for good.
    Inline {
        budget: Duration,
        ticks_left: u64,
        cpu_from: Option<Duration>,
    },
}

impl CallWatch {
    /// The watch of an inline call with `budget` of CPU time and a deadline
    /// of `deadline_ticks` epoch ticks.
    pub(crate) fn inline(budget: Duration, deadline_ticks: u64) -> Self {
        CallWatch::Inline {
            budget,
            ticks_left: deadline_ticks,
            cpu_from: None,
        }
    }
}

/// CPU time this thread has used (Linux); elsewhere the wall clock, which
/// makes the inline budget a wall-clock budget.
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_time() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
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
            watch: CallWatch::Deadline,
        }
    }

    /// Whether the instance's memory is close to its limit (retire it).
    pub(super) fn memory_near_limit(&self) -> bool {
        self.limiter.near_limit()
    }

    /// Called before each call so the log budget (and the watch on its
    /// deadline) is per call, not per instance.
    pub(super) fn begin_call(&mut self, watch: CallWatch) {
        self.watch = watch;
        self.log_budget = self.log_lines_per_call;
        if self.call_budget.is_some() {
            self.call_started = Instant::now();
        }
    }

    /// The current call met its epoch deadline: interrupt it, or (inline,
    /// within its CPU budget) give it one more tick.
    pub(super) fn at_epoch_deadline(&mut self) -> UpdateDeadline {
        let CallWatch::Inline {
            budget,
            ticks_left,
            cpu_from,
        } = &mut self.watch
        else {
            return UpdateDeadline::Interrupt;
        };
        *ticks_left = ticks_left.saturating_sub(1);
        if *ticks_left == 0 {
            return UpdateDeadline::Interrupt;
        }
        let now = thread_cpu_time();
        match *cpu_from {
            None => {
                *cpu_from = Some(now);
                UpdateDeadline::Continue(1)
            }
            Some(from) if now.saturating_sub(from) >= *budget => UpdateDeadline::Interrupt,
            Some(_) => UpdateDeadline::Continue(1),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn state() -> PluginState {
        PluginState::new(Arc::from("test"), 1 << 20, 1, None)
    }

    #[test]
    fn a_plugin_thread_call_is_interrupted_at_its_deadline() {
        let mut s = state();
        s.begin_call(CallWatch::Deadline);
        assert!(matches!(s.at_epoch_deadline(), UpdateDeadline::Interrupt));
    }

    #[test]
    fn an_inline_call_is_interrupted_by_the_cpu_it_used_not_by_waiting() {
        let mut s = state();
        s.begin_call(CallWatch::inline(Duration::from_millis(2), 1_000));
        // First tick: the CPU clock starts.
        assert!(matches!(s.at_epoch_deadline(), UpdateDeadline::Continue(1)));
        // Off the CPU (what a preempted async worker looks like): still going.
        std::thread::sleep(Duration::from_millis(20));
        assert!(matches!(s.at_epoch_deadline(), UpdateDeadline::Continue(1)));
        // On the CPU past the budget: interrupted.
        let from = thread_cpu_time();
        while thread_cpu_time().saturating_sub(from) < Duration::from_millis(3) {
            std::hint::black_box(0u64);
        }
        assert!(matches!(s.at_epoch_deadline(), UpdateDeadline::Interrupt));
    }

    #[test]
    fn an_inline_call_still_ends_at_its_whole_deadline() {
        let mut s = state();
        s.begin_call(CallWatch::inline(Duration::from_secs(3600), 3));
        assert!(matches!(s.at_epoch_deadline(), UpdateDeadline::Continue(1)));
        assert!(matches!(s.at_epoch_deadline(), UpdateDeadline::Continue(1)));
        assert!(matches!(s.at_epoch_deadline(), UpdateDeadline::Interrupt));
        // The next call starts with a fresh watch.
        s.begin_call(CallWatch::Deadline);
        assert!(matches!(s.at_epoch_deadline(), UpdateDeadline::Interrupt));
    }
}
