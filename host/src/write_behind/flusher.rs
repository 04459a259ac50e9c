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

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::sync::watch;

use super::WriteBehind;
use super::queue::{Route, Settle, Write, now_ms};
use crate::backoff;
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

/// What one round sent: per origin, what happened.
type Round = Vec<(Route, Sent)>;

async fn run(wb: Arc<WriteBehind>, mut draining: watch::Receiver<bool>) {
    let config = wb.config().clone();
    let queue = Arc::clone(&wb.queue);
    let mut outages: HashMap<Route, Outage> = HashMap::new();
    // Rounds at the origins now (at most `flush_concurrency`), and the
    // settling of rounds done: both overlap the next round, and a round's
    // writes stay out of `due` until they are settled.
    let mut rounds: FuturesUnordered<BoxFuture<'static, Round>> = FuturesUnordered::new();
    let mut settling: Vec<Settling> = Vec::new();
    loop {
        let drain = *draining.borrow();
        // Start rounds while there is room and something to send.
        let mut wait_until: Option<u64> = None;
        let mut nothing_due = false;
        while rounds.len() < config.flush_concurrency {
            let now = now_ms();
            let paused: HashMap<Route, u64> = outages
                .iter()
                .map(|(route, o)| (route.clone(), o.until_ms))
                .collect();
            let (due, next_ms) = queue.due(now, config.batch_size, &paused);
            // Batching by size and by delay: a partial batch waits until
            // its oldest write has waited `batch_delay_ms`.
            let Some(oldest) = due.iter().map(|w| w.queued_ms).min() else {
                nothing_due = true;
                wait_until = next_ms;
                break;
            };
            if !drain && due.len() < config.batch_size && now < oldest + config.batch_delay_ms {
                // Not sent now: handed out again on the next round.
                queue.release(&due);
                wait_until = Some(oldest + config.batch_delay_ms);
                break;
            }
            rounds.push(Box::pin(send_round(Arc::clone(&wb), due)));
        }
        if rounds.is_empty() {
            if !settling.is_empty() {
                // Nothing to send before the last rounds are settled: their
                // retries may be due, and a drain ends only when they are.
                for done in settling.drain(..) {
                    done.finish(config.backoff_ms).await;
                }
                continue;
            }
            if drain && nothing_due && queue.depth(None, None).pending == 0 {
                return;
            }
            if nothing_due && wait_until.is_none() {
                // Idle: make the settles so far durable.
                let idle = Arc::clone(&queue);
                let checkpoint = tokio::task::spawn_blocking(move || idle.checkpoint());
                if let Err(error) = joined(checkpoint).await {
                    tracing::warn!(%error, "write-behind: checkpoint failed");
                }
            }
            let now = now_ms();
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
        let Some(round) = rounds.next().await else {
            continue;
        };
        let mut outcomes = Vec::new();
        for (route, result) in round {
            match result {
                Sent::Settled(settled) => {
                    outages.remove(&route);
                    outcomes.extend(settled);
                }
                Sent::Down(error, writes) => {
                    queue.release(&writes);
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
        // Settled rounds' handles are kept only until they are done.
        let mut still = Vec::with_capacity(settling.len() + 1);
        for done in settling.drain(..) {
            if done.0.is_finished() {
                done.finish(config.backoff_ms).await;
            } else {
                still.push(done);
            }
        }
        settling = still;
        let queue = Arc::clone(&queue);
        settling.push(Settling(tokio::task::spawn_blocking(move || {
            queue.settle(outcomes)
        })));
    }
}

/// One round: the due writes grouped by origin, each group sent as a batch.
async fn send_round(wb: Arc<WriteBehind>, due: Vec<Arc<Write>>) -> Round {
    let mut groups: HashMap<Route, Vec<Arc<Write>>> = HashMap::new();
    for write in due {
        groups
            .entry((write.slot.tenant.clone(), write.origin.clone()))
            .or_default()
            .push(write);
    }
    futures_util::future::join_all(
        groups
            .into_iter()
            .map(|(route, writes)| send_batch(&wb, route, writes)),
    )
    .await
}

/// A round being settled in the queue file.
struct Settling(tokio::task::JoinHandle<Result<(), super::QueueError>>);

impl Settling {
    async fn finish(self, backoff_ms: u64) {
        if let Err(error) = joined(self.0).await {
            tracing::error!(%error, "write-behind: settling a batch failed; its writes will be sent again");
            tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
        }
    }
}

/// Waits for queue work handed to tokio's blocking pool. A panic there is
/// reported like the work's own error: either way the work did not happen.
async fn joined(
    handle: tokio::task::JoinHandle<Result<(), super::QueueError>>,
) -> Result<(), String> {
    match handle.await {
        Ok(outcome) => outcome.map_err(|error| error.to_string()),
        Err(panic) => Err(format!("panicked: {panic}")),
    }
}

enum Sent {
    Settled(Vec<(Arc<Write>, Settle)>),
    /// The origin could not be reached; the writes go back to the queue.
    Down(OriginError, Vec<Arc<Write>>),
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
        Err(error @ OriginError::Unreachable(_)) => return (route, Sent::Down(error, writes)),
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
