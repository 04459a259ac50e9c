//! Background chores, on a thread of their own: the expiry sweep over every tenant's caches,
//! then each tenant's quota.
//!
//! Not on an async worker: a sweep takes shard locks, and a shard lock can be held by a long
//! table operation on the blocking pool (an invalidation slice, a clear). Waiting for it on a
//! worker would stall every connection that worker serves, `PING` included. Each pass is
//! bounded (`per_shard` entries per shard, one shard lock at a time), and the thread waits on a
//! condition variable between passes, so stopping it is immediate.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::tenant::Tenant;

/// The running chores; dropping it stops the thread and waits for the pass in progress.
pub struct Housekeeping {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the chores every `interval`, looking at `per_shard` entries per shard per pass.
pub fn start(
    tenants: Vec<Arc<Tenant>>,
    interval: Duration,
    per_shard: usize,
) -> std::io::Result<Housekeeping> {
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let signal = Arc::clone(&stop);
    let interval = interval.max(Duration::from_millis(1));
    let thread = std::thread::Builder::new()
        .name("hoard-housekeeping".into())
        .spawn(move || run(&tenants, interval, per_shard, &signal))?;
    Ok(Housekeeping {
        stop,
        thread: Some(thread),
    })
}

fn run(
    tenants: &[Arc<Tenant>],
    interval: Duration,
    per_shard: usize,
    stop: &(Mutex<bool>, Condvar),
) {
    let (stopped, wake) = stop;
    let mut next = Instant::now() + interval;
    loop {
        {
            let mut stopped = stopped.lock();
            while !*stopped && Instant::now() < next {
                wake.wait_until(&mut stopped, next);
            }
            if *stopped {
                return;
            }
        }
        pass(tenants, per_shard);
        next = Instant::now() + interval;
    }
}

/// One bounded pass over every tenant.
pub fn pass(tenants: &[Arc<Tenant>], per_shard: usize) {
    for tenant in tenants {
        let removed = tenant.cache.sweep_expired(per_shard);
        let evicted = tenant.enforce_quota();
        if removed + evicted > 0 {
            tracing::trace!(tenant = %tenant.name, removed, evicted, "background sweep");
        }
    }
}

impl Drop for Housekeeping {
    fn drop(&mut self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock() = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("housekeeping thread panicked");
        }
    }
}
