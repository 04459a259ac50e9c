//! The cache's side of write-behind (see `write_behind/`): a `CACHE.SET`
//! of a definition whose origin writes behind is acknowledged once the
//! queue has it on disk; `CACHE.DLQ` reads and changes the tenant's dead
//! letters.

use std::sync::Arc;

use super::{Cache, CacheError, DefinedCache};
use crate::origin::{Origin, OriginError, OriginRequest, WriteMode};
use crate::write_behind::queue::{Slot, Write, now_ms};
use crate::write_behind::{DeadLetter, Depth, QueueError};

/// A write-behind `CACHE.SET` in progress: its sequence, and whether the
/// origin speaks SQL (what the mapping is asked for).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Behind {
    pub(crate) sequence: u64,
    pub(crate) sql: bool,
}

/// A write-behind write on its way to disk: the reply to its `CACHE.SET`
/// waits for it.
pub struct Ack {
    committed: crate::write_behind::queue::Committed,
    undo: (Cache, String, String),
}

impl std::fmt::Debug for Ack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ack")
            .field("cache", &self.undo.1)
            .field("key", &self.undo.2)
            .finish()
    }
}

impl Ack {
    /// Waits for the fsync; if it failed, removes the entry the write had
    /// already put in the cache and returns the error.
    pub async fn wait(self) -> Result<(), CacheError> {
        let span = crate::observe::trace::child("write-behind fsync");
        let result = self.committed.wait().await;
        drop(span);
        if let Err(error) = result {
            let (cache, name, key) = self.undo;
            cache.forget(&name, &key).await;
            return Err(error.into());
        }
        Ok(())
    }
}

impl From<QueueError> for CacheError {
    fn from(error: QueueError) -> Self {
        CacheError::Queue(error.to_string())
    }
}

impl Cache {
    /// Whether a `CACHE.SET` of `cache` writes behind, and with which sequence.
    pub(crate) fn behind(
        &self,
        cache: &DefinedCache,
        origin: Option<&Arc<Origin>>,
    ) -> Result<Option<Behind>, CacheError> {
        let Some(origin) = origin.filter(|o| o.config().write == WriteMode::Behind) else {
            return Ok(None);
        };
        let Some(wb) = &self.inner.write_behind else {
            return Err(CacheError::Queue(
                "write-behind is configured for this origin but the node has no queue".into(),
            ));
        };
        if !cache.plugin().has_origin_mapping() {
            return Err(CacheError::Origin(super::read_through::no_mapping(cache)));
        }
        Ok(Some(Behind {
            sequence: wb.queue.next_sequence(),
            sql: origin.kind() == "postgres",
        }))
    }

    /// Hands the mapped write to the queue's committer; the [`Ack`] says
    /// when it is on disk.
    pub(crate) fn enqueue_behind(
        &self,
        cache: &DefinedCache,
        origin: &Origin,
        key: &str,
        behind: Behind,
        mapped: Result<OriginRequest, String>,
    ) -> Result<Ack, CacheError> {
        let request = mapped.map_err(|e| CacheError::Origin(OriginError::Mapping(e)))?;
        let wb = self.queue()?;
        let now = now_ms();
        let name = cache.definition().name.clone();
        let committed = wb.queue.submit(Write {
            slot: Slot {
                tenant: self.inner.tenant.clone(),
                cache: name.clone(),
                key: key.to_owned(),
            },
            origin: origin.config().name.clone(),
            request,
            sequence: behind.sequence,
            queued_ms: now,
            since_ms: now,
            attempts: 0,
            next_ms: 0,
            last_error: String::new(),
            attempted_ms: Vec::new(),
        })?;
        Ok(Ack {
            committed,
            undo: (self.clone(), name, key.to_owned()),
        })
    }

    /// Removes an entry whose write-behind write could not be made durable.
    async fn forget(&self, name: &str, key: &str) {
        let Ok(cache) = self.find(name) else {
            return;
        };
        tracing::error!(cache = %name, %key, "write-behind: the queue refused a write; removing it from the cache");
        if self.uses_l2(name) {
            self.tiered_remove(&cache, key).await;
        } else {
            cache.table().remove(key.as_bytes());
        }
    }

    fn queue(&self) -> Result<&crate::write_behind::WriteBehind, CacheError> {
        self.inner.write_behind.as_deref().ok_or(CacheError::Queue(
            "no origin of this server writes behind".into(),
        ))
    }

    /// This tenant's pending writes and dead letters (of `cache`, or all).
    pub fn write_behind_depth(&self, cache: Option<&str>) -> Option<Depth> {
        let wb = self.inner.write_behind.as_ref()?;
        Some(wb.queue.depth(Some(&self.inner.tenant), cache))
    }

    /// The `# WriteBehind` lines of `INFO` for this tenant, if the node writes behind.
    pub fn write_behind_info(&self) -> Option<Vec<(&'static str, u64)>> {
        let wb = self.inner.write_behind.as_ref()?;
        Some(wb.info_lines(Some(&self.inner.tenant)))
    }

    /// This tenant's dead letters, oldest first.
    pub async fn dead_letters(&self, count: usize) -> Result<Vec<DeadLetter>, CacheError> {
        let queue = Arc::clone(&self.queue()?.queue);
        let tenant = self.inner.tenant.clone();
        tokio::task::spawn_blocking(move || queue.dead_letters(&tenant, count))
            .await
            .map_err(|_| CacheError::Internal)?
            .map_err(CacheError::from)
    }

    /// Puts dead letters back in the queue (`ids`, or all of the tenant's
    /// with `None`); returns how many went back, and the errors of the others.
    pub async fn retry_dead(
        &self,
        ids: Option<Vec<u64>>,
    ) -> Result<(u64, Vec<String>), CacheError> {
        self.on_dead(ids, |q, tenant, id| q.retry_dead(tenant, id))
            .await
    }

    /// Deletes dead letters for good (`ids`, or all of the tenant's).
    pub async fn drop_dead(&self, ids: Option<Vec<u64>>) -> Result<(u64, Vec<String>), CacheError> {
        self.on_dead(ids, |q, tenant, id| q.drop_dead(tenant, id))
            .await
    }

    async fn on_dead(
        &self,
        ids: Option<Vec<u64>>,
        each: fn(&crate::write_behind::WriteQueue, &str, u64) -> Result<(), QueueError>,
    ) -> Result<(u64, Vec<String>), CacheError> {
        let queue = Arc::clone(&self.queue()?.queue);
        let tenant = self.inner.tenant.clone();
        tokio::task::spawn_blocking(move || {
            let ids = ids.unwrap_or_else(|| queue.dead_ids(&tenant));
            let mut done = 0u64;
            let mut errors = Vec::new();
            for id in ids {
                match each(&queue, &tenant, id) {
                    Ok(()) => done += 1,
                    Err(error) => errors.push(error.to_string()),
                }
            }
            (done, errors)
        })
        .await
        .map_err(|_| CacheError::Internal)
    }
}
