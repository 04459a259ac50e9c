//! Ready-to-call plugin instances, each in its own wasmtime store.
//!
//! A call takes an instance out of the pool, so no two calls ever share one;
//! a call that fails for any reason drops its instance and store instead of
//! returning them (since wasmtime 42 a store in which an instance trapped is
//! poisoned, and a guest interrupted half-way may hold broken state anyway).
//! Instantiation stays off the request path after warm-up: at load the pool
//! is filled; a call that faulted makes its own replacement before it
//! returns (that request failed anyway, a healthy one should not pay); and
//! instances made during a burst are kept up to the most calls this
//! definition can run at once, so the pool grows to the definition's real
//! concurrency once and then stops instantiating.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use wasmtime::Store;

use super::bindings::v2::origin;
use super::bindings::{Plugin, PluginIndices, PluginPre};
use super::breaker::{Admission, Breaker};
use super::error::PluginError;
use super::runtime::PluginRuntime;
use super::state::{CallWatch, PluginState};
use crate::observe::striped::{Padded, STRIPES, StripedCounter, stripe};

thread_local! {
    /// The CPU budget of calls made on this thread when they run inline on
    /// an async worker (see [`with_inline_budget`]); `None`: the full deadline.
    static INLINE_BUDGET: Cell<Option<Duration>> = const { Cell::new(None) };
}

/// Runs `f` with every plugin call it makes on this thread bounded by
/// `budget` of this thread's CPU time instead of the call deadline (see
/// `state::CallWatch`). A call that overruns ends with
/// [`PluginError::OverInlineBudget`], which is not a fault: the caller runs
/// it again where it may take its whole deadline.
pub(crate) fn with_inline_budget<R>(budget: Duration, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Duration>);
    impl Drop for Restore {
        fn drop(&mut self) {
            INLINE_BUDGET.with(|cell| cell.set(self.0));
        }
    }
    let _restore = Restore(INLINE_BUDGET.with(|cell| cell.replace(Some(budget))));
    f()
}

/// A live instance and the store it lives in.
pub(crate) struct Ready {
    pub(crate) store: Store<PluginState>,
    pub(crate) plugin: Plugin,
    /// The `origin` export of a `0.2.0` origin plugin.
    pub(crate) origin: Option<origin::Guest>,
}

/// Counters of one plugin's calls, for `CACHE.INFO` and metrics.
#[derive(Debug, Default)]
pub struct CallCounters {
    /// Calls made (striped: every call of every worker adds to it).
    pub calls: StripedCounter,
    /// Calls that trapped, timed out or broke a limit.
    pub faults: AtomicU64,
    /// Instances created (at load, after faults, or when the pool ran dry).
    pub instantiations: AtomicU64,
    /// Instances retired after a call because their memory had grown past
    /// three quarters of the limit (before a later call could trap on it).
    pub retired: AtomicU64,
}

/// The pool of one plugin.
pub(crate) struct InstancePool {
    runtime: Arc<PluginRuntime>,
    pre: PluginPre<PluginState>,
    indices: PluginIndices,
    origin: Option<origin::GuestIndices>,
    plugin_id: Arc<str>,
    /// Idle instances, one list per stripe (`observe::striped`): a thread
    /// takes from and gives back to its own list first, so an instance's
    /// store, instance data and guest memory stay in the caches of the core
    /// that last ran it, and the lists' locks stay with their cores too.
    idle: [Padded<Mutex<Vec<Ready>>>; STRIPES],
    pub(crate) counters: CallCounters,
    pub(crate) breaker: Breaker,
    born: Instant,
}

impl InstancePool {
    pub(crate) fn new(
        runtime: Arc<PluginRuntime>,
        pre: PluginPre<PluginState>,
        plugin_id: Arc<str>,
    ) -> wasmtime::Result<Self> {
        let breaker = Breaker::new(
            runtime.limits.quarantine_after_faults,
            Duration::from_millis(runtime.limits.quarantine_ms),
        );
        let indices = PluginIndices::new(pre.instance_pre())?;
        // Present only in components that export `hoard:definition/origin@0.2.0`.
        let origin = origin::GuestIndices::new(pre.instance_pre()).ok();
        Ok(Self {
            runtime,
            pre,
            indices,
            origin,
            plugin_id,
            idle: Default::default(),
            counters: CallCounters::default(),
            breaker,
            born: Instant::now(),
        })
    }

    /// Whether the plugin exports the `origin` mapping.
    pub(crate) fn has_origin(&self) -> bool {
        self.origin.is_some()
    }

    /// The limits its calls run under.
    pub(crate) fn limits(&self) -> &super::PluginLimits {
        &self.runtime.limits
    }

    /// See `LoadedPlugin::inline_budget`.
    pub(crate) fn inline_budget(&self) -> Option<Duration> {
        self.runtime.inline_budget()
    }

    /// Milliseconds since the pool was created: the breaker's clock.
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn record_fault(&self) {
        self.counters.faults.fetch_add(1, Ordering::Relaxed);
        if self.breaker.fault(self.now_ms()) {
            tracing::warn!(
                plugin = &*self.plugin_id,
                cooldown_ms = self.runtime.limits.quarantine_ms,
                "plugin quarantined after repeated faults"
            );
        }
    }

    /// Fills the pool up to its configured size so early requests do not pay instantiation.
    pub(crate) fn warm(&self) -> Result<(), PluginError> {
        let want = self.runtime.limits.pool_size.max(1);
        let mut fresh = Vec::with_capacity(want);
        for _ in 0..want {
            fresh.push(self.instantiate()?);
        }
        for (at, ready) in fresh.into_iter().enumerate() {
            self.idle[at % STRIPES].0.lock().push(ready);
        }
        Ok(())
    }

    /// How long one fresh instantiation takes (the instance is discarded):
    /// what a call pays when the pool has run dry, reported by `plugin check`.
    pub(crate) fn time_instantiation(&self) -> Result<Duration, PluginError> {
        let started = Instant::now();
        drop(self.instantiate()?);
        Ok(started.elapsed())
    }

    fn instantiate(&self) -> Result<Ready, PluginError> {
        let limits = &self.runtime.limits;
        let state = PluginState::new(
            Arc::clone(&self.plugin_id),
            limits.memory_bytes,
            limits.log_lines_per_call,
            // Only the inert policy links clocks a guest could wait on.
            (limits.wasi == super::WasiPolicy::Inert).then(|| limits.call_timeout()),
        );
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_hostcall_fuel(limits.max_output_bytes);
        // Reached only when a call meets its epoch deadline: the store's
        // `CallWatch` decides (interrupt, or keep an inline call going while
        // it stays within its CPU budget).
        store.epoch_deadline_callback(|mut store| Ok(store.data_mut().at_epoch_deadline()));
        // A new store's deadline is 0: set it before instantiating, or the
        // start functions themselves are interrupted.
        store.set_epoch_deadline(self.runtime.init_deadline_ticks());
        self.counters.instantiations.fetch_add(1, Ordering::Relaxed);
        let made = self
            .pre
            .instance_pre()
            .instantiate(&mut store)
            .and_then(|instance| {
                let plugin = self.indices.load(&mut store, &instance)?;
                let origin = match &self.origin {
                    Some(indices) => Some(indices.load(&mut store, &instance)?),
                    None => None,
                };
                Ok((plugin, origin))
            });
        match made {
            Ok((plugin, origin)) => Ok(Ready {
                store,
                plugin,
                origin,
            }),
            Err(error) => Err(PluginError::from_instantiate(
                &error,
                limits.init_timeout(),
                limits.max_output_bytes,
            )),
        }
    }

    /// Runs `call` on an instance nobody else is using, within the call's
    /// deadline, memory and output limits. The instance goes back to the
    /// pool only if the call returned normally.
    pub(crate) fn call<R>(
        &self,
        call: impl FnOnce(&Plugin, &mut Store<PluginState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        self.run(|ready| call(&ready.plugin, &mut ready.store))
    }

    /// [`InstancePool::call`] for the `origin` export; callers check
    /// [`InstancePool::has_origin`] first.
    pub(crate) fn call_origin<R>(
        &self,
        call: impl FnOnce(&origin::Guest, &mut Store<PluginState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        self.run(|ready| match &ready.origin {
            Some(guest) => call(guest, &mut ready.store),
            None => Err(wasmtime::format_err!(
                "the plugin exports no origin mapping"
            )),
        })
    }

    fn run<R>(
        &self,
        call: impl FnOnce(&mut Ready) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if let Admission::Refused(remaining) = self.breaker.admit(|| self.now_ms()) {
            return Err(PluginError::Quarantined(remaining));
        }
        let taken = self.take_idle();
        let mut ready = match taken {
            Some(ready) => ready,
            None => self.instantiate().inspect_err(|_| self.record_fault())?,
        };
        self.counters.calls.add(1);
        let inline = INLINE_BUDGET.with(Cell::get);
        let deadline = self.runtime.deadline_ticks();
        // Inline, the call is looked at from the first tick on; otherwise
        // only at its deadline.
        let (watch, first) = match inline {
            Some(budget) => (CallWatch::inline(budget, deadline), 1),
            None => (CallWatch::Deadline, deadline),
        };
        ready.store.set_epoch_deadline(first);
        ready.store.data_mut().begin_call(watch);
        match call(&mut ready) {
            Ok(value) => {
                self.breaker.success();
                if ready.store.data().memory_near_limit() {
                    self.counters.retired.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(
                        plugin = &*self.plugin_id,
                        "instance near its memory limit retired"
                    );
                    return Ok(value);
                }
                self.give_back(ready);
                Ok(value)
            }
            Err(error)
                if inline.is_some()
                    && matches!(
                        error.downcast_ref::<wasmtime::Trap>(),
                        Some(wasmtime::Trap::Interrupt)
                    ) =>
            {
                // Not a fault: the call only outgrew the inline budget.
                // The interrupted instance is never reused.
                drop(ready);
                Err(PluginError::OverInlineBudget)
            }
            Err(error) => {
                self.record_fault();
                let limits = &self.runtime.limits;
                let classified =
                    PluginError::from_call(&error, limits.call_timeout(), limits.max_output_bytes);
                tracing::warn!(plugin = &*self.plugin_id, error = %classified, "plugin call failed; instance discarded");
                drop(ready);
                if !self.breaker.is_open(self.now_ms()) {
                    match self.instantiate() {
                        Ok(fresh) => self.give_back(fresh),
                        Err(e) => {
                            tracing::warn!(plugin = &*self.plugin_id, error = %e, "replacing a faulted instance failed")
                        }
                    }
                }
                Err(classified)
            }
        }
    }

    /// Most idle instances kept: the configured pool, or as many as this
    /// definition's calls can run at once, whichever is larger.
    fn keep(&self) -> usize {
        let limits = &self.runtime.limits;
        limits.pool_size.max(limits.tenant_workers()).max(1)
    }

    /// An idle instance: this thread's list first, then the others.
    fn take_idle(&self) -> Option<Ready> {
        let mine = stripe();
        (0..STRIPES).find_map(|i| self.idle[(mine + i) % STRIPES].0.lock().pop())
    }

    /// Keeps `ready` for a later call, in this thread's list if it has room,
    /// else in another's; dropped when all are full. Each list holds at
    /// most its share of [`InstancePool::keep`], so the pool as a whole
    /// keeps about that many (rounded up to a multiple of the stripes).
    fn give_back(&self, ready: Ready) {
        let share = self.keep().div_ceil(STRIPES);
        let mine = stripe();
        for i in 0..STRIPES {
            let mut idle = self.idle[(mine + i) % STRIPES].0.lock();
            if idle.len() < share {
                idle.push(ready);
                return;
            }
        }
    }

    /// Instances currently idle in the pool.
    pub(crate) fn idle_len(&self) -> usize {
        self.idle.iter().map(|list| list.0.lock().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::plugin::{LoadedPlugin, PluginLimits};

    fn user_cache(limits: PluginLimits) -> LoadedPlugin {
        crate::bundled::load_example("user_cache", limits).unwrap()
    }

    #[test]
    fn threads_share_the_warm_instances_whatever_their_stripes() {
        let limits = PluginLimits {
            pool_size: 4,
            tenant_workers: 1,
            ..PluginLimits::default()
        };
        let plugin = user_cache(limits);
        let made = || plugin.counters().instantiations.load(Ordering::Relaxed);
        let warmed = made();
        let idle = plugin.idle_instances();
        assert!(idle >= 4, "{idle} idle after warming a pool of 4");
        // Three threads calling at once (some may share a stripe) take
        // instances from any list when their own is empty and give them
        // back wherever there is room: no instance is made or dropped.
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for _ in 0..300 {
                        plugin.validate(&[0x80]).unwrap().unwrap_err();
                    }
                });
            }
        });
        assert_eq!(made(), warmed);
        assert!((3..=idle).contains(&plugin.idle_instances()));
    }

    #[test]
    fn a_burst_past_the_pool_keeps_only_the_pools_share() {
        let limits = PluginLimits {
            pool_size: 2,
            tenant_workers: 1,
            ..PluginLimits::default()
        };
        let keep = limits.pool_size.max(limits.tenant_workers());
        let plugin = user_cache(limits);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..50 {
                        plugin.validate(&[0x80]).unwrap().unwrap_err();
                    }
                });
            }
        });
        // Each list keeps its share of `keep`, rounded up.
        assert!(plugin.idle_instances() <= keep.div_ceil(STRIPES) * STRIPES);
        assert!(plugin.idle_instances() >= 1);
    }
}
