//! Server-assisted client-side caching (`CLIENT TRACKING`): which connection is told about
//! which key of one tenant's keyspace, and the delivery of those invalidations.
//!
//! Default mode remembers, per key, the connections that read it since its last change and
//! tells each of them once; `BCAST` mode tells every connection whose prefixes match, for
//! every change. The table is per tenant, so a tenant never hears another's keys. Plain keys
//! are tracked under their own name, definition entries as `<cache>:<entry key>` (see
//! `cmd/keyspace.rs`). Changes are reported by the tables' observers with a shard lock held,
//! so this file only does map lookups and non-blocking channel sends there.
//!
//! The remembered keys are bounded (`tracking_table_max_keys`, as Redis's
//! `tracking-table-max-keys`): past the bound a random key is forgotten and its readers are
//! told it is invalid, so they drop it instead of holding a copy nobody will announce.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use indexmap::IndexMap;
use parking_lot::Mutex;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

/// What a connection must write out: keys invalidated (`None`: all of them, on a flush).
#[derive(Debug)]
pub struct Invalidation {
    /// The keys, or `None` for "everything" (`FLUSHALL`).
    pub keys: Option<Vec<Bytes>>,
    /// Deliver as a `__redis__:invalidate` pub/sub message (redirect), not an `invalidate` push.
    pub as_message: bool,
    /// Answered once the push is written, so the writing command can hold its own reply until
    /// then (see [`take_acks`]).
    pub written: Option<oneshot::Sender<()>>,
}

/// How one connection tracks.
#[derive(Clone, Debug)]
pub(crate) struct Mode {
    /// `BCAST`: every change under `prefixes` (all keys when empty).
    pub(crate) bcast: bool,
    pub(crate) prefixes: Vec<Bytes>,
    /// `NOLOOP`: not told about its own writes.
    pub(crate) noloop: bool,
    /// `REDIRECT id`: deliver to that subscribed connection instead.
    pub(crate) redirect: Option<u64>,
}

struct Client {
    mode: Mode,
    own: UnboundedSender<Invalidation>,
}

#[derive(Default)]
struct Inner {
    clients: HashMap<u64, Client>,
    /// Default mode: key → connections that read it since its last change. Indexed, so a
    /// random key can be evicted in O(1) when the table is over its bound.
    keys: IndexMap<Bytes, HashSet<u64>, foldhash::fast::RandomState>,
    /// Connections subscribed to `__redis__:invalidate`, for redirects.
    subscribers: HashMap<u64, UnboundedSender<Invalidation>>,
    /// xorshift state picking eviction victims.
    rng: u64,
}

/// Redis's default `tracking-table-max-keys`.
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;

/// One tenant's tracking table.
pub(crate) struct Tracking {
    /// Tracking connections; changes skip the lock while it is zero.
    active: AtomicUsize,
    /// Keys remembered at most (0: unbounded).
    max_keys: usize,
    inner: Mutex<Inner>,
}

impl Default for Tracking {
    fn default() -> Self {
        Tracking::new(DEFAULT_MAX_KEYS)
    }
}

/// What `INFO` reports about one tracking table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TrackingStats {
    /// Connections with tracking on.
    pub(crate) clients: usize,
    /// Keys remembered for default-mode readers (`tracking_total_keys`).
    pub(crate) keys: usize,
    /// (key, reader) pairs (`tracking_total_items`).
    pub(crate) items: usize,
    /// `BCAST` prefixes (`tracking_total_prefixes`).
    pub(crate) prefixes: usize,
}

thread_local! {
    /// The connection whose command is running on this thread, for `NOLOOP`.
    static WRITER: Cell<u64> = const { Cell::new(0) };
    /// Invalidations the running command caused, to await before its reply is sent.
    static ACKS: RefCell<Vec<oneshot::Receiver<()>>> = const { RefCell::new(Vec::new()) };
}

/// The invalidations the command just run on this thread caused. The dispatcher awaits them
/// before replying, so a client that sees its write acknowledged knows every tracking
/// connection has been sent the invalidation, as with Redis's single-threaded loop.
pub(crate) fn take_acks() -> Vec<oneshot::Receiver<()>> {
    ACKS.with(|a| std::mem::take(&mut *a.borrow_mut()))
}

/// Restores the previous writer when dropped (see [`writing_as`]).
pub(crate) struct WriterGuard(u64);

impl Drop for WriterGuard {
    fn drop(&mut self) {
        WRITER.with(|w| w.set(self.0));
    }
}

/// Marks `id` as the connection running commands on this thread until the guard drops.
pub(crate) fn writing_as(id: u64) -> WriterGuard {
    WriterGuard(WRITER.with(|w| w.replace(id)))
}

/// The connection running a command on this thread (0: none), so work handed to another
/// thread (an event's invalidation on a plugin thread) can write as the same connection.
pub(crate) fn current_writer() -> u64 {
    WRITER.with(Cell::get)
}

/// Adds invalidations caused on another thread to this thread's (see [`current_writer`]).
pub(crate) fn keep_acks(acks: Vec<oneshot::Receiver<()>>) {
    if !acks.is_empty() {
        ACKS.with(|a| a.borrow_mut().extend(acks));
    }
}

/// Runs an async command as connection `id`: every poll runs with `id` as the writer, so
/// its changes honour `NOLOOP`, and the invalidations they cause are collected for the
/// command to await before it replies, as the synchronous commands do. The thread-locals are
/// set only for the length of one poll, so no other task ever sees them.
pub(crate) async fn run_as<F: Future>(
    id: u64,
    mut command: std::pin::Pin<&mut F>,
) -> (F::Output, Vec<oneshot::Receiver<()>>) {
    let mut acks = Vec::new();
    let output = std::future::poll_fn(|cx| {
        let _writer = writing_as(id);
        let polled = command.as_mut().poll(cx);
        acks.extend(take_acks());
        polled
    })
    .await;
    (output, acks)
}

impl Tracking {
    /// An empty table remembering at most `max_keys` keys (0: unbounded).
    pub(crate) fn new(max_keys: usize) -> Tracking {
        Tracking {
            active: AtomicUsize::new(0),
            max_keys,
            inner: Mutex::new(Inner {
                rng: 0x9E37_79B9_7F4A_7C15,
                ..Inner::default()
            }),
        }
    }

    /// The bound on remembered keys (0: none), for `CONFIG GET tracking-table-max-keys`.
    pub(crate) fn max_keys(&self) -> usize {
        self.max_keys
    }

    /// Whether any connection tracks; lets observers skip building key names.
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire) != 0
    }

    /// Counts for `INFO`.
    pub(crate) fn stats(&self) -> TrackingStats {
        let inner = self.inner.lock();
        TrackingStats {
            clients: inner.clients.len(),
            keys: inner.keys.len(),
            items: inner.keys.values().map(HashSet::len).sum(),
            prefixes: inner
                .clients
                .values()
                .filter(|c| c.mode.bcast)
                .map(|c| c.mode.prefixes.len())
                .sum(),
        }
    }

    /// Starts (or changes) tracking for `id`. `Err` when the redirect target is not subscribed.
    pub(crate) fn enable(
        &self,
        id: u64,
        mode: Mode,
        own: UnboundedSender<Invalidation>,
    ) -> Result<(), &'static str> {
        let mut inner = self.inner.lock();
        if let Some(target) = mode.redirect
            && target != id
            && !inner.subscribers.contains_key(&target)
        {
            return Err("ERR The client ID you want redirect to does not exist");
        }
        if inner.clients.insert(id, Client { mode, own }).is_none() {
            self.active.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Stops tracking for `id`.
    ///
    /// Its id is left in the key sets, as Redis does: scanning up to `max_keys` keys here
    /// would stall, under the lock, every write that reports a change. A stale id is delivered
    /// to only if that connection turns tracking on again (a needless push, never a missed
    /// one); it leaves with its key's next change or eviction, and the whole table is dropped
    /// when the last tracking connection goes.
    pub(crate) fn disable(&self, id: u64) {
        let mut inner = self.inner.lock();
        if inner.clients.remove(&id).is_some() {
            self.active.fetch_sub(1, Ordering::AcqRel);
            if inner.clients.is_empty() {
                inner.keys = IndexMap::default();
            }
        }
    }

    /// Remembers that `id` (default mode) read `keys`. Called before the read itself, so a
    /// change racing with the read is announced (possibly needlessly) rather than missed.
    pub(crate) fn read(&self, id: u64, keys: &[Bytes]) {
        let mut inner = self.inner.lock();
        let default_mode = inner.clients.get(&id).is_some_and(|c| !c.mode.bcast);
        if default_mode {
            for key in keys {
                inner.keys.entry(key.clone()).or_default().insert(id);
            }
            self.evict_over_bound(&mut inner);
        }
    }

    /// Forgets random keys until the table is within its bound, telling their readers, as
    /// Redis does when `tracking-table-max-keys` is exceeded.
    fn evict_over_bound(&self, inner: &mut Inner) {
        if self.max_keys == 0 {
            return;
        }
        while inner.keys.len() > self.max_keys {
            // xorshift64: cheap, and good enough to spread victims over the table.
            let mut x = inner.rng;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            inner.rng = x;
            let victim = (x % inner.keys.len() as u64) as usize;
            let Some((key, readers)) = inner.keys.swap_remove_index(victim) else {
                break;
            };
            for id in readers {
                if let Some(client) = inner.clients.get(&id) {
                    Self::deliver(inner, id, client, Some(vec![key.clone()]));
                }
            }
        }
    }

    /// Registers `id` as a subscriber of `__redis__:invalidate`.
    pub(crate) fn subscribe(&self, id: u64, tx: UnboundedSender<Invalidation>) {
        self.inner.lock().subscribers.insert(id, tx);
    }

    /// Removes the subscriber `id`.
    pub(crate) fn unsubscribe(&self, id: u64) {
        self.inner.lock().subscribers.remove(&id);
    }

    fn deliver(inner: &Inner, id: u64, client: &Client, keys: Option<Vec<Bytes>>) {
        let (tx, as_message, recipient) = match client.mode.redirect {
            Some(target) => match inner.subscribers.get(&target) {
                Some(tx) => (tx, true, target),
                None => return,
            },
            None => (&client.own, false, id),
        };
        // Only a command (not the sweeper) waits, and never for its own connection.
        let writer = WRITER.with(Cell::get);
        let written = (writer != 0 && writer != recipient).then(|| {
            let (ack, done) = oneshot::channel();
            ACKS.with(|a| a.borrow_mut().push(done));
            ack
        });
        let _ = tx.send(Invalidation {
            keys,
            as_message,
            written,
        });
    }

    /// A key changed: tell its readers (once) and the matching broadcast connections.
    pub(crate) fn changed(&self, key: &[u8]) {
        if self.active.load(Ordering::Acquire) == 0 {
            return;
        }
        let writer = WRITER.with(Cell::get);
        let mut inner = self.inner.lock();
        let readers = inner.keys.swap_remove(key).unwrap_or_default();
        let key = Bytes::copy_from_slice(key);
        let mut still_reading = None;
        for (id, client) in &inner.clients {
            if client.mode.noloop && *id == writer {
                // Not told about its own change, so it must stay a reader: a change by
                // another connection later is still announced to it. (Redis forgets it; a
                // read that writes, such as an L2 promotion, would then go untracked.)
                if readers.contains(id) {
                    still_reading = Some(*id);
                }
                continue;
            }
            let told = if client.mode.bcast {
                client.mode.prefixes.is_empty()
                    || client.mode.prefixes.iter().any(|p| key.starts_with(p))
            } else {
                readers.contains(id)
            };
            if told {
                Self::deliver(&inner, *id, client, Some(vec![key.clone()]));
            }
        }
        if let Some(id) = still_reading {
            inner.keys.entry(key).or_default().insert(id);
        }
    }

    /// Every key went: tell every tracking connection with a null key list.
    pub(crate) fn flushed(&self) {
        if self.active.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut inner = self.inner.lock();
        inner.keys.clear();
        for (id, client) in &inner.clients {
            Self::deliver(&inner, *id, client, None);
        }
    }
}
