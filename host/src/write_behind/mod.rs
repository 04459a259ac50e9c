//! Write-behind: a `CACHE.SET` of a definition whose origin says
//! `write = "behind"` is acknowledged once it is on disk, and reaches the
//! origin later, in the background.
//!
//! The path of one write:
//! 1. `Cache::set` (`cache/write_behind.rs`) validates the value and has the
//!    plugin map it to an origin request, with the write's sequence, in the
//!    same plugin call as the key;
//! 2. [`queue::WriteQueue::enqueue`] puts it in the redb file — group commit,
//!    one fsync for every write waiting — replacing the key's pending write;
//! 3. the reply is sent and the cache updated;
//! 4. the flusher ([`flusher`]) sends due writes in batches (by size, or
//!    when the oldest has waited `batch_delay_ms`), one transaction per
//!    batch on PostgreSQL, and settles each: confirmed, retried with
//!    backoff, or moved to the dead-letter queue.
//!
//! Guarantee: a write that was acknowledged reaches the origin, in per-key
//! order (the sequence lets the origin refuse an older write), even if the
//! process is killed at any moment: the file is replayed on start. It stops
//! at the disk: a lost disk loses the queue.

pub mod config;
pub mod flusher;
pub mod queue;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

pub use config::WriteBehindConfig;
pub use queue::{DeadLetter, Depth, QueueError, WriteQueue};

use crate::origin::{Origin, Origins};

/// The node's write-behind: its queue, and where queued writes go.
pub struct WriteBehind {
    /// The durable queue.
    pub queue: Arc<WriteQueue>,
    config: WriteBehindConfig,
    /// Each tenant's origins, by tenant name.
    routes: RwLock<HashMap<String, Arc<Origins>>>,
    flusher: parking_lot::Mutex<Option<flusher::Running>>,
}

impl WriteBehind {
    /// Opens the queue file (replaying what it holds once the flusher starts).
    pub fn open(config: WriteBehindConfig, port: u16) -> Result<Arc<WriteBehind>, QueueError> {
        let queue = WriteQueue::open(&config.path(port))?;
        Ok(Arc::new(WriteBehind {
            queue,
            config,
            routes: RwLock::new(HashMap::new()),
            flusher: parking_lot::Mutex::new(None),
        }))
    }

    /// The tenant `tenant`'s origins, where its queued writes go.
    pub fn register(&self, tenant: &str, origins: Arc<Origins>) {
        self.routes.write().insert(tenant.to_owned(), origins);
    }

    /// The origin a queued write names, if it is (still) configured.
    pub fn origin(&self, tenant: &str, name: &str) -> Option<Arc<Origin>> {
        self.routes
            .read()
            .get(tenant)
            .and_then(|o| o.by_name(name))
            .cloned()
    }

    /// Its settings.
    pub fn config(&self) -> &WriteBehindConfig {
        &self.config
    }

    /// Starts the flusher (inside the runtime).
    pub fn start(self: &Arc<Self>) {
        let running = flusher::start(Arc::clone(self));
        *self.flusher.lock() = Some(running);
    }

    /// Graceful shutdown: stops taking writes, lets the flusher drain into
    /// the origin for at most the grace period, and leaves the rest on disk.
    pub async fn shutdown(&self) {
        let running = self.flusher.lock().take();
        let grace = Duration::from_millis(self.config.shutdown_grace_ms);
        if let Some(running) = running {
            running.drain(grace).await;
        }
        let queue = Arc::clone(&self.queue);
        let _ = tokio::task::spawn_blocking(move || {
            if let Err(error) = queue.checkpoint() {
                tracing::warn!(%error, "write-behind: final checkpoint failed");
            }
            queue.close();
        })
        .await;
        let left = self.queue.depth(None, None);
        if left.pending > 0 {
            tracing::warn!(
                pending = left.pending,
                "write-behind: writes left on disk for the next start"
            );
        }
    }

    /// The `# WriteBehind` lines of `INFO` (node-wide counters; the depth
    /// of `tenant` when given).
    pub fn info_lines(&self, tenant: Option<&str>) -> Vec<(&'static str, u64)> {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.queue.counters;
        let depth = self.queue.depth(tenant, None);
        vec![
            ("write_behind_pending", depth.pending),
            ("write_behind_oldest_pending_ms", depth.oldest_ms),
            ("write_behind_dead_letters", depth.dead),
            ("write_behind_enqueued", c.enqueued.load(Relaxed)),
            ("write_behind_coalesced", c.coalesced.load(Relaxed)),
            ("write_behind_flushed", c.flushed.load(Relaxed)),
            ("write_behind_batches", c.batches.load(Relaxed)),
            ("write_behind_retries", c.retries.load(Relaxed)),
            ("write_behind_dead_lettered", c.dead_lettered.load(Relaxed)),
            (
                "write_behind_origin_outages",
                c.origin_outages.load(Relaxed),
            ),
            ("write_behind_fsyncs", c.fsyncs.load(Relaxed)),
            ("write_behind_fsyncs_per_sec", c.fsyncs_per_second()),
        ]
    }
}
