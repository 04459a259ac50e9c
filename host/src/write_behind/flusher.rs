//! The flusher: one task per node that sends queued writes to their
//! origins, off the request path.
//!
//! Each round it takes the due writes, oldest first (at most `batch_size`;
//! fewer only once the oldest has waited `batch_delay_ms`), groups them by
//! origin, sends each group as one batch, and settles every write:
//! - confirmed → removed from the queue;
//! - refused (a constraint, a 4xx, a mapping the host refuses) → dead
//!   letter at once: retrying cannot help;
//! - failed (5xx, timeout, a serialization failure) → retried after an
//!   exponential backoff with jitter; after `max_attempts`, a dead letter.
//!
//! An origin that cannot be reached at all uses up no attempts: its writes
//! stay queued (on disk) and the origin is probed again after a backoff of
//! its own, so an outage of any length loses nothing and fills no
//! dead-letter queue.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;

use super::WriteBehind;
use super::backoff;
use super::queue::{Route, Settle, Write, now_ms};
use crate::origin::OriginError;

/// The running flusher.
pub struct Running {
    drain: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Asks the flusher to send everything due without waiting for batches
    /// to fill, and stops it once the queue is empty or `grace` is over.
    pub async fn drain(self, grace: Duration) {
        let _ = self.drain.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// Starts the flusher of `wb`.
pub fn start(wb: Arc<WriteBehind>) -> Running {
    let (drain, draining) = watch::channel(false);
    let task = tokio::spawn(run(wb, draining));
    Running { drain, task }
}

/// An origin that could not be reached: how often in a row, and until when
/// it is left alone.
struct Outage {
    failures: u32,
    until_ms: u64,
}

async fn run(wb: Arc<WriteBehind>, mut draining: watch::Receiver<bool>) {
    let config = wb.config().clone();
    let queue = Arc::clone(&wb.queue);
    let mut outages: HashMap<Route, Outage> = HashMap::new();
    loop {
        let drain = *draining.borrow();
        let now = now_ms();
        let paused: HashMap<Route, u64> = outages
            .iter()
            .map(|(route, o)| (route.clone(), o.until_ms))
            .collect();
        let (due, next_ms) = queue.due(now, config.batch_size, &paused);
        if drain && due.is_empty() && queue.depth(None, None).pending == 0 {
            return;
        }
        // Batching by size and by delay: a partial batch waits until its
        // oldest write has waited `batch_delay_ms`.
        let oldest = due.iter().map(|w| w.queued_ms).min();
        let send = match oldest {
            Some(_) if drain || due.len() >= config.batch_size => true,
            Some(oldest) => now >= oldest + config.batch_delay_ms,
            None => false,
        };
        if !send {
            if oldest.is_none() {
                // Idle: make the settles so far durable.
                let idle = Arc::clone(&queue);
                match tokio::task::spawn_blocking(move || idle.checkpoint()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => tracing::warn!(%error, "write-behind: checkpoint failed"),
                    Err(error) => tracing::warn!(%error, "write-behind: checkpoint panicked"),
                }
            }
            let wait_until = match oldest {
                Some(oldest) => Some(oldest + config.batch_delay_ms),
                None => next_ms,
            };
            let sleep = wait_until.map_or(Duration::from_secs(3600), |at| {
                Duration::from_millis(at.saturating_sub(now).max(1))
            });
            tokio::select! {
                () = queue.wake.notified() => {}
                () = tokio::time::sleep(sleep) => {}
                changed = draining.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
            continue;
        }
        let mut groups: HashMap<Route, Vec<Arc<Write>>> = HashMap::new();
        for write in due {
            groups
                .entry((write.slot.tenant.clone(), write.origin.clone()))
                .or_default()
                .push(write);
        }
        let sent = futures_util::future::join_all(
            groups
                .into_iter()
                .map(|(route, writes)| send_batch(&wb, route, writes)),
        )
        .await;
        let mut outcomes = Vec::new();
        for (route, result) in sent {
            match result {
                Sent::Settled(settled) => {
                    outages.remove(&route);
                    outcomes.extend(settled);
                }
                Sent::Down(error) => {
                    let outage = outages.entry(route.clone()).or_insert(Outage {
                        failures: 0,
                        until_ms: 0,
                    });
                    outage.failures += 1;
                    let wait =
                        backoff::delay(config.backoff_ms, config.backoff_max_ms, outage.failures);
                    outage.until_ms = now_ms() + u64::try_from(wait.as_millis()).unwrap_or(0);
                    if outage.failures == 1 {
                        queue
                            .counters
                            .origin_outages
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(tenant = %route.0, origin = %route.1, %error, "write-behind: origin unreachable; writes stay queued");
                    }
                }
            }
        }
        for (_, settle) in &outcomes {
            match settle {
                Settle::Confirmed => queue.counters.flushed.fetch_add(1, Ordering::Relaxed),
                Settle::Retry { .. } => queue.counters.retries.fetch_add(1, Ordering::Relaxed),
                Settle::Bury { .. } => 0,
            };
        }
        let settling = Arc::clone(&queue);
        match tokio::task::spawn_blocking(move || settling.settle(outcomes)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(%error, "write-behind: settling a batch failed; its writes will be sent again");
                tokio::time::sleep(Duration::from_millis(config.backoff_ms)).await;
            }
            Err(error) => tracing::error!(%error, "write-behind: settling a batch panicked"),
        }
    }
}

enum Sent {
    Settled(Vec<(Arc<Write>, Settle)>),
    Down(OriginError),
}

async fn send_batch(wb: &WriteBehind, route: Route, writes: Vec<Arc<Write>>) -> (Route, Sent) {
    let config = wb.config();
    let Some(origin) = wb.origin(&route.0, &route.1) else {
        let reason = format!("origin `{}` is not configured (any more)", route.1);
        let settled = writes
            .into_iter()
            .map(|w| {
                (
                    w,
                    Settle::Bury {
                        reason: reason.clone(),
                    },
                )
            })
            .collect();
        return (route, Sent::Settled(settled));
    };
    wb.queue.counters.batches.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(tenant = %route.0, origin = %route.1, writes = writes.len(), "write-behind: sending a batch");
    let requests = writes.iter().map(|w| w.request.clone()).collect();
    let answers = match origin.execute_writes(requests).await {
        Ok(answers) => answers,
        Err(error @ OriginError::Unreachable(_)) => return (route, Sent::Down(error)),
        // The batch as a whole failed (timeout): each write used an attempt.
        Err(error) => vec![Err(error); writes.len()],
    };
    let now = now_ms();
    let settled = writes
        .into_iter()
        .zip(answers)
        .map(|(write, answer)| {
            let settle = match answer {
                Ok(()) => Settle::Confirmed,
                Err(error @ (OriginError::Refused(_) | OriginError::Mapping(_))) => Settle::Bury {
                    reason: format!("refused by the origin: {error}"),
                },
                Err(error) => {
                    let attempts = write.attempts + 1;
                    if attempts >= config.max_attempts {
                        Settle::Bury {
                            reason: format!("gave up after {attempts} attempts: {error}"),
                        }
                    } else {
                        let wait =
                            backoff::delay(config.backoff_ms, config.backoff_max_ms, attempts);
                        Settle::Retry {
                            attempts,
                            next_ms: now + u64::try_from(wait.as_millis()).unwrap_or(0),
                            error: error.to_string(),
                        }
                    }
                }
            };
            (write, settle)
        })
        .collect();
    (route, Sent::Settled(settled))
}
