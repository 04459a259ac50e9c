//! One stored entry: key, value and expiry packed into a single heap allocation.
//!
//! This file owns the byte layout of an entry and nothing else: it must not hash, lock, count
//! statistics or make eviction decisions.
//!
//! Layout of `data` (all integers little-endian):
//!
//! ```text
//! [flags: u8][expires_at: u64 if HAS_DEADLINE][ttl: u64 if HAS_TTL][key_len: u64 if LONG_KEY][key][value]
//! ```
//!
//! Entries without a TTL pay one header byte, which keeps the per-entry overhead small: the
//! [`Slot`] itself is 24 bytes (a fat box, a `u32` key length and a `u32` of policy metadata).

const HAS_DEADLINE: u8 = 1;
const HAS_TTL: u8 = 2;
const LONG_KEY: u8 = 4;

/// A key/value pair with its expiry and a word of policy metadata.
///
/// Keeping the key and value in one allocation halves allocator traffic and per-entry overhead
/// compared to two `Vec`s, which is what lets the table stay well below Redis's bytes per entry.
#[derive(Debug)]
pub(crate) struct Slot {
    data: Box<[u8]>,
    key_len: u32,
    /// Policy metadata, owned by the eviction code (the last access tick for both policies).
    pub(crate) meta: u32,
}

fn read_u64(buf: &[u8], at: usize) -> u64 {
    buf.get(at..at.saturating_add(8))
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}

fn write_u64(buf: &mut [u8], at: usize, v: u64) {
    if let Some(s) = buf.get_mut(at..at.saturating_add(8)) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

fn header_len(flags: u8) -> usize {
    1 + 8 * usize::from(flags & HAS_DEADLINE != 0)
        + 8 * usize::from(flags & HAS_TTL != 0)
        + 8 * usize::from(flags & LONG_KEY != 0)
}

impl Slot {
    /// Packs an entry. `expires_at == 0` means no deadline; `ttl` is only kept (for sliding
    /// expiry) when it is non-zero and the entry has a deadline.
    pub(crate) fn new(key: &[u8], value: &[u8], expires_at: u64, ttl: u64, meta: u32) -> Slot {
        let key_len = u32::try_from(key.len()).unwrap_or(u32::MAX);
        let mut flags = 0u8;
        if expires_at != 0 {
            flags |= HAS_DEADLINE;
            if ttl != 0 {
                flags |= HAS_TTL;
            }
        }
        if key_len == u32::MAX {
            flags |= LONG_KEY;
        }
        let mut data = Vec::with_capacity(header_len(flags) + key.len() + value.len());
        data.push(flags);
        if flags & HAS_DEADLINE != 0 {
            data.extend_from_slice(&expires_at.to_le_bytes());
        }
        if flags & HAS_TTL != 0 {
            data.extend_from_slice(&ttl.to_le_bytes());
        }
        if flags & LONG_KEY != 0 {
            data.extend_from_slice(&(key.len() as u64).to_le_bytes());
        }
        data.extend_from_slice(key);
        data.extend_from_slice(value);
        Slot {
            data: data.into_boxed_slice(),
            key_len,
            meta,
        }
    }

    fn flags(&self) -> u8 {
        self.data.first().copied().unwrap_or(0)
    }

    fn key_range(&self) -> (usize, usize) {
        let flags = self.flags();
        let start = header_len(flags);
        let len = if flags & LONG_KEY != 0 {
            usize::try_from(read_u64(&self.data, start - 8)).unwrap_or(usize::MAX)
        } else {
            self.key_len as usize
        };
        (start, start.saturating_add(len).min(self.data.len()))
    }

    /// The key bytes.
    pub(crate) fn key(&self) -> &[u8] {
        let (s, e) = self.key_range();
        self.data.get(s..e).unwrap_or(&[])
    }

    /// The value bytes.
    pub(crate) fn value(&self) -> &[u8] {
        let (_, e) = self.key_range();
        self.data.get(e..).unwrap_or(&[])
    }

    /// The deadline in clock milliseconds, `0` when the entry never expires.
    pub(crate) fn expires_at(&self) -> u64 {
        if self.flags() & HAS_DEADLINE != 0 {
            read_u64(&self.data, 1)
        } else {
            0
        }
    }

    /// The sliding TTL, `0` when the entry has none.
    pub(crate) fn ttl(&self) -> u64 {
        if self.flags() & HAS_TTL != 0 {
            read_u64(&self.data, 9)
        } else {
            0
        }
    }

    /// Key plus value length, the figure reported in `TableStats::bytes`.
    pub(crate) fn byte_len(&self) -> u64 {
        let (s, _) = self.key_range();
        self.data.len().saturating_sub(s) as u64
    }

    /// Changes the expiry; rewrites in place when the header shape is unchanged, otherwise
    /// repacks the entry (only on `EXPIRE`/`PERSIST`-style changes).
    pub(crate) fn set_expiry(&mut self, expires_at: u64, ttl: u64) {
        let want_deadline = expires_at != 0;
        let want_ttl = want_deadline && ttl != 0;
        let flags = self.flags();
        if want_deadline == (flags & HAS_DEADLINE != 0) && want_ttl == (flags & HAS_TTL != 0) {
            if want_deadline {
                write_u64(&mut self.data, 1, expires_at);
            }
            if want_ttl {
                write_u64(&mut self.data, 9, ttl);
            }
            return;
        }
        *self = Slot::new(self.key(), self.value(), expires_at, ttl, self.meta);
    }

    /// Moves the deadline of a sliding entry without touching its TTL.
    pub(crate) fn set_deadline(&mut self, expires_at: u64) {
        if self.flags() & HAS_DEADLINE != 0 && expires_at != 0 {
            write_u64(&mut self.data, 1, expires_at);
        }
    }

    /// Replaces the value and expiry, keeping the key and policy metadata.
    pub(crate) fn replace(&mut self, value: &[u8], expires_at: u64, ttl: u64) {
        *self = Slot::new(self.key(), value, expires_at, ttl, self.meta);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_without_ttl() {
        let s = Slot::new(b"key", b"value", 0, 0, 7);
        assert_eq!(s.key(), b"key");
        assert_eq!(s.value(), b"value");
        assert_eq!(s.expires_at(), 0);
        assert_eq!(s.ttl(), 0);
        assert_eq!(s.byte_len(), 8);
        assert_eq!(s.meta, 7);
        assert_eq!(std::mem::size_of::<Slot>(), 24);
    }

    #[test]
    fn round_trips_with_ttl_and_changes_shape() {
        let mut s = Slot::new(b"", b"", 100, 50, 0);
        assert_eq!((s.key(), s.value()), (&b""[..], &b""[..]));
        assert_eq!((s.expires_at(), s.ttl()), (100, 50));
        s.set_deadline(200);
        assert_eq!((s.expires_at(), s.ttl()), (200, 50));
        s.set_expiry(0, 0);
        assert_eq!((s.expires_at(), s.ttl()), (0, 0));
        s.set_expiry(300, 0);
        assert_eq!((s.expires_at(), s.ttl()), (300, 0));
        s.replace(b"v2", 400, 9);
        assert_eq!((s.value(), s.expires_at(), s.ttl()), (&b"v2"[..], 400, 9));
    }
}
