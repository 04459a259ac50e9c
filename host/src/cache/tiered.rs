//! The two-level data path, for definitions backed by L2 (`[l2]`):
//!
//! - get: L1 (if fresh, and the bus link is confirmed within `max_stale_ms`)
//!   → L2 → promote into L1 with a TTL no longer than the entry's remaining
//!   L2 TTL nor the definition's L1 cap. When L2 cannot answer, an L1 entry
//!   past its freshness (or untrusted for lack of the bus) is served, marked
//!   stale, within the fail-safe window.
//! - set: L2 first, then L1; if L2 failed the write is queued for replay and
//!   the outcome is [`Stored::Partial`]. Other nodes are told to drop
//!   their copy. For a definition that tracks direct writes, an invalidation
//!   applied while the L2 write was in flight means no L1 copy is kept.
//! - delete and event invalidations: both levels here, then the bus.
//!
//! An L1 entry of an L2-backed definition is the envelope behind two
//! numbers: until when it is fresh (Unix ms) and the definition's trust
//! generation when it was read or written. Its L1 TTL adds the fail-safe
//! window, so a stale copy is still there to serve when Redis is away (and
//! a promoted copy at least a short refresh grace, so that a hot key's next
//! read after its freshness rewrites the slot in place).
//!
//! When the bus or the tracking link may have missed a change (a lost
//! link, a gap, a reconnect), L1 must not be trusted: the generation is
//! bumped, which untrusts every entry at once without dropping it. Reads
//! then go to L2; an untrusted copy is served (marked stale) only where the
//! definition allows fail-safe and L2 cannot answer. Clearing L1 instead
//! would leave warm keys answering nil while Redis is back for the bus but
//! not yet for the data connection's breaker.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::cache::catalog::DefinedCache;
use crate::cache::error::CacheError;
use crate::cache::invalidation::{self, Effect};
use crate::cache::outcome::{Level, Lookup, Stored};
use crate::cache::{Cache, envelope, l1_head};
use crate::tier::keys::{literal_prefix, now_ms};
use crate::tier::{L2Read, Tier, TierView};
use hoard_l1::SetCondition;

/// A read and the level that answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    /// Hit (MessagePack) or Miss.
    pub lookup: Lookup,
    /// Who answered.
    pub level: Level,
}

/// How long a promoted copy stays in L1 past its freshness (never past the
/// entry's L2 expiry), unserved: a hot key read again within it is refreshed
/// in place (one slot rewritten, its eviction history kept) instead of being
/// dropped on read and admitted anew, which also churns the shard's key index.
const REFRESH_GRACE_MS: u64 = 1_000;

impl Cache {
    /// The shared level, when configured.
    pub fn tier(&self) -> Option<&Arc<Tier>> {
        self.inner.tier.as_ref()
    }

    /// Reads of L2-backed cache `name` by the level that answered (`None`
    /// for a cache that does not use L2).
    pub fn level_snapshot(&self, name: &str) -> Option<crate::tier::LevelSnapshot> {
        let tier = self.inner.tier.as_ref()?;
        self.uses_l2(name).then(|| tier.counters(name).snapshot())
    }

    /// `cache`'s tier view, when L2 is configured.
    pub(crate) fn view_of<'a>(&self, cache: &'a DefinedCache) -> Option<&'a TierView> {
        let tier = self.inner.tier.as_ref()?;
        Some(cache.tier_view(|| tier.view(&cache.definition().name)))
    }

    /// [`Cache::uses_l2`] for a definition at hand, without a lookup by name.
    pub(crate) fn l2_backed(&self, cache: &DefinedCache) -> bool {
        self.view_of(cache).is_some_and(|view| view.settings.l2)
    }

    /// Whether cache `name` keeps its entries in L2 (and so must be read
    /// and written through the `tiered_*` methods).
    pub fn uses_l2(&self, name: &str) -> bool {
        self.inner
            .tier
            .as_ref()
            .is_some_and(|tier| tier.settings(name).l2)
    }

    /// Reads `key` of an L2-backed cache: L1, then L2 with promotion.
    pub(crate) async fn tiered_get(
        &self,
        cache: &DefinedCache,
        key: &str,
    ) -> Result<Served, CacheError> {
        let Some(tier) = self.inner.tier.clone() else {
            return Err(CacheError::Internal);
        };
        let name = cache.definition().name.as_str();
        let Some(view) = self.view_of(cache) else {
            return Err(CacheError::Internal);
        };
        let (counters, settings) = (&view.counters, &view.settings);
        let definition = cache.definition();
        let now = now_ms();
        let trusted =
            tier.l1_trusted() && (!settings.track_direct_writes || tier.tracking_trusted());
        let generation = counters.generation.load(Ordering::Acquire);
        // A copy that can be served neither now nor as a fail-safe fallback
        // is not unsealed: it is only there to be refreshed in place.
        let l1 = cache.table().get_with(key.as_bytes(), |stored| {
            l1_head::split(stored).map(|(fresh_until, written_in, body)| {
                let fresh = trusted && fresh_until > now && written_in == generation;
                (fresh || settings.fail_safe).then(|| {
                    (
                        fresh,
                        envelope::unpack(
                            &self.inner.sealer,
                            key.as_bytes(),
                            body,
                            self.inner.max_value_bytes,
                        ),
                    )
                })
            })
        });
        let mut fallback = None;
        let mut had_l1 = false;
        match l1 {
            Some(Some(None)) => had_l1 = true,
            Some(Some(Some((fresh, Ok(value))))) => {
                had_l1 = true;
                if fresh {
                    counters.l1_hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(Served {
                        lookup: Lookup::Hit(value),
                        level: Level::L1,
                    });
                }
                fallback = Some(value);
            }
            Some(_) => {
                cache.table().remove(key.as_bytes());
                tracing::error!(cache = name, %key, "dropping unreadable L1 entry");
            }
            None => {}
        }
        let epoch = self.inner.remote_epoch.load(Ordering::Acquire);
        match tier
            .read(
                &definition.id,
                definition.version.major,
                key,
                fallback.is_some(),
            )
            .await
        {
            Ok(L2Read::Found { envelope, ttl_ms }) => {
                let value = match envelope::unpack(
                    &self.inner.sealer,
                    key.as_bytes(),
                    &envelope,
                    self.inner.max_value_bytes,
                ) {
                    Ok(value) => value,
                    Err(error) => {
                        tracing::error!(cache = name, %key, %error, "unreadable L2 entry");
                        return Err(error.into());
                    }
                };
                // An invalidation that arrived while we were reading may be
                // about this very value: then answer it, but keep no copy.
                if self.inner.remote_epoch.load(Ordering::Acquire) == epoch {
                    let l1_ttl = view
                        .l1_ttl_ms
                        .min(ttl_ms.unwrap_or(u64::MAX))
                        .min(definition.max_ttl_ms)
                        .max(1);
                    let fail_safe = if settings.fail_safe {
                        tier.fail_safe_ms()
                    } else {
                        0
                    };
                    let refresh =
                        REFRESH_GRACE_MS.min(ttl_ms.unwrap_or(u64::MAX).saturating_sub(l1_ttl));
                    let keep = l1_ttl.saturating_add(fail_safe.max(refresh));
                    cache.table().insert(
                        key.as_bytes(),
                        &l1_head::wrap(now_ms().saturating_add(l1_ttl), generation, &envelope),
                        Some(keep),
                        SetCondition::Always,
                    );
                }
                counters.l2_hits.fetch_add(1, Ordering::Relaxed);
                Ok(Served {
                    lookup: Lookup::Hit(value),
                    level: Level::L2,
                })
            }
            Ok(L2Read::Missing) => {
                if had_l1 {
                    cache.table().remove(key.as_bytes());
                }
                counters.misses.fetch_add(1, Ordering::Relaxed);
                Ok(Served {
                    lookup: Lookup::Miss,
                    level: Level::None,
                })
            }
            Err(error) => match fallback {
                Some(value) => {
                    tracing::debug!(cache = name, %key, %error, "serving stale (fail-safe)");
                    counters.stale_hits.fetch_add(1, Ordering::Relaxed);
                    Ok(Served {
                        lookup: Lookup::Hit(value),
                        level: Level::Stale,
                    })
                }
                None => {
                    counters.misses.fetch_add(1, Ordering::Relaxed);
                    Ok(Served {
                        lookup: Lookup::Miss,
                        level: Level::None,
                    })
                }
            },
        }
    }

    /// Stores a packed entry: L2, then L1, then tells the other nodes.
    pub(crate) async fn tiered_store(
        &self,
        cache: &DefinedCache,
        key: String,
        stored: Vec<u8>,
        ttl_ms: u64,
    ) -> Result<Stored, CacheError> {
        let Some(tier) = self.inner.tier.clone() else {
            return Err(CacheError::Internal);
        };
        let Some(view) = self.view_of(cache) else {
            return Err(CacheError::Internal);
        };
        let definition = cache.definition();
        let name = definition.name.as_str();
        let settings = &view.settings;
        let epoch = self.inner.remote_epoch.load(Ordering::Acquire);
        let generation = view.counters.generation.load(Ordering::Acquire);
        let written = tier
            .write(
                name,
                &definition.id,
                definition.version.major,
                &key,
                stored.clone(),
                ttl_ms,
            )
            .await;
        let l1_ttl = view.l1_ttl_ms.min(ttl_ms).max(1);
        let keep = l1_ttl.saturating_add(if settings.fail_safe {
            tier.fail_safe_ms()
        } else {
            0
        });
        // With direct writes tracked, another application may have written
        // this key after us; its invalidation may already have been applied
        // while we were writing. Then keep no copy: the next read asks L2.
        if settings.track_direct_writes
            && written.is_ok()
            && self.inner.remote_epoch.load(Ordering::Acquire) != epoch
        {
            cache.table().remove(key.as_bytes());
        } else {
            cache.table().insert(
                key.as_bytes(),
                &l1_head::wrap(now_ms().saturating_add(l1_ttl), generation, &stored),
                Some(keep),
                SetCondition::Always,
            );
        }
        match written {
            Ok(()) => {
                let _ = tier
                    .broadcast(vec![Effect {
                        cache: Some(name.to_owned()),
                        keys: vec![key],
                        ..Effect::default()
                    }])
                    .await;
                Ok(Stored::Stored)
            }
            Err(error) => {
                view.counters.partial_writes.fetch_add(1, Ordering::Relaxed);
                Ok(Stored::Partial {
                    reason: error.to_string(),
                })
            }
        }
    }

    /// Removes `key` of an L2-backed cache from both levels and every
    /// node; 1 if either level held a live entry.
    pub(crate) async fn tiered_remove(&self, cache: &DefinedCache, key: &str) -> u64 {
        let local = cache.table().remove(key.as_bytes());
        let Some(tier) = self.inner.tier.clone() else {
            return u64::from(local);
        };
        let definition = cache.definition();
        let name = definition.name.as_str();
        let remote = tier
            .delete(name, &definition.id, definition.version.major, key)
            .await;
        let _ = tier
            .broadcast(vec![Effect {
                cache: Some(name.to_owned()),
                keys: vec![key.to_owned()],
                ..Effect::default()
            }])
            .await;
        u64::from(local || remote.unwrap_or(false))
    }

    /// Carries invalidations made here (by an event) to L2 and to the other
    /// nodes. L2 failures are queued for replay.
    pub(crate) async fn tiered_effects(&self, effects: Vec<Effect>) {
        let Some(tier) = self.inner.tier.clone() else {
            return;
        };
        if effects.is_empty() {
            return;
        }
        let catalog = self.catalog();
        for effect in &effects {
            for cache in catalog.iter() {
                let name = &cache.definition().name;
                if !tier.settings(name).l2 || effect.cache.as_ref().is_some_and(|only| only != name)
                {
                    continue;
                }
                let (id, major) = (&cache.definition().id, cache.definition().version.major);
                if effect.clear {
                    let _ = tier.delete_matching(name, id, major, "*").await;
                    continue;
                }
                for key in &effect.keys {
                    let _ = tier.delete(name, id, major, key).await;
                }
                for pattern in &effect.patterns {
                    tracing::debug!(cache = %name, pattern, prefix = literal_prefix(pattern), "L2 pattern invalidation");
                    let _ = tier.delete_matching(name, id, major, pattern).await;
                }
            }
        }
        let _ = tier.broadcast(effects).await;
    }

    /// Applies another node's invalidations to this node's L1.
    pub fn apply_remote(&self, effects: &[Effect]) {
        self.inner.remote_epoch.fetch_add(1, Ordering::AcqRel);
        let invalidating = self.inner.leases.invalidating();
        invalidation::apply_effects(&self.catalog(), effects);
        super::void_leases(&invalidating, effects);
    }

    /// Drops the L1 entries of cache `name` whose L2 keys Redis reported
    /// modified (client tracking of direct writes).
    pub fn drop_tracked(&self, name: &str, keys: Vec<String>) {
        self.apply_remote(&[Effect {
            cache: Some(name.to_owned()),
            keys,
            ..Effect::default()
        }]);
    }

    /// Untrusts every L1 entry of every cache that tracks direct writes
    /// (the tracking link was lost or re-established, or Redis was
    /// flushed): reads go to L2, the copies stay for fail-safe.
    pub fn flush_tracked_l1(&self) {
        self.untrust_l1(|settings| settings.track_direct_writes);
    }

    /// Untrusts every L1 entry of every L2-backed cache (the bus may have
    /// missed something): reads go to L2, the copies stay for fail-safe.
    pub fn flush_l2_backed_l1(&self) {
        self.untrust_l1(|_| true);
    }

    /// Bumps the trust generation of the L2-backed caches `which` selects,
    /// and voids their leases, so nothing read before is stored after.
    fn untrust_l1(&self, which: impl Fn(&crate::tier::config::TierSettings) -> bool) {
        if self.inner.tier.is_none() {
            return;
        }
        self.inner.remote_epoch.fetch_add(1, Ordering::AcqRel);
        let invalidating = self.inner.leases.invalidating();
        for cache in self.catalog().iter() {
            let Some(view) = self.view_of(cache) else {
                return;
            };
            if view.settings.l2 && which(&view.settings) {
                invalidating.void_cache(&cache.definition().name);
                view.counters.generation.fetch_add(1, Ordering::AcqRel);
            }
        }
    }
}
