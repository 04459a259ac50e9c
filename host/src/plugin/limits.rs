//! The bounds every plugin call runs under, and the memory limiter that
//! enforces one of them.
//!
//! Limits fail closed: there is no "unlimited" value. Each has a default that
//! suits small definition plugins and is set from the `[plugin]` section of
//! the configuration.

use std::time::Duration;

use serde::Deserialize;

use super::imports::WasiPolicy;

/// Bounds on what one plugin instance may use.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginLimits {
    /// Linear memory an instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock budget of one call, enforced by epoch interruption.
    pub call_timeout_ms: u64,
    /// Wall-clock budget of creating an instance (start functions,
    /// constructors, a large guest's memory image), enforced the same way.
    /// Longer than a call: it happens when the pool fills, not per request,
    /// and an interpreter's image (a Python guest is ~18 MB) can take tens
    /// of milliseconds to map on a loaded machine.
    pub init_timeout_ms: u64,
    /// Most bytes a call may hand back to the host (strings and lists,
    /// counted while lifting, through wasmtime's hostcall fuel).
    pub max_output_bytes: usize,
    /// Longest key `generate-key` may return.
    pub max_key_bytes: usize,
    /// Most keys plus patterns one invalidation may name.
    pub max_invalidation_items: usize,
    /// WebAssembly stack an instance may use, in bytes.
    pub max_stack_bytes: usize,
    /// Log lines a single call may write; the rest are dropped and counted.
    pub log_lines_per_call: u32,
    /// Ready instances kept per definition so a call never pays instantiation.
    pub pool_size: usize,
    /// Plugin calls one tenant may run at once; 0 means half the cores (at
    /// least one) when tenants are configured, all `workers` otherwise.
    pub tenant_workers: usize,
    /// Consecutive faults (traps, timeouts, limits) after which a plugin is
    /// quarantined; 0 disables quarantine.
    pub quarantine_after_faults: u32,
    /// How long a quarantine lasts before one probe call is let through.
    pub quarantine_ms: u64,
    /// Threads that run plugin calls (all definitions of a tenant
    /// together); default one fewer than the cores (at least one). A call
    /// that spins holds one for its deadline, so the request path keeps at
    /// least one core whatever the plugins do: measured with
    /// `bench/cpu-share.sh` on 2 cores, 2 plugin threads let slow-but-legal
    /// calls push memo-hit and `GET` p99 to 8-12x their quiet p99; 1 thread
    /// keeps both within 1.6x.
    pub workers: usize,
    /// Niceness of the plugin threads (Linux, 0..=19; 0, the default,
    /// leaves them at the request path's priority). Above 0, under CPU
    /// contention the threads that parse, answer and serve memo hits run
    /// first; but the plugin threads then also yield to every other process
    /// on the machine, and their deadlines are wall-clock time, so a loaded
    /// machine turns honest calls into timeouts (measured: a 32 MiB memory
    /// bomb test timed out at nice 10 on a shared 2-core box). Set it on a
    /// machine dedicated to hoard.
    pub worker_nice: i32,
    /// How long a call may run inline on the async worker that received
    /// the request, in microseconds, before it is interrupted and run again
    /// on a plugin thread (and that definition's calls go to plugin threads
    /// from then on). Inline calls skip the thread hand-off, which costs more
    /// than a typical call; 0 sends every call to a plugin thread.
    pub inline_budget_us: u64,
    /// Calls of one definition that may run on plugin threads at once; 0
    /// means every plugin thread of the tenant.
    pub definition_workers: usize,
    /// Calls of one definition that may wait for a thread; one more is
    /// refused at once with `BUSY`, so a slow definition cannot queue work
    /// without bound.
    pub definition_queue: usize,
    /// Which WASI interfaces a plugin may import (see `imports.rs`).
    pub wasi: WasiPolicy,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            call_timeout_ms: 100,
            init_timeout_ms: 1_000,
            max_output_bytes: 1 << 20,
            max_key_bytes: 1024,
            max_invalidation_items: 10_000,
            max_stack_bytes: 512 << 10,
            log_lines_per_call: 16,
            pool_size: 8,
            tenant_workers: 0,
            quarantine_after_faults: 5,
            quarantine_ms: 30_000,
            workers: std::thread::available_parallelism()
                .map_or(1, |n| n.get().saturating_sub(1))
                .max(1),
            worker_nice: 0,
            inline_budget_us: 2_000,
            definition_workers: 0,
            definition_queue: 1024,
            wasi: WasiPolicy::default(),
        }
    }
}

impl PluginLimits {
    /// The concurrent plugin calls a tenant's cache gets (see `tenant_workers`).
    pub fn tenant_workers(&self) -> usize {
        match self.tenant_workers {
            0 => self.workers.max(1),
            n => n,
        }
    }

    /// The calls one definition may run at once (see `definition_workers`).
    pub fn definition_workers(&self) -> usize {
        match self.definition_workers {
            0 => self.tenant_workers(),
            n => n.min(self.tenant_workers()),
        }
    }

    /// The call budget as a `Duration`.
    pub fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.call_timeout_ms.max(1))
    }

    /// The instance-creation budget as a `Duration` (never below a call's).
    pub fn init_timeout(&self) -> Duration {
        Duration::from_millis(self.init_timeout_ms.max(self.call_timeout_ms).max(1))
    }
}

/// Raised (as the trap's cause) when a guest asks for more memory than allowed,
/// so the host can tell a memory bomb from any other trap.
#[derive(Debug, thiserror::Error)]
#[error("plugin memory limit of {limit} bytes exceeded (asked for {desired})")]
pub(crate) struct MemoryLimitExceeded {
    pub(crate) limit: usize,
    pub(crate) desired: usize,
}

/// Raised (as the trap's cause) when a guest asks to wait on a clock past
/// its call's deadline: the call could only end in a timeout, so it ends now
/// instead of holding a worker thread until then.
#[derive(Debug, thiserror::Error)]
#[error("plugin asked to sleep past its call deadline")]
pub(crate) struct SleepPastDeadline;

/// wasmtime's resource limiter for one instance: memory is capped, tables
/// and instance counts are capped at sizes no honest plugin approaches.
pub(crate) struct GuestLimiter {
    memory_bytes: usize,
    /// The largest size any of the instance's memories has grown to.
    peak: usize,
}

impl GuestLimiter {
    pub(crate) fn new(memory_bytes: usize) -> Self {
        Self {
            memory_bytes,
            peak: 0,
        }
    }

    /// Whether a memory of the instance has grown past three quarters of
    /// the limit. Such an instance is retired after its call (see
    /// `InstancePool::run`): a guest whose heap creeps up call after call
    /// (a garbage collector that lags, a slow leak) would otherwise trap
    /// in some later call and cost that client an error; wasm memories
    /// never shrink, so only a fresh instance gives the room back.
    pub(crate) fn near_limit(&self) -> bool {
        self.peak > self.memory_bytes / 4 * 3
    }
}

impl wasmtime::ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            return Err(wasmtime::Error::new(MemoryLimitExceeded {
                limit: self.memory_bytes,
                desired,
            }));
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }

    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}
