//! Tenants: isolated sets of definitions and keys that share one server.
//!
//! Each tenant has its own [`Cache`] (plain keyspace and catalog), its own
//! plugin directory, runtime limits and [`Lifecycle`], so no command can
//! read, list, invalidate or count another tenant's data: a connection only
//! ever holds the handle of the tenant it authenticated as. Without tenants
//! in the configuration there is one unnamed tenant and no authentication,
//! so the main job needs nothing.
//!
//! Credentials are stored as salted argon2id hashes (or, for old configs,
//! SHA-256 digests), never as passwords; see [`crate::credential`].

use std::collections::BTreeMap;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::cache::Cache;
use crate::credential::Credential;
use crate::reload::lifecycle::Lifecycle;

/// One tenant, live.
pub struct Tenant {
    /// Its name (`AUTH <name> <password>`); empty for the single default tenant.
    pub name: String,
    /// Its data path.
    pub cache: Cache,
    /// Its plugins' lifecycle.
    pub lifecycle: Arc<Lifecycle>,
    /// Its plugin directory (canonical, as the watcher and the sources'
    /// labels need it), the only place a tenant's `PLUGIN.LOAD` may read from.
    pub plugins_dir: Option<PathBuf>,
    credential: Option<Arc<Credential>>,
    max_connections: usize,
    connections: AtomicUsize,
    quota: Quota,
}

/// Storage a tenant may use across all its caches (plain and defined).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    /// Entries at most; 0 means unlimited.
    pub max_items: u64,
    /// Bytes of keys and values at most; 0 means unlimited.
    pub max_bytes: u64,
}

/// What a tenant holds right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Entries across its caches.
    pub items: u64,
    /// Bytes of keys and values across its caches.
    pub bytes: u64,
}

/// Why a tenant refused a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// The tenant already has its maximum of connections.
    #[error("tenant {tenant} is at its limit of {limit} connections")]
    TooManyConnections {
        /// Which tenant.
        tenant: String,
        /// Its limit.
        limit: usize,
    },
}

impl Tenant {
    /// A tenant; `max_connections` 0 means unlimited.
    pub fn new(
        name: String,
        cache: Cache,
        lifecycle: Arc<Lifecycle>,
        plugins_dir: Option<PathBuf>,
        credential: Option<Credential>,
        max_connections: usize,
        quota: Quota,
    ) -> Self {
        Self {
            name,
            cache,
            lifecycle,
            plugins_dir,
            credential: credential.map(Arc::new),
            max_connections,
            connections: AtomicUsize::new(0),
            quota,
        }
    }

    /// The tenant's storage quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Entries and bytes across the tenant's caches.
    pub fn usage(&self) -> Usage {
        let mut usage = Usage::default();
        let plain = self.cache.plain().stats();
        usage.items += plain.items;
        usage.bytes += plain.bytes;
        for cache in self.cache.catalog().iter() {
            let stats = cache.table().stats();
            usage.items += stats.items;
            usage.bytes += stats.bytes;
        }
        usage
    }

    /// Brings the tenant back under its quota by evicting its own entries,
    /// largest table first, by each table's policy. Never touches another
    /// tenant. Runs on the background sweep, so a burst of writes may
    /// overshoot for up to one sweep interval (as moka's size-based
    /// eviction does). Returns how many entries were evicted.
    pub fn enforce_quota(&self) -> u64 {
        let Quota {
            max_items,
            max_bytes,
        } = self.quota;
        if max_items == 0 && max_bytes == 0 {
            return 0;
        }
        let mut evicted = 0;
        // Bounded: each pass evicts at least one entry or stops.
        for _ in 0..64 {
            let usage = self.usage();
            let over_items = if max_items > 0 {
                usage.items.saturating_sub(max_items)
            } else {
                0
            };
            let over_bytes = if max_bytes > 0 {
                usage.bytes.saturating_sub(max_bytes)
            } else {
                0
            };
            if over_items == 0 && over_bytes == 0 {
                break;
            }
            let average = usage.bytes.checked_div(usage.items).unwrap_or(1).max(1);
            let want = over_items.max(over_bytes.div_ceil(average)).max(1);
            let catalog = self.cache.catalog();
            let mut tables: Vec<&hoard_l1::Table> = vec![self.cache.plain()];
            tables.extend(catalog.iter().map(|c| c.table()));
            tables.sort_by_key(|t| std::cmp::Reverse(t.stats().bytes));
            let mut this_pass = 0;
            for table in tables {
                if this_pass >= want {
                    break;
                }
                this_pass += table.evict(want - this_pass);
            }
            if this_pass == 0 {
                break;
            }
            evicted += this_pass;
        }
        evicted
    }

    /// Whether `password` is this tenant's. The slow hash runs off the
    /// async worker (see [`Credential::check`]).
    pub async fn check_password(&self, password: &[u8]) -> bool {
        let Some(credential) = &self.credential else {
            return false;
        };
        Arc::clone(credential).check(password.to_vec()).await
    }

    /// Takes one of the tenant's connection seats, released when the seat drops.
    pub fn admit(self: &Arc<Self>) -> Result<Seat, TenantError> {
        let taken = self.connections.fetch_add(1, Ordering::AcqRel) + 1;
        if self.max_connections > 0 && taken > self.max_connections {
            self.connections.fetch_sub(1, Ordering::AcqRel);
            return Err(TenantError::TooManyConnections {
                tenant: self.name.clone(),
                limit: self.max_connections,
            });
        }
        Ok(Seat {
            tenant: Arc::clone(self),
        })
    }

    /// Connections currently held.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }
}

/// A connection's hold on its tenant; gives the seat back when dropped.
pub struct Seat {
    tenant: Arc<Tenant>,
}

impl Seat {
    /// The tenant, as a handle that outlives a borrow of the session.
    pub fn tenant(&self) -> Arc<Tenant> {
        Arc::clone(&self.tenant)
    }
}

impl Deref for Seat {
    type Target = Tenant;
    fn deref(&self) -> &Tenant {
        &self.tenant
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.tenant.connections.fetch_sub(1, Ordering::AcqRel);
    }
}

impl std::fmt::Debug for Seat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Seat({})", self.tenant.name)
    }
}

/// The tenants of a server.
pub enum Tenants {
    /// No tenants configured: everyone is the one default tenant, no AUTH.
    Single(Arc<Tenant>),
    /// Named tenants: a connection must `AUTH <tenant> <password>` first.
    Many(BTreeMap<String, Arc<Tenant>>),
}

impl Tenants {
    /// The seat a new connection starts with: the default tenant's, or none
    /// (when tenants are configured, a connection must authenticate first).
    pub fn initial_seat(&self) -> Option<Seat> {
        match self {
            Tenants::Single(t) => t.admit().ok(),
            Tenants::Many(_) => None,
        }
    }

    /// Every tenant, for server-wide chores (expiry sweep).
    pub fn all(&self) -> Vec<Arc<Tenant>> {
        match self {
            Tenants::Single(t) => vec![Arc::clone(t)],
            Tenants::Many(map) => map.values().cloned().collect(),
        }
    }
}
