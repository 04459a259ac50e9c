//! The per-tenant state of the plain keyspace that lives beside its table: the lock that makes
//! `EXEC` and multi-key writes one unit, the `WATCH` registry, and client-side-caching
//! tracking. It observes the table (`hoard_l1::KeyObserver`), so expiries and evictions deep
//! inside a shard reach watchers and tracking clients like any write.
//!
//! It also observes every definition's table ([`DefinitionEntries`]), for client tracking
//! only: a definition entry is tracked under `<cache>:<entry key>` (`UserCache:User:42`), so
//! one `BCAST PREFIX UserCache:` follows a whole cache and a client that read
//! `CACHE.GET UserCache 42` is told `UserCache:User:42` when that entry changes, expires, is
//! evicted or is invalidated by an event.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use crate::server::clients::Clients;
use crate::server::tracking::Tracking;
use crate::tenant::Tenant;
use hoard_l1::KeyObserver;

/// Every tenant's [`Keyspace`], created on first use.
pub struct Keyspaces {
    by_tenant: Mutex<HashMap<String, Arc<Keyspace>>>,
    /// Each tenant's bound on tracked keys (`tracking_table_max_keys`).
    max_tracked_keys: usize,
}

impl Default for Keyspaces {
    fn default() -> Self {
        Keyspaces::new(crate::server::tracking::DEFAULT_MAX_KEYS)
    }
}

impl Keyspaces {
    /// No keyspace yet; each tenant's tracking table will remember at most
    /// `max_tracked_keys` keys (0: unbounded).
    pub fn new(max_tracked_keys: usize) -> Keyspaces {
        Keyspaces {
            by_tenant: Mutex::new(HashMap::new()),
            max_tracked_keys,
        }
    }

    /// The keyspace state of `tenant`, installing it as the observer of its plain table and
    /// of its definitions' tables the first time.
    pub(crate) fn of(&self, tenant: &Tenant) -> Arc<Keyspace> {
        let mut map = self.by_tenant.lock();
        if let Some(k) = map.get(&tenant.name) {
            return Arc::clone(k);
        }
        let keyspace = Arc::new(Keyspace {
            tenant: tenant.name.clone(),
            exclusive: RwLock::new(()),
            watches: Watches::default(),
            tracking: Tracking::new(self.max_tracked_keys),
            clients: Clients::default(),
        });
        tenant.cache.plain().observe(keyspace.clone());
        tenant
            .cache
            .observe_definitions(Arc::new(DefinitionTracking(Arc::clone(&keyspace))));
        map.insert(tenant.name.clone(), Arc::clone(&keyspace));
        keyspace
    }
}

/// The name a definition entry is tracked and announced under: `<cache>:<entry key>`.
/// Cache names are `[A-Za-z0-9_.-]`, so the first `:` always ends the cache name.
pub(crate) fn entry_key(cache: &str, key: &[u8]) -> Bytes {
    let mut name = Vec::with_capacity(cache.len() + 1 + key.len());
    name.extend_from_slice(cache.as_bytes());
    name.push(b':');
    name.extend_from_slice(key);
    Bytes::from(name)
}

/// Hands each definition's table an observer that reports to the tenant's tracking table.
struct DefinitionTracking(Arc<Keyspace>);

impl crate::cache::DefinitionObserver for DefinitionTracking {
    fn for_cache(&self, name: &str) -> Arc<dyn KeyObserver> {
        Arc::new(DefinitionEntries {
            cache: name.to_owned(),
            keyspace: Arc::clone(&self.0),
        })
    }
}

/// Observes one definition's table: its changes reach tracking clients (not `WATCH`, which
/// is about plain keys) under [`entry_key`].
struct DefinitionEntries {
    cache: String,
    keyspace: Arc<Keyspace>,
}

impl KeyObserver for DefinitionEntries {
    fn changed(&self, key: &[u8]) {
        let tracking = &self.keyspace.tracking;
        if tracking.is_active() {
            tracking.changed(&entry_key(&self.cache, key));
        }
    }

    fn flushed(&self) {
        // There is no "every key of one cache" push: clients are told to drop everything,
        // which is more than needed and never less.
        self.keyspace.tracking.flushed();
    }
}

/// One tenant's plain-keyspace side state.
pub struct Keyspace {
    /// Whose keyspace this is (a session compares it after `AUTH`).
    pub(crate) tenant: String,
    /// Read-held by every plain command, write-held by `EXEC` and multi-key writes, so those
    /// run as one unit with respect to this tenant's other connections.
    pub(crate) exclusive: RwLock<()>,
    watches: Watches,
    /// Client-side caching: who is told about which key.
    pub(crate) tracking: Tracking,
    /// The tenant's connections, for `CLIENT LIST` and `CLIENT KILL`.
    pub(crate) clients: Clients,
}

impl std::fmt::Debug for Keyspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyspace")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl KeyObserver for Keyspace {
    fn changed(&self, key: &[u8]) {
        self.watches.touch(key);
        self.tracking.changed(key);
    }

    fn flushed(&self) {
        self.watches.touch_all();
        self.tracking.flushed();
    }
}

/// The sessions watching one key: session id and its dirty flag.
type Watchers = Vec<(u64, Arc<AtomicBool>)>;

/// Watched keys → the dirty flags of the sessions watching them.
#[derive(Default)]
struct Watches {
    /// Number of watched (key, session) pairs; writes skip the map while it is zero.
    count: AtomicUsize,
    keys: Mutex<HashMap<Bytes, Watchers>>,
}

impl Watches {
    fn touch(&self, key: &[u8]) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        if let Some(watchers) = self.keys.lock().get(key) {
            for (_, dirty) in watchers {
                dirty.store(true, Ordering::Release);
            }
        }
    }

    fn touch_all(&self) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        for watchers in self.keys.lock().values() {
            for (_, dirty) in watchers {
                dirty.store(true, Ordering::Release);
            }
        }
    }
}

/// One session's `WATCH`: its keys and the flag any change to them raises. Dropping it (on
/// `EXEC`, `DISCARD`, `UNWATCH`, `RESET` or disconnect) unregisters the keys.
pub(crate) struct WatchSet {
    keyspace: Arc<Keyspace>,
    session: u64,
    dirty: Arc<AtomicBool>,
    keys: Vec<Bytes>,
}

impl std::fmt::Debug for WatchSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchSet")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl WatchSet {
    /// An empty watch of `keyspace` by `session`.
    pub(crate) fn new(keyspace: Arc<Keyspace>, session: u64) -> WatchSet {
        WatchSet {
            keyspace,
            session,
            dirty: Arc::new(AtomicBool::new(false)),
            keys: Vec::new(),
        }
    }

    /// Watches one more key (again is a no-op).
    pub(crate) fn add(&mut self, key: Bytes) {
        if self.keys.contains(&key) {
            return;
        }
        let watches = &self.keyspace.watches;
        watches
            .keys
            .lock()
            .entry(key.clone())
            .or_default()
            .push((self.session, Arc::clone(&self.dirty)));
        watches.count.fetch_add(1, Ordering::AcqRel);
        self.keys.push(key);
    }

    /// The watched keys.
    pub(crate) fn keys(&self) -> &[Bytes] {
        &self.keys
    }

    /// The keyspace watched.
    pub(crate) fn keyspace(&self) -> &Arc<Keyspace> {
        &self.keyspace
    }

    /// True when a watched key changed since it was watched.
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }
}

impl Drop for WatchSet {
    fn drop(&mut self) {
        let watches = &self.keyspace.watches;
        let mut map = watches.keys.lock();
        for key in &self.keys {
            if let Some(list) = map.get_mut(key) {
                list.retain(|(id, _)| *id != self.session);
                if list.is_empty() {
                    map.remove(key);
                }
            }
            watches.count.fetch_sub(1, Ordering::AcqRel);
        }
    }
}
