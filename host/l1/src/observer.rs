//! Change notification: who hears that a key was written, removed, expired or evicted.
//!
//! This file only defines the hook and a cheap holder for it; it must not decide anything about
//! entries. The server uses it for `WATCH` and client-side caching invalidations, which must
//! also see expiries and evictions that happen deep inside a shard.

use std::fmt;
use std::sync::Arc;

/// Hears about key changes of one table. Called with the shard lock held, so it must be quick
/// and must never call back into the table.
pub trait KeyObserver: Send + Sync {
    /// `key` was written, removed, expired, evicted, or had its TTL changed.
    fn changed(&self, key: &[u8]);
    /// Every key was removed at once (`FLUSHALL`).
    fn flushed(&self);
}

/// A shard's optional observer.
#[derive(Clone, Default)]
pub(crate) struct Observer(Option<Arc<dyn KeyObserver>>);

impl Observer {
    pub(crate) fn new(observer: Arc<dyn KeyObserver>) -> Observer {
        Observer(Some(observer))
    }

    pub(crate) fn changed(&self, key: &[u8]) {
        if let Some(o) = &self.0 {
            o.changed(key);
        }
    }

    pub(crate) fn flushed(&self) {
        if let Some(o) = &self.0 {
            o.flushed();
        }
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(set)"
        } else {
            "Observer(none)"
        })
    }
}
