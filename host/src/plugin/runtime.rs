//! The one wasmtime engine the host compiles and runs every plugin with, its
//! linker, and the epoch ticker that gives every call a wall-clock deadline.
//!
//! Engine features are chosen for call latency: no component-model-async
//! (it makes every host-to-guest call several times slower), epoch
//! interruption rather than fuel (cheaper, and a deadline in time is what an
//! operator means by "a call may take 100 ms").

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use wasmtime::StoreContextMut;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine};
use wasmtime_wasi::clocks::WasiClocksView;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;

use super::bindings::Plugin;
use super::limits::{PluginLimits, SleepPastDeadline};
use super::state::PluginState;

/// How often the epoch advances; deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(2);

/// The WASI clocks package version wasmtime-wasi links; an import of any
/// older 0.2 version resolves to it.
const CLOCKS: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Replaces WASI's two ways to sleep with versions bound by the call budget.
///
/// Epoch interruption cannot reach into a host function, and the sync WASI
/// shims block the calling thread while a guest waits on a clock pollable:
/// a `time.sleep(3600)` would hold a plugin worker for an hour. A wait that
/// fits in what is left of the call's budget is granted; a longer one traps
/// at once as a timeout, since that is how the call would end anyway.
fn cap_sleeps(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(CLOCKS)?;
    clock.func_wrap(
        "subscribe-duration",
        |mut store: StoreContextMut<'_, PluginState>, (nanos,): (u64,)| {
            let state = store.data_mut();
            check_wait(nanos, state.budget_left())?;
            monotonic_clock::Host::subscribe_duration(&mut state.clocks(), nanos).map(|r| (r,))
        },
    )?;
    clock.func_wrap(
        "subscribe-instant",
        |mut store: StoreContextMut<'_, PluginState>, (when,): (u64,)| {
            let state = store.data_mut();
            let left = state.budget_left();
            let mut clocks = state.clocks();
            let now = monotonic_clock::Host::now(&mut clocks)?;
            let nanos = when.saturating_sub(now);
            check_wait(nanos, left)?;
            monotonic_clock::Host::subscribe_duration(&mut clocks, nanos).map(|r| (r,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// A wait of `nanos` is allowed only if it ends within `left`.
fn check_wait(nanos: u64, left: Duration) -> wasmtime::Result<()> {
    if u128::from(nanos) > left.as_nanos() {
        return Err(wasmtime::Error::new(SleepPastDeadline));
    }
    Ok(())
}

/// Engine, linker and ticker, shared by every loaded plugin.
pub struct PluginRuntime {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<PluginState>,
    pub(crate) limits: PluginLimits,
    ticker_stop: Arc<AtomicBool>,
}

impl PluginRuntime {
    /// Builds the engine with the sandbox settings and starts the epoch ticker.
    pub fn new(limits: PluginLimits) -> Result<Self, super::LoadError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(limits.max_stack_bytes.max(64 << 10));
        config.parallel_compilation(true);
        // Plugin authors profiling their guest with `perf` need the names of
        // its compiled functions; wasmtime writes them to /tmp/perf-PID.map.
        if std::env::var_os("HOARD_PLUGIN_PROFILER").is_some_and(|v| v == "perfmap") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config)
            .map_err(|e| super::LoadError::Artifact(format!("engine configuration: {e:#}")))?;

        let mut linker = Linker::<PluginState>::new(&engine);
        // The std imports (wasi:cli, wasi:io) are served by an empty context;
        // interfaces beyond the allowlist are linked too but unreachable,
        // because a plugin importing them is refused at load.
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| super::LoadError::Artifact(format!("linking WASI: {e:#}")))?;
        Plugin::add_to_linker::<PluginState, HasSelf<PluginState>>(&mut linker, |s| s)
            .map_err(|e| super::LoadError::Artifact(format!("linking host: {e:#}")))?;
        super::bindings::v2::OriginPlugin::add_to_linker::<PluginState, HasSelf<PluginState>>(
            &mut linker,
            |s| s,
        )
        .map_err(|e| super::LoadError::Artifact(format!("linking host 0.2.0: {e:#}")))?;
        cap_sleeps(&mut linker)
            .map_err(|e| super::LoadError::Artifact(format!("linking clocks: {e:#}")))?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&ticker_stop);
        let ticking = engine.clone();
        thread::Builder::new()
            .name("hoard-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    thread::sleep(EPOCH_TICK);
                    ticking.increment_epoch();
                }
            })
            .map_err(|e| super::LoadError::Artifact(format!("starting epoch ticker: {e}")))?;

        Ok(Self {
            engine,
            linker,
            limits,
            ticker_stop,
        })
    }

    /// The deadline of one call, in epoch ticks (rounded up, plus one so a
    /// call that starts just before a tick still gets its full budget).
    pub(crate) fn deadline_ticks(&self) -> u64 {
        let tick = EPOCH_TICK.as_millis().max(1) as u64;
        self.limits.call_timeout_ms.div_ceil(tick) + 1
    }

    /// [`Self::deadline_ticks`] for creating an instance (`init_timeout_ms`).
    pub(crate) fn init_deadline_ticks(&self) -> u64 {
        let tick = EPOCH_TICK.as_millis().max(1) as u64;
        let ms = u64::try_from(self.limits.init_timeout().as_millis()).unwrap_or(u64::MAX);
        ms.div_ceil(tick) + 1
    }

    /// The CPU time a call may use inline on an async worker (see
    /// `state::CallWatch::Inline`). `None` when inline calls are off.
    pub(crate) fn inline_budget(&self) -> Option<Duration> {
        match self.limits.inline_budget_us {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    /// The limits every plugin instance runs under.
    pub fn limits(&self) -> &PluginLimits {
        &self.limits
    }
}

impl Drop for PluginRuntime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}
