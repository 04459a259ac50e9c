//! The durable write queue: one redb file per node holding every
//! write-behind write the origin has not confirmed yet, and the dead letters.
//!
//! Rules:
//! - **Acknowledged means on disk.** [`WriteQueue::enqueue`] returns only
//!   after the commit that holds the write was fsynced. One committer thread
//!   takes every write waiting at that moment into one transaction (group
//!   commit), so concurrent writers share an fsync.
//! - **One pending write per key** (coalescing): a newer write of a key
//!   replaces the queued one; an older one (by sequence) never replaces a
//!   newer one.
//! - **Settling is conditional**: the flusher confirms, reschedules or
//!   buries a write only if the key still holds that write's sequence, so a
//!   write that arrived while its predecessor was in flight is never lost.
//! - Dead letters keep the write (request and sequence) until an operator
//!   retries or drops them.
//!
//! The file is a log keyed by sequence: a write is appended at the end of
//! the B-tree and removed from its start once confirmed, so a commit dirties
//! a few pages however random the keys are. A write a newer one of its key
//! replaced is left in the file and removed later (garbage); replay keeps
//! only the newest write of each key. A confirmed write is garbage too: the
//! index forgets it at once, and the file loses it with a transaction that
//! writes anyway (a group commit of new writes, a retry, a dead letter),
//! once `DEFERRED_REMOVALS` have gathered, or when the flusher is idle. One
//! transaction removing thousands of consecutive sequences rewrites far
//! fewer pages than one per batch; a crash before it only sends those
//! writes again, which their sequence makes harmless.
//!
//! The pending writes are also kept in memory (the index), so the flusher
//! never reads the file; the file is read once, at start (replay).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use redb::{Database, Durability, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::origin::OriginRequest;

/// Pending writes: sequence → MessagePack [`Write`].
const PENDING: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
/// Dead letters: id → MessagePack [`DeadLetter`].
const DEAD: TableDefinition<u64, &[u8]> = TableDefinition::new("dead");

/// The sequence high-water mark: no sequence handed out is ever below it
/// after a restart, even if the clock went back.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const HIGH_WATER: &str = "sequence";

/// Longest time settles stay committed without an fsync.
const CHECKPOINT_MS: u64 = 1_000;

/// Confirmed writes gathered before one transaction of their own removes
/// them (with writes coming in, group commits take them first).
const DEFERRED_REMOVALS: usize = 4096;

/// Garbage one group commit removes along with its writes: enough to keep
/// up with the flusher, few enough to keep the commit (and the acks
/// waiting on it) short.
const GARBAGE_PER_COMMIT: usize = 512;

/// Most writes one group commit takes.
const MAX_GROUP: usize = 8_192;

/// The queue file could not be read or written, or a request about it was wrong.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// redb refused (boxed: redb's error is large).
    #[error("write-behind queue: {0}")]
    Store(Box<redb::Error>),
    /// A stored record did not decode.
    #[error("write-behind queue record: {0}")]
    Decode(String),
    /// The commit holding the write failed (disk full, I/O error).
    #[error("write-behind queue: the commit failed: {0}")]
    Commit(String),
    /// The queue's committer is gone (shutdown).
    #[error("write-behind queue is closed")]
    Closed,
    /// No dead letter with this id (for this tenant).
    #[error("no dead letter {0}")]
    NoSuchLetter(u64),
    /// A newer write of the same key is pending: retrying the old one
    /// would be undone by it anyway.
    #[error("dead letter {0} is superseded by a newer pending write of its key")]
    Superseded(u64),
}

fn store(error: impl Into<redb::Error>) -> QueueError {
    QueueError::Store(Box::new(error.into()))
}

/// Which entry a write is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Slot {
    /// Tenant name ("" for the single tenant).
    pub tenant: String,
    /// Cache (definition) name.
    pub cache: String,
    /// The key the plugin made.
    pub key: String,
}

impl Slot {
    fn encode(&self) -> String {
        format!("{}\0{}\0{}", self.tenant, self.cache, self.key)
    }
}

/// One write on its way to an origin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Write {
    /// Its entry.
    pub slot: Slot,
    /// The origin's name (within the tenant).
    pub origin: String,
    /// What the plugin's mapping made of it (with `sequence` inside).
    pub request: OriginRequest,
    /// Grows with every write of the node, across restarts: the order of writes.
    pub sequence: u64,
    /// When this write was acknowledged (Unix ms).
    pub queued_ms: u64,
    /// When the oldest write of this key not yet confirmed was acknowledged.
    pub since_ms: u64,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not before this time (Unix ms): backoff.
    pub next_ms: u64,
    /// Why the last attempt failed.
    pub last_error: String,
    /// When each failed attempt was made (Unix ms): the backoff, as it happened.
    #[serde(default)]
    pub attempted_ms: Vec<u64>,
}

/// A write the flusher gave up on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Its id in `CACHE.DLQ` (the write's sequence).
    pub id: u64,
    /// The write.
    pub write: Write,
    /// When it was buried (Unix ms).
    pub buried_ms: u64,
    /// Why.
    pub reason: String,
}

/// What the flusher decided about a write it sent.
#[derive(Clone, Debug)]
pub enum Settle {
    /// The origin took it.
    Confirmed,
    /// It failed; try again at `next_ms`.
    Retry {
        /// Failed attempts, this one included.
        attempts: u32,
        /// Not before (Unix ms).
        next_ms: u64,
        /// Why it failed.
        error: String,
    },
    /// Move it to the dead-letter queue.
    Bury {
        /// Why.
        reason: String,
    },
}

/// Counters of the queue, for `INFO`, `CACHE.INFO` and `/metrics`.
#[derive(Debug, Default)]
pub struct QueueCounters {
    /// Writes acknowledged.
    pub enqueued: AtomicU64,
    /// Writes that replaced a pending write of the same key.
    pub coalesced: AtomicU64,
    /// Group commits (each one fsync).
    pub fsyncs: AtomicU64,
    /// Batches sent to origins.
    pub batches: AtomicU64,
    /// Writes the origin confirmed.
    pub flushed: AtomicU64,
    /// Failed attempts that will be retried.
    pub retries: AtomicU64,
    /// Writes moved to the dead-letter queue.
    pub dead_lettered: AtomicU64,
    /// Times an origin could not be reached at all (the queue then waits).
    pub origin_outages: AtomicU64,
    /// fsyncs in the last whole second, and the second being counted.
    fsync_second: AtomicU64,
    fsyncs_this_second: AtomicU64,
    fsyncs_last_second: AtomicU64,
}

impl QueueCounters {
    fn count_fsync(&self) {
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        let now = now_ms() / 1000;
        let current = self.fsync_second.load(Ordering::Relaxed);
        if now != current {
            let last = if now == current + 1 {
                self.fsyncs_this_second.load(Ordering::Relaxed)
            } else {
                0
            };
            self.fsyncs_last_second.store(last, Ordering::Relaxed);
            self.fsyncs_this_second.store(0, Ordering::Relaxed);
            self.fsync_second.store(now, Ordering::Relaxed);
        }
        self.fsyncs_this_second.fetch_add(1, Ordering::Relaxed);
    }

    /// fsyncs during the last whole second.
    pub fn fsyncs_per_second(&self) -> u64 {
        let now = now_ms() / 1000;
        let current = self.fsync_second.load(Ordering::Relaxed);
        if now == current {
            self.fsyncs_last_second.load(Ordering::Relaxed)
        } else if now == current + 1 {
            self.fsyncs_this_second.load(Ordering::Relaxed)
        } else {
            0
        }
    }
}

/// What `INFO` and `CACHE.INFO` show of the queue (for a tenant, a cache, or all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    /// Pending writes.
    pub pending: u64,
    /// Age of the oldest pending write, ms.
    pub oldest_ms: u64,
    /// Dead letters.
    pub dead: u64,
}

/// The origin a group of writes goes to: tenant and origin name.
pub type Route = (String, String);

#[derive(Default)]
struct Index {
    pending: HashMap<String, Arc<Write>>,
    /// Per route, pending slots by sequence (oldest first).
    order: HashMap<Route, BTreeMap<u64, String>>,
    /// Dead letters: id → (tenant, cache).
    dead: BTreeMap<u64, (String, String)>,
    /// Sequences still in the file whose key has a newer write: removed
    /// from the file with the next settle.
    garbage: Vec<u64>,
    /// Slots whose write the flusher has taken and not settled yet: not
    /// handed out again meanwhile.
    in_flight: HashSet<String>,
    /// Pending writes per (tenant, cache), for `INFO` without a scan.
    counts: HashMap<(String, String), u64>,
}

impl Index {
    /// Puts `write` unless a newer write of its slot is there; returns
    /// whether it replaced one.
    fn put(&mut self, slot: String, write: Arc<Write>) -> Option<bool> {
        let replaced = match self.pending.get(&slot) {
            Some(old) if old.sequence > write.sequence => {
                self.garbage.push(write.sequence);
                return None;
            }
            Some(old) => {
                let old = Arc::clone(old);
                self.unorder(&old);
                self.garbage.push(old.sequence);
                true
            }
            None => false,
        };
        self.order
            .entry(route_of(&write))
            .or_default()
            .insert(write.sequence, slot.clone());
        if !replaced {
            *self
                .counts
                .entry((write.slot.tenant.clone(), write.slot.cache.clone()))
                .or_default() += 1;
        }
        self.pending.insert(slot, write);
        Some(replaced)
    }

    fn unorder(&mut self, write: &Write) {
        let route = route_of(write);
        if let Some(order) = self.order.get_mut(&route) {
            order.remove(&write.sequence);
            if order.is_empty() {
                self.order.remove(&route);
            }
        }
    }

    /// Removes the slot's write if it is still `sequence`.
    fn remove(&mut self, slot: &str, sequence: u64) -> Option<Arc<Write>> {
        match self.pending.get(slot) {
            Some(w) if w.sequence == sequence => {
                let w = self.pending.remove(slot)?;
                self.unorder(&w);
                let key = (w.slot.tenant.clone(), w.slot.cache.clone());
                if let Some(count) = self.counts.get_mut(&key) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        self.counts.remove(&key);
                    }
                }
                Some(w)
            }
            _ => None,
        }
    }
}

fn route_of(write: &Write) -> Route {
    (write.slot.tenant.clone(), write.origin.clone())
}

/// Unix time in ms.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn encode(write: &Write) -> Result<Vec<u8>, QueueError> {
    rmp_serde::to_vec(write).map_err(|e| QueueError::Decode(e.to_string()))
}

fn decode(bytes: &[u8]) -> Result<Write, QueueError> {
    rmp_serde::from_slice(bytes).map_err(|e| QueueError::Decode(e.to_string()))
}

/// What settling did to one write.
enum Applied {
    Gone,
    Replaced(Arc<Write>),
    Buried,
}

struct Job {
    slot: String,
    write: Write,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// A submitted write's acknowledgement to come.
pub struct Committed(tokio::sync::oneshot::Receiver<Result<(), String>>);

impl Committed {
    /// Returns once the write is on disk, or why it could not be.
    pub async fn wait(self) -> Result<(), QueueError> {
        let outcome = self.0.await.map_err(|_| QueueError::Closed)?;
        outcome.map_err(QueueError::Commit)
    }
}

/// The node's queue.
pub struct WriteQueue {
    db: Arc<Database>,
    jobs: Mutex<Option<crossbeam_channel::Sender<Job>>>,
    index: Arc<Mutex<Index>>,
    next_sequence: AtomicU64,
    /// What it did.
    pub counters: Arc<QueueCounters>,
    /// Woken on every enqueue and every dead letter retried.
    pub(crate) wake: Arc<tokio::sync::Notify>,
    committer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Since when settles were committed without an fsync (None: all durable).
    volatile_since: Mutex<Option<u64>>,
}

impl WriteQueue {
    /// Opens (or creates) the queue file and loads what it holds: writes
    /// still pending from an earlier run are flushed again (replay).
    pub fn open(path: &Path) -> Result<Arc<WriteQueue>, QueueError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| store(redb::StorageError::Io(e)))?;
        }
        let db = Database::create(path).map_err(store)?;
        let mut index = Index::default();
        let mut max_sequence = 0u64;
        {
            let tx = db.begin_write().map_err(store)?;
            tx.open_table(PENDING).map_err(store)?;
            tx.open_table(DEAD).map_err(store)?;
            tx.open_table(META).map_err(store)?;
            tx.commit().map_err(store)?;
            let tx = db.begin_read().map_err(store)?;
            let meta = tx.open_table(META).map_err(store)?;
            if let Some(high) = meta.get(HIGH_WATER).map_err(store)? {
                max_sequence = high.value();
            }
            let pending = tx.open_table(PENDING).map_err(store)?;
            // In sequence order: the newest write of each key wins.
            for row in pending.iter().map_err(store)? {
                let (_, bytes) = row.map_err(store)?;
                let mut write = decode(bytes.value())?;
                // A replayed write is due now, whatever backoff it had.
                write.next_ms = 0;
                max_sequence = max_sequence.max(write.sequence);
                index.put(write.slot.encode(), Arc::new(write));
            }
            let dead = tx.open_table(DEAD).map_err(store)?;
            for row in dead.iter().map_err(store)? {
                let (id, bytes) = row.map_err(store)?;
                let letter: DeadLetter = rmp_serde::from_slice(bytes.value())
                    .map_err(|e| QueueError::Decode(e.to_string()))?;
                max_sequence = max_sequence.max(letter.id);
                index.dead.insert(
                    id.value(),
                    (letter.write.slot.tenant, letter.write.slot.cache),
                );
            }
        }
        if !index.pending.is_empty() {
            tracing::info!(
                pending = index.pending.len(),
                dead = index.dead.len(),
                file = %path.display(),
                "write-behind: replaying writes the origin has not confirmed"
            );
        }
        // Sequences grow across restarts, and from the wall clock (µs) so a
        // node whose file was lost still writes newer sequences than before.
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        let db = Arc::new(db);
        let index = Arc::new(Mutex::new(index));
        let counters = Arc::new(QueueCounters::default());
        let wake = Arc::new(tokio::sync::Notify::new());
        let (tx, rx) = crossbeam_channel::unbounded::<Job>();
        let committer = {
            let (db, index, counters, wake) = (
                Arc::clone(&db),
                Arc::clone(&index),
                Arc::clone(&counters),
                Arc::clone(&wake),
            );
            std::thread::Builder::new()
                .name("hoard-wb-commit".into())
                .spawn(move || commit_loop(&db, &index, &counters, &wake, &rx))
                .map_err(|e| store(redb::StorageError::Io(e)))?
        };
        Ok(Arc::new(WriteQueue {
            db,
            jobs: Mutex::new(Some(tx)),
            index,
            next_sequence: AtomicU64::new(max_sequence.max(micros)),
            counters,
            wake,
            committer: Mutex::new(Some(committer)),
            volatile_since: Mutex::new(None),
        }))
    }

    /// The next write's sequence.
    pub fn next_sequence(&self) -> u64 {
        self.next_sequence.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Hands `write` to the committer; [`Committed::wait`] returns once it
    /// is on disk (the acknowledgement).
    pub fn submit(&self, write: Write) -> Result<Committed, QueueError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let jobs = self.jobs.lock();
        let Some(jobs) = jobs.as_ref() else {
            return Err(QueueError::Closed);
        };
        jobs.send(Job {
            slot: write.slot.encode(),
            write,
            done,
        })
        .map_err(|_| QueueError::Closed)?;
        Ok(Committed(answer))
    }

    /// Appends `write` and returns once it is on disk.
    pub async fn enqueue(&self, write: Write) -> Result<(), QueueError> {
        self.submit(write)?.wait().await
    }

    /// Stops taking writes and waits for the committer to finish the ones
    /// it holds (shutdown).
    pub fn close(&self) {
        drop(self.jobs.lock().take());
        if let Some(handle) = self.committer.lock().take() {
            let _ = handle.join();
        }
    }

    /// Up to `max` writes due at `now_ms`, oldest first, skipping routes in
    /// `paused`, and when the earliest skipped one becomes due.
    pub fn due(
        &self,
        now_ms: u64,
        max: usize,
        paused: &HashMap<Route, u64>,
    ) -> (Vec<Arc<Write>>, Option<u64>) {
        let mut index = self.index.lock();
        let mut picked = Vec::new();
        let mut next: Option<u64> = None;
        let mut later = |at: u64| next = Some(next.map_or(at, |n: u64| n.min(at)));
        let mut candidates: Vec<(u64, &String)> = Vec::new();
        for (route, order) in &index.order {
            if let Some(until) = paused.get(route)
                && *until > now_ms
            {
                later(*until);
                continue;
            }
            for (sequence, slot) in order {
                if index.in_flight.contains(slot) {
                    continue;
                }
                let Some(write) = index.pending.get(slot) else {
                    continue;
                };
                if write.next_ms > now_ms {
                    later(write.next_ms);
                    continue;
                }
                candidates.push((*sequence, slot));
                if candidates.len() >= max * 4 {
                    break;
                }
            }
        }
        candidates.sort_unstable_by_key(|(sequence, _)| *sequence);
        let chosen: Vec<String> = candidates
            .into_iter()
            .take(max)
            .map(|(_, slot)| slot.clone())
            .collect();
        for slot in chosen {
            if let Some(write) = index.pending.get(&slot) {
                picked.push(Arc::clone(write));
                index.in_flight.insert(slot);
            }
        }
        (picked, next)
    }

    /// Gives back writes the flusher took but did not send (their origin
    /// could not be reached): they are handed out again later.
    pub fn release(&self, writes: &[Arc<Write>]) {
        let mut index = self.index.lock();
        for write in writes {
            index.in_flight.remove(&write.slot.encode());
        }
    }

    /// Records what happened to writes the flusher sent. Confirmations are
    /// not fsynced: losing one on a crash only sends the write again, which
    /// the sequence makes harmless.
    pub fn settle(&self, outcomes: Vec<(Arc<Write>, Settle)>) -> Result<(), QueueError> {
        let taken: Vec<Arc<Write>> = outcomes.iter().map(|(w, _)| Arc::clone(w)).collect();
        let result = self.settle_in_file(outcomes);
        if result.is_err() {
            // Not settled: handed out again, sent again.
            self.release(&taken);
        }
        result
    }

    fn settle_in_file(&self, outcomes: Vec<(Arc<Write>, Settle)>) -> Result<(), QueueError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        if outcomes.iter().all(|(_, s)| matches!(s, Settle::Confirmed)) {
            let mut index = self.index.lock();
            for (write, _) in &outcomes {
                let slot = write.slot.encode();
                index.in_flight.remove(&slot);
                // Not the key's newest any more: `put` made it garbage already.
                if index.remove(&slot, write.sequence).is_some() {
                    index.garbage.push(write.sequence);
                }
            }
            if index.garbage.len() < DEFERRED_REMOVALS {
                return Ok(());
            }
            drop(index);
            return self.remove_garbage(self.checkpoint_due());
        }
        let buries = outcomes
            .iter()
            .any(|(_, s)| matches!(s, Settle::Bury { .. }));
        let now = now_ms();
        let mut applied = Vec::with_capacity(outcomes.len());
        let mut settled = Vec::with_capacity(outcomes.len());
        let mut tx = self.db.begin_write().map_err(store)?;
        // A dead letter is fsynced at once. Confirmations and retries are
        // not (an fsync on Linux, for `Eventual` too, would cost every batch
        // two): the next enqueue's commit, or a checkpoint within
        // CHECKPOINT_MS, makes them durable; until then a crash sends them
        // again, which the sequence makes harmless.
        let durable = buries || self.checkpoint_due();
        tx.set_durability(if durable {
            Durability::Immediate
        } else {
            Durability::None
        });
        // Under one lock: the garbage to remove, and which settled writes are
        // still their key's newest (a write a newer one replaced meanwhile is
        // garbage, whatever happened to it: it is neither retried nor buried).
        let (garbage, slots) = {
            let mut index = self.index.lock();
            let slots: Vec<(String, bool)> = outcomes
                .iter()
                .map(|(write, _)| {
                    let slot = write.slot.encode();
                    let current = matches!(
                        index.pending.get(&slot),
                        Some(w) if w.sequence == write.sequence
                    );
                    (slot, current)
                })
                .collect();
            (std::mem::take(&mut index.garbage), slots)
        };
        {
            let mut pending = tx.open_table(PENDING).map_err(store)?;
            let mut dead = tx.open_table(DEAD).map_err(store)?;
            for ((write, settle), (slot, current)) in outcomes.into_iter().zip(slots) {
                settled.push(slot.clone());
                match &settle {
                    Settle::Confirmed => {
                        pending.remove(write.sequence).map_err(store)?;
                    }
                    Settle::Retry { .. } | Settle::Bury { .. } if !current => {
                        pending.remove(write.sequence).map_err(store)?;
                    }
                    Settle::Retry {
                        attempts,
                        next_ms,
                        error,
                    } => {
                        let mut next = (*write).clone();
                        next.attempts = *attempts;
                        next.next_ms = *next_ms;
                        next.last_error.clone_from(error);
                        next.attempted_ms.push(now);
                        pending
                            .insert(write.sequence, encode(&next)?.as_slice())
                            .map_err(store)?;
                        applied.push((slot, write, Applied::Replaced(Arc::new(next))));
                        continue;
                    }
                    Settle::Bury { reason } => {
                        pending.remove(write.sequence).map_err(store)?;
                        let mut buried = (*write).clone();
                        buried.attempts += 1;
                        buried.attempted_ms.push(now);
                        let letter = DeadLetter {
                            id: write.sequence,
                            write: buried,
                            buried_ms: now,
                            reason: reason.clone(),
                        };
                        let bytes = rmp_serde::to_vec(&letter)
                            .map_err(|e| QueueError::Decode(e.to_string()))?;
                        dead.insert(letter.id, bytes.as_slice()).map_err(store)?;
                        applied.push((slot, write, Applied::Buried));
                        continue;
                    }
                }
                applied.push((slot, write, Applied::Gone));
            }
            for sequence in &garbage {
                pending.remove(*sequence).map_err(store)?;
            }
        }
        tx.commit().map_err(store)?;
        if durable {
            self.counters.count_fsync();
            *self.volatile_since.lock() = None;
        } else {
            self.volatile_since.lock().get_or_insert(now);
        }
        let mut index = self.index.lock();
        for slot in &settled {
            index.in_flight.remove(slot);
        }
        for (slot, write, applied) in applied {
            index.remove(&slot, write.sequence);
            match applied {
                Applied::Replaced(next) => {
                    index.put(slot, next);
                }
                Applied::Buried => {
                    self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
                    index.dead.insert(
                        write.sequence,
                        (write.slot.tenant.clone(), write.slot.cache.clone()),
                    );
                }
                Applied::Gone => {}
            }
        }
        Ok(())
    }

    /// Whether settles committed without an fsync for CHECKPOINT_MS.
    fn checkpoint_due(&self) -> bool {
        self.volatile_since
            .lock()
            .is_some_and(|since| now_ms().saturating_sub(since) >= CHECKPOINT_MS)
    }

    /// Removes the garbage from the file in one transaction, fsynced or not.
    fn remove_garbage(&self, durable: bool) -> Result<(), QueueError> {
        let garbage = std::mem::take(&mut self.index.lock().garbage);
        let removed = (|| {
            let mut tx = self.db.begin_write().map_err(store)?;
            tx.set_durability(if durable {
                Durability::Immediate
            } else {
                Durability::None
            });
            {
                let mut pending = tx.open_table(PENDING).map_err(store)?;
                for sequence in &garbage {
                    pending.remove(*sequence).map_err(store)?;
                }
            }
            tx.commit().map_err(store)
        })();
        if let Err(error) = removed {
            // Still in the file: removed with a later transaction.
            self.index.lock().garbage.extend(garbage);
            return Err(error);
        }
        if durable {
            self.counters.count_fsync();
            *self.volatile_since.lock() = None;
        } else {
            self.volatile_since.lock().get_or_insert(now_ms());
        }
        Ok(())
    }

    /// Makes what settles left in the file final and durable: removes the
    /// garbage and fsyncs. The flusher calls it when it has nothing to
    /// send, so an idle queue never leaves confirmations to replay.
    pub fn checkpoint(&self) -> Result<(), QueueError> {
        if self.volatile_since.lock().is_none() && self.index.lock().garbage.is_empty() {
            return Ok(());
        }
        self.remove_garbage(true)
    }

    /// Pending writes, oldest age and dead letters: of `tenant` (and
    /// `cache`), or of the whole node.
    pub fn depth(&self, tenant: Option<&str>, cache: Option<&str>) -> Depth {
        let index = self.index.lock();
        let wanted =
            |t: &str, c: &str| tenant.is_none_or(|x| x == t) && cache.is_none_or(|x| x == c);
        let mut depth = Depth {
            pending: index
                .counts
                .iter()
                .filter(|((t, c), _)| wanted(t, c))
                .map(|(_, n)| *n)
                .sum(),
            ..Depth::default()
        };
        // The oldest: the first matching write of each origin's order (by
        // sequence), and the oldest unconfirmed write of its key.
        let oldest = index
            .order
            .iter()
            .filter(|((t, _), _)| tenant.is_none_or(|x| x == t))
            .filter_map(|(_, order)| {
                order
                    .values()
                    .filter_map(|slot| index.pending.get(slot))
                    .find(|w| wanted(&w.slot.tenant, &w.slot.cache))
                    .map(|w| w.since_ms)
            })
            .min();
        depth.dead = index.dead.values().filter(|(t, c)| wanted(t, c)).count() as u64;
        if let Some(oldest) = oldest {
            depth.oldest_ms = now_ms().saturating_sub(oldest);
        }
        depth
    }

    /// The dead letters of `tenant`, oldest first, at most `count`.
    pub fn dead_letters(&self, tenant: &str, count: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let mut ids = self.dead_ids(tenant);
        ids.truncate(count);
        let tx = self.db.begin_read().map_err(store)?;
        let dead = tx.open_table(DEAD).map_err(store)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(bytes) = dead.get(id).map_err(store)? {
                out.push(
                    rmp_serde::from_slice(bytes.value())
                        .map_err(|e| QueueError::Decode(e.to_string()))?,
                );
            }
        }
        Ok(out)
    }

    /// The ids of `tenant`'s dead letters.
    pub fn dead_ids(&self, tenant: &str) -> Vec<u64> {
        let index = self.index.lock();
        index
            .dead
            .iter()
            .filter(|(_, (t, _))| t == tenant)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Puts dead letter `id` of `tenant` back in the queue, due now, with
    /// its attempts reset; fsynced before it returns.
    pub fn retry_dead(&self, tenant: &str, id: u64) -> Result<(), QueueError> {
        self.owned(tenant, id)?;
        let tx = self.db.begin_write().map_err(store)?;
        let write = {
            let mut pending = tx.open_table(PENDING).map_err(store)?;
            let mut dead = tx.open_table(DEAD).map_err(store)?;
            let letter: DeadLetter = match dead.remove(id).map_err(store)? {
                Some(bytes) => rmp_serde::from_slice(bytes.value())
                    .map_err(|e| QueueError::Decode(e.to_string()))?,
                None => return Err(QueueError::NoSuchLetter(id)),
            };
            let newer = matches!(
                self.index.lock().pending.get(&letter.write.slot.encode()),
                Some(w) if w.sequence > id
            );
            if newer {
                return Err(QueueError::Superseded(id));
            }
            let mut write = letter.write;
            write.attempts = 0;
            write.next_ms = 0;
            write.last_error.clear();
            write.attempted_ms.clear();
            write.since_ms = now_ms();
            pending
                .insert(write.sequence, encode(&write)?.as_slice())
                .map_err(store)?;
            write
        };
        tx.commit().map_err(store)?;
        self.counters.count_fsync();
        let mut index = self.index.lock();
        index.dead.remove(&id);
        index.put(write.slot.encode(), Arc::new(write));
        drop(index);
        self.wake.notify_one();
        Ok(())
    }

    /// Deletes dead letter `id` of `tenant` for good.
    pub fn drop_dead(&self, tenant: &str, id: u64) -> Result<(), QueueError> {
        self.owned(tenant, id)?;
        let tx = self.db.begin_write().map_err(store)?;
        {
            let mut dead = tx.open_table(DEAD).map_err(store)?;
            dead.remove(id).map_err(store)?;
        }
        tx.commit().map_err(store)?;
        self.counters.count_fsync();
        self.index.lock().dead.remove(&id);
        Ok(())
    }

    /// A tenant may only touch its own letters; another's is "no such letter".
    fn owned(&self, tenant: &str, id: u64) -> Result<(), QueueError> {
        match self.index.lock().dead.get(&id) {
            Some((t, _)) if t == tenant => Ok(()),
            _ => Err(QueueError::NoSuchLetter(id)),
        }
    }
}

/// The committer: takes every write waiting, commits them in one
/// transaction (one fsync), then acknowledges them all.
fn commit_loop(
    db: &Database,
    index: &Mutex<Index>,
    counters: &QueueCounters,
    wake: &tokio::sync::Notify,
    jobs: &crossbeam_channel::Receiver<Job>,
) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        // The oldest unconfirmed write of a key is carried over, for the age;
        // and some garbage rides along: this commit writes and fsyncs anyway.
        let garbage = {
            let mut index = index.lock();
            for job in &mut group {
                if let Some(old) = index.pending.get(&job.slot) {
                    job.write.since_ms = job.write.since_ms.min(old.since_ms);
                }
            }
            let keep = index.garbage.len().saturating_sub(GARBAGE_PER_COMMIT);
            index.garbage.split_off(keep)
        };
        let committed = commit_group(db, &group, &garbage);
        if committed.is_err() {
            index.lock().garbage.extend(garbage);
        }
        let mut answers = Vec::with_capacity(group.len());
        match committed {
            Ok(()) => {
                counters.count_fsync();
                let mut index = index.lock();
                for job in group {
                    counters.enqueued.fetch_add(1, Ordering::Relaxed);
                    if index.put(job.slot, Arc::new(job.write)) == Some(true) {
                        counters.coalesced.fetch_add(1, Ordering::Relaxed);
                    }
                    answers.push((job.done, Ok(())));
                }
                drop(index);
                wake.notify_one();
            }
            Err(error) => {
                tracing::error!(%error, writes = group.len(), "write-behind queue: commit failed; the writes are refused");
                let text = error.to_string();
                answers.extend(group.into_iter().map(|job| (job.done, Err(text.clone()))));
            }
        }
        for (done, answer) in answers {
            let _ = done.send(answer);
        }
    }
}

fn commit_group(db: &Database, group: &[Job], garbage: &[u64]) -> Result<(), QueueError> {
    let mut tx = db.begin_write().map_err(store)?;
    tx.set_durability(Durability::Immediate);
    {
        let high = group.iter().map(|j| j.write.sequence).max().unwrap_or(0);
        let mut meta = tx.open_table(META).map_err(store)?;
        let stored = meta
            .get(HIGH_WATER)
            .map_err(store)?
            .map_or(0, |v| v.value());
        if high > stored {
            meta.insert(HIGH_WATER, high).map_err(store)?;
        }
        drop(meta);
        let mut pending = tx.open_table(PENDING).map_err(store)?;
        for job in group {
            pending
                .insert(job.write.sequence, encode(&job.write)?.as_slice())
                .map_err(store)?;
        }
        for sequence in garbage {
            pending.remove(*sequence).map_err(store)?;
        }
    }
    tx.commit().map_err(store)?;
    Ok(())
}

#[cfg(test)]
mod tests;
