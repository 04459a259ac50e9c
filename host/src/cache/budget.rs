//! A definition's share of its tenant's plugin threads: how many of its
//! calls may run at once, and how many may wait. A call beyond both is
//! refused at once (`BUSY`), so a definition whose calls are slow but legal
//! cannot pile up work without bound or take every thread from the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Running and waiting calls of one definition.
pub(crate) struct CallBudget {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
}

/// The budget is spent: `waiting` calls already wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exhausted {
    pub(crate) waiting: usize,
}

impl CallBudget {
    /// `running` calls at once (at least one), `queue` more waiting.
    pub(crate) fn new(running: usize, queue: usize) -> Self {
        Self {
            running: Arc::new(Semaphore::new(running.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
        }
    }

    /// A permit to run one call, held until the call is done; waits while
    /// the definition's calls fill its threads, unless the queue is full.
    pub(crate) async fn admit(&self) -> Result<OwnedSemaphorePermit, Exhausted> {
        if let Ok(permit) = Arc::clone(&self.running).try_acquire_owned() {
            return Ok(permit);
        }
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        if queued >= self.queue {
            return Err(Exhausted { waiting: queued });
        }
        // The semaphore is never closed, so this only ends with a permit.
        Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(|_| Exhausted { waiting: queued })
    }

    /// Calls waiting right now.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

/// Counts one waiting call for as long as it lives (also when the waiting
/// request is dropped because its client went away).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[tokio::test]
    async fn refuses_once_running_and_waiting_are_full() {
        let budget = Arc::new(CallBudget::new(1, 1));
        let running = budget.admit().await.unwrap();
        // One call may wait...
        let waiter = tokio::spawn({
            let budget = Arc::clone(&budget);
            async move { budget.admit().await.map(drop) }
        });
        while budget.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        // ...the next is refused at once.
        assert_eq!(budget.admit().await.err(), Some(Exhausted { waiting: 1 }));
        drop(running);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(budget.waiting(), 0);
        assert!(budget.admit().await.is_ok());
    }
}
