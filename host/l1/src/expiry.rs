//! Expiry arithmetic: deadlines, liveness checks and remaining time.
//!
//! This file only computes with millisecond numbers; it must not read a clock, touch entries or
//! remove anything. A deadline of `0` means "never expires", so real deadlines are at least 1.

/// How a TTL behaves after the entry is written.
///
/// Absolute mode is Redis's `EXPIRE` semantics; Sliding mode suits session-style caches where
/// every read extends the life of the entry by its original TTL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExpiryMode {
    /// The entry expires at write time plus its TTL, whatever happens in between.
    #[default]
    Absolute,
    /// Every read (`get`/`get_with`) moves the deadline to now plus the entry's TTL.
    Sliding,
}

/// Returns the deadline for a TTL starting now, never `0` (which means "never").
pub(crate) fn deadline(now_ms: u64, ttl_ms: u64) -> u64 {
    now_ms.saturating_add(ttl_ms).max(1)
}

/// Tells whether an entry with the given deadline is expired at `now_ms`.
pub(crate) fn is_expired(expires_at: u64, now_ms: u64) -> bool {
    expires_at != 0 && now_ms >= expires_at
}

/// Reads the clock at most once per operation, and only when an entry actually has a TTL.
///
/// Most entries of a cache usually have no TTL, and skipping the clock read saves a system
/// clock call on every such access.
pub(crate) struct LazyNow<'a> {
    clock: &'a dyn crate::Clock,
    now: Option<u64>,
}

impl<'a> LazyNow<'a> {
    /// Wraps a clock without reading it yet.
    pub(crate) fn new(clock: &'a dyn crate::Clock) -> Self {
        LazyNow { clock, now: None }
    }

    /// Returns the time of this operation, reading the clock on first use.
    pub(crate) fn get(&mut self) -> u64 {
        match self.now {
            Some(t) => t,
            None => {
                let t = self.clock.now_ms();
                self.now = Some(t);
                t
            }
        }
    }

    /// Tells whether a deadline has passed, reading the clock only for real deadlines.
    pub(crate) fn expired(&mut self, expires_at: u64) -> bool {
        expires_at != 0 && is_expired(expires_at, self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_never_zero() {
        assert_eq!(deadline(0, 0), 1);
        assert_eq!(deadline(5, 10), 15);
        assert_eq!(deadline(u64::MAX, 10), u64::MAX);
    }

    #[test]
    fn expiry_boundaries() {
        assert!(!is_expired(0, u64::MAX));
        assert!(!is_expired(10, 9));
        assert!(is_expired(10, 10));
    }
}
