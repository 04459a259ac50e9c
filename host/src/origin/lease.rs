//! Leases: who loads a missing entry, and whether what they load may still
//! be stored when they come back.
//!
//! One table serves both read-through (the host holds the lease; callers
//! that miss while it loads wait for the same result: single flight) and
//! `CACHE.LEASE`/`CACHE.FILL` (a client holds it, as in memcache leases).
//! Stale sets are the point: an invalidation of a key voids its lease, so
//! a loader that read the origin *before* the change cannot store what it
//! read *after* the invalidation. The check and the store happen under the
//! table's lock, and an invalidation marks itself active under the same
//! lock before it removes anything, so no interleaving lets an old value in.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::watch;

use super::LoadResult;
use hoard_l1::Glob;

/// The result of a load, shared with every caller that waited for it.
pub type Shared = Option<Arc<LoadResult>>;

struct Lease {
    token: u64,
    expires_ms: u64,
    /// Callers wait on this for a host-held lease (read-through).
    result: Option<watch::Receiver<Shared>>,
}

/// What asking for a lease gave.
pub enum Acquired {
    /// The caller holds the lease; with a sender when the host loads.
    Granted {
        /// Present the token to store what was loaded.
        token: u64,
        /// Where the host publishes its load (read-through only).
        publish: Option<watch::Sender<Shared>>,
    },
    /// Somebody else holds it: wait on the receiver (host-held), or retry
    /// (client-held: `retry_ms` until it lapses at the latest).
    Held {
        /// The host's load to wait for.
        result: Option<watch::Receiver<Shared>>,
        /// Time left on the lease.
        retry_ms: u64,
    },
}

#[derive(Default)]
struct State {
    leases: HashMap<(String, String), Lease>,
    /// Invalidations running now: fills are refused while any runs.
    active: usize,
}

/// The lease table of one cache handle (one tenant).
pub struct Leases {
    state: Mutex<State>,
    next: AtomicU64,
    /// Leases in `state`, readable without the lock: set from the table
    /// each time a [`Locked`] is released.
    held: AtomicUsize,
}

/// The lease table, locked. Releasing it records how many leases it holds
/// in [`Leases::held`], so no change to the table can leave the count behind.
struct Locked<'a> {
    state: MutexGuard<'a, State>,
    held: &'a AtomicUsize,
}

impl std::ops::Deref for Locked<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.state
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // Still under the lock: the guard's field drops after this.
        self.held.store(self.state.leases.len(), Ordering::Release);
    }
}

impl Default for Leases {
    fn default() -> Self {
        let mut seed = [0u8; 8];
        // Tokens need only be unguessable enough not to collide across restarts.
        let _ = getrandom::fill(&mut seed);
        Leases {
            state: Mutex::new(State::default()),
            next: AtomicU64::new(u64::from_le_bytes(seed) >> 1),
            held: AtomicUsize::new(0),
        }
    }
}

impl Leases {
    fn lock(&self) -> Locked<'_> {
        Locked {
            state: self.state.lock(),
            held: &self.held,
        }
    }

    /// Asks for the lease of `key` in `cache`; `host` when the host will
    /// load (read-through) rather than a client.
    pub fn acquire(
        &self,
        cache: &str,
        key: &str,
        now_ms: u64,
        lease_ms: u64,
        host: bool,
    ) -> Acquired {
        let mut state = self.lock();
        let id = (cache.to_owned(), key.to_owned());
        // A host lease whose loader is gone without a word (its task
        // ended without publishing) is over: the next caller takes it.
        if let Some(lease) = state.leases.get(&id)
            && lease.expires_ms > now_ms
            && lease
                .result
                .as_ref()
                .is_none_or(|rx| rx.has_changed().is_ok())
        {
            return Acquired::Held {
                result: lease.result.clone(),
                retry_ms: lease.expires_ms - now_ms,
            };
        }
        let token = self.next.fetch_add(1, Ordering::Relaxed).max(1);
        let (publish, result) = if host {
            let (tx, rx) = watch::channel(None);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        state.leases.insert(
            id,
            Lease {
                token,
                expires_ms: now_ms.saturating_add(lease_ms),
                result,
            },
        );
        Acquired::Granted { token, publish }
    }

    /// Ends the lease `token` of `key`: runs `store` if the lease is still
    /// valid (not voided by an invalidation, not lapsed and taken by
    /// another, no invalidation running). Returns whether it stored.
    pub fn fill(&self, cache: &str, key: &str, token: u64, store: impl FnOnce()) -> bool {
        let mut state = self.lock();
        let id = (cache.to_owned(), key.to_owned());
        let valid = state.leases.get(&id).is_some_and(|l| l.token == token);
        if !valid {
            return false;
        }
        state.leases.remove(&id);
        if state.active > 0 {
            return false;
        }
        store();
        true
    }

    /// Gives up the lease without storing (the load failed).
    pub fn release(&self, cache: &str, key: &str, token: u64) {
        let mut state = self.lock();
        let id = (cache.to_owned(), key.to_owned());
        if state.leases.get(&id).is_some_and(|l| l.token == token) {
            state.leases.remove(&id);
        }
    }

    /// A write of `key` in `cache` begins: voids the key's lease and refuses
    /// every fill until the guard drops. While no lease is held at all (the
    /// common case) it takes no lock and returns no guard: there is nothing
    /// to void, and a lease granted meanwhile is one granted after the write
    /// began, which the guard would not have voided either.
    pub fn writing(&self, cache: &str, key: &str) -> Option<Invalidating<'_>> {
        if self.held.load(Ordering::Acquire) == 0 {
            return None;
        }
        let guard = self.invalidating();
        guard.void_key(Some(cache), key);
        Some(guard)
    }

    /// Marks an invalidation as running until the guard drops; the guard
    /// voids the leases it is told about (call [`Invalidating::void`]).
    pub fn invalidating(&self) -> Invalidating<'_> {
        self.lock().active += 1;
        Invalidating { leases: self }
    }

    /// Leases held right now (for `INFO`).
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

/// An invalidation in progress (see [`Leases::invalidating`]).
pub struct Invalidating<'a> {
    leases: &'a Leases,
}

impl Invalidating<'_> {
    /// Voids the lease of `key` in `cache` (`None`: in every cache).
    pub fn void_key(&self, cache: Option<&str>, key: &str) {
        let mut state = self.leases.lock();
        state
            .leases
            .retain(|(c, k), _| k != key || cache.is_some_and(|cache| c != cache));
    }

    /// Voids the leases of `cache` (`None`: every cache) whose keys match `pattern`.
    pub fn void_matching(&self, cache: Option<&str>, pattern: &Glob) {
        let mut state = self.leases.lock();
        state.leases.retain(|(c, k), _| {
            cache.is_some_and(|cache| c != cache) || !pattern.matches(k.as_bytes())
        });
    }

    /// Voids every lease of `cache` (a flush, an unloaded definition).
    pub fn void_cache(&self, cache: &str) {
        let mut state = self.leases.lock();
        state.leases.retain(|(c, _), _| c != cache);
    }
}

impl Drop for Invalidating<'_> {
    fn drop(&mut self) {
        let mut state = self.leases.lock();
        state.active = state.active.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(a: Acquired) -> u64 {
        match a {
            Acquired::Granted { token, .. } => token,
            Acquired::Held { .. } => 0,
        }
    }

    #[test]
    fn one_holder_at_a_time_until_it_lapses() {
        let leases = Leases::default();
        let t = granted(leases.acquire("C", "k", 0, 100, false));
        assert_ne!(t, 0);
        assert!(matches!(
            leases.acquire("C", "k", 50, 100, false),
            Acquired::Held { retry_ms: 50, .. }
        ));
        // Lapsed: a new holder, and the old token no longer fills.
        let t2 = granted(leases.acquire("C", "k", 100, 100, false));
        assert_ne!(t2, 0);
        assert!(!leases.fill("C", "k", t, || {}));
        let mut stored = false;
        assert!(leases.fill("C", "k", t2, || stored = true));
        assert!(stored);
    }

    #[test]
    fn a_write_takes_no_lock_without_leases_and_voids_its_key_with_them() {
        let leases = Leases::default();
        assert!(
            leases.writing("C", "k").is_none(),
            "no lease held: no guard"
        );
        let mine = granted(leases.acquire("C", "k", 0, 1000, false));
        let other = granted(leases.acquire("C", "j", 0, 1000, false));
        assert_eq!(leases.held(), 2);
        let guard = leases.writing("C", "k");
        assert!(guard.is_some());
        assert_eq!(leases.held(), 1, "the written key's lease is voided");
        // While the write runs, no fill lands, not even another key's.
        assert!(!leases.fill("C", "j", other, || {}));
        drop(guard);
        assert!(
            !leases.fill("C", "k", mine, || {}),
            "a voided lease never fills"
        );
        assert_eq!(leases.held(), 0);
        assert!(leases.writing("C", "k").is_none());
    }

    #[test]
    fn an_invalidation_voids_the_lease_and_refuses_the_fill() {
        let leases = Leases::default();
        let t = granted(leases.acquire("C", "User:1", 0, 1000, false));
        {
            let inv = leases.invalidating();
            // While it runs, nothing fills, whatever its key.
            let other = granted(leases.acquire("C", "User:2", 0, 1000, false));
            assert!(!leases.fill("C", "User:2", other, || {}));
            inv.void_matching(Some("C"), &Glob::new(b"User:*"));
        }
        let mut stored = false;
        assert!(!leases.fill("C", "User:1", t, || stored = true));
        assert!(!stored);
        // Another cache's leases are untouched by a pattern of this one.
        let t3 = granted(leases.acquire("D", "User:1", 0, 1000, false));
        leases
            .invalidating()
            .void_matching(Some("C"), &Glob::new(b"User:*"));
        assert!(leases.fill("D", "User:1", t3, || {}));
    }

    #[test]
    fn host_leases_share_their_result() {
        let leases = Leases::default();
        let tx = match leases.acquire("C", "k", 0, 1000, true) {
            Acquired::Granted { publish, .. } => publish,
            Acquired::Held { .. } => None,
        };
        let rx = match leases.acquire("C", "k", 1, 1000, true) {
            Acquired::Held { result, .. } => result,
            Acquired::Granted { .. } => None,
        };
        let (Some(tx), Some(rx)) = (tx, rx) else {
            unreachable!("the first caller loads, the second waits");
        };
        let _ = tx.send(Some(Arc::new(Ok(super::super::Fetched::NotFound))));
        assert!(rx.borrow().is_some());
    }

    #[test]
    fn a_host_lease_whose_loader_went_away_is_taken_over() {
        let leases = Leases::default();
        let first = leases.acquire("C", "k", 0, 1000, true);
        assert!(matches!(
            leases.acquire("C", "k", 1, 1000, true),
            Acquired::Held { .. }
        ));
        // The loader's task ends without publishing (and without giving
        // the lease back): the lease is not waited on until it lapses.
        drop(first);
        assert!(matches!(
            leases.acquire("C", "k", 2, 1000, true),
            Acquired::Granted {
                publish: Some(_),
                ..
            }
        ));
    }
}
