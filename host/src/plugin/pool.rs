//! Ready-to-call plugin instances, each in its own wasmtime store.
//!
//! A call takes an instance out of the pool, so no two calls ever share one;
//! a call that fails for any reason drops its instance and store instead of
//! returning them (since wasmtime 42 a store in which an instance trapped is
//! poisoned, and a guest interrupted half-way may hold broken state anyway).
//! Instantiation happens on the request path only when the pool is empty:
//! at load the pool is filled, and replacements are made as calls finish.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use wasmtime::Store;

use super::bindings::{Plugin, PluginPre};
use super::error::PluginError;
use super::runtime::PluginRuntime;
use super::state::PluginState;

/// A live instance and the store it lives in.
pub(crate) struct Ready {
    pub(crate) store: Store<PluginState>,
    pub(crate) plugin: Plugin,
}

/// Counters of one plugin's calls, for `CACHE.INFO` and metrics.
#[derive(Debug, Default)]
pub struct CallCounters {
    /// Calls made.
    pub calls: AtomicU64,
    /// Calls that trapped, timed out or broke a limit.
    pub faults: AtomicU64,
    /// Instances created (at load, after faults, or when the pool ran dry).
    pub instantiations: AtomicU64,
}

/// The pool of one plugin.
pub(crate) struct InstancePool {
    runtime: Arc<PluginRuntime>,
    pre: PluginPre<PluginState>,
    plugin_id: Arc<str>,
    idle: Mutex<Vec<Ready>>,
    pub(crate) counters: CallCounters,
}

impl InstancePool {
    pub(crate) fn new(
        runtime: Arc<PluginRuntime>,
        pre: PluginPre<PluginState>,
        plugin_id: Arc<str>,
    ) -> Self {
        Self {
            runtime,
            pre,
            plugin_id,
            idle: Mutex::new(Vec::new()),
            counters: CallCounters::default(),
        }
    }

    /// Fills the pool up to its configured size so early requests do not pay instantiation.
    pub(crate) fn warm(&self) -> Result<(), PluginError> {
        let want = self.runtime.limits.pool_size.max(1);
        let mut fresh = Vec::with_capacity(want);
        for _ in 0..want {
            fresh.push(self.instantiate()?);
        }
        self.idle.lock().extend(fresh);
        Ok(())
    }

    fn instantiate(&self) -> Result<Ready, PluginError> {
        let limits = &self.runtime.limits;
        let state = PluginState::new(
            Arc::clone(&self.plugin_id),
            limits.memory_bytes,
            limits.log_lines_per_call,
        );
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_hostcall_fuel(limits.max_output_bytes);
        // A new store's deadline is 0: set it before instantiating, or the
        // start functions themselves are interrupted.
        store.set_epoch_deadline(self.runtime.deadline_ticks());
        self.counters.instantiations.fetch_add(1, Ordering::Relaxed);
        match self.pre.instantiate(&mut store) {
            Ok(plugin) => Ok(Ready { store, plugin }),
            Err(error) => Err(PluginError::Instantiate(super::error::truncate(
                format!("{error:#}"),
                512,
            ))),
        }
    }

    /// Runs `call` on an instance nobody else is using, within the call's
    /// deadline, memory and output limits. The instance goes back to the
    /// pool only if the call returned normally.
    pub(crate) fn call<R>(
        &self,
        call: impl FnOnce(&Plugin, &mut Store<PluginState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let taken = self.idle.lock().pop();
        let mut ready = match taken {
            Some(ready) => ready,
            None => self.instantiate().inspect_err(|_| {
                self.counters.faults.fetch_add(1, Ordering::Relaxed);
            })?,
        };
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        ready
            .store
            .set_epoch_deadline(self.runtime.deadline_ticks());
        ready.store.data_mut().begin_call();
        match call(&ready.plugin, &mut ready.store) {
            Ok(value) => {
                let mut idle = self.idle.lock();
                if idle.len() < self.runtime.limits.pool_size.max(1) {
                    idle.push(ready);
                }
                Ok(value)
            }
            Err(error) => {
                self.counters.faults.fetch_add(1, Ordering::Relaxed);
                let limits = &self.runtime.limits;
                let classified =
                    PluginError::from_call(&error, limits.call_timeout(), limits.max_output_bytes);
                tracing::warn!(plugin = &*self.plugin_id, error = %classified, "plugin call failed; instance discarded");
                Err(classified)
            }
        }
    }

    /// Instances currently idle in the pool.
    pub(crate) fn idle_len(&self) -> usize {
        self.idle.lock().len()
    }
}
