//! One stored entry: key, value and expiry packed into a single heap allocation, plus the
//! small inline fields eviction needs without touching that allocation.
//!
//! This file owns the byte layout of an entry and nothing else: it must not hash, lock, count
//! statistics or make eviction decisions.
//!
//! Layout of `data` (integers little-endian; the key length is LEB128, one byte below 128):
//!
//! ```text
//! [flags: u8][expires_at: u64 if HAS_DEADLINE][ttl: u64 if HAS_TTL][key_len: LEB128][key][value]
//! ```
//!
//! The [`Slot`] itself is 24 bytes: the boxed bytes, a 32-bit key hash (so eviction sampling can
//! query the frequency sketch without dereferencing the allocation) and a 32-bit policy word
//! (a 31-bit access tick and a "has a deadline" bit, so sampling can skip the expiry check of
//! entries that never expire).

use crate::typed::Kind;

const HAS_DEADLINE: u8 = 1;
const HAS_TTL: u8 = 2;
/// The value is an encoded hash (see `typed.rs`), not a string.
const KIND_HASH: u8 = 4;
const DEADLINE_BIT: u32 = 1 << 31;

/// A key/value pair with its expiry and a word of policy metadata.
///
/// Keeping the key and value in one allocation halves allocator traffic and per-entry overhead
/// compared to two `Vec`s, which is what lets the table stay well below Redis's bytes per entry.
#[derive(Debug)]
pub(crate) struct Slot {
    data: Box<[u8]>,
    /// The low 32 bits of the key's table hash, used by the frequency sketch.
    pub(crate) hash: u32,
    meta: u32,
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

fn fixed_header_len(flags: u8) -> usize {
    1 + 8 * usize::from(flags & HAS_DEADLINE != 0) + 8 * usize::from(flags & HAS_TTL != 0)
}

impl Slot {
    /// Packs an entry. `expires_at == 0` means no deadline; `ttl` is only kept (for sliding
    /// expiry) when it is non-zero and the entry has a deadline.
    pub(crate) fn new(key: &[u8], value: &[u8], expires_at: u64, ttl: u64, hash: u32) -> Slot {
        let mut flags = 0u8;
        if expires_at != 0 {
            flags |= HAS_DEADLINE;
            if ttl != 0 {
                flags |= HAS_TTL;
            }
        }
        let mut data = Vec::with_capacity(fixed_header_len(flags) + 10 + key.len() + value.len());
        data.push(flags);
        if flags & HAS_DEADLINE != 0 {
            data.extend_from_slice(&expires_at.to_le_bytes());
        }
        if flags & HAS_TTL != 0 {
            data.extend_from_slice(&ttl.to_le_bytes());
        }
        let mut len = key.len() as u64;
        loop {
            let byte = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                data.push(byte);
                break;
            }
            data.push(byte | 0x80);
        }
        data.extend_from_slice(key);
        data.extend_from_slice(value);
        let meta = if expires_at != 0 { DEADLINE_BIT } else { 0 };
        Slot {
            data: data.into_boxed_slice(),
            hash,
            meta,
        }
    }

    fn flags(&self) -> u8 {
        self.data.first().copied().unwrap_or(0)
    }

    /// What the value bytes hold; a flag bit, so strings cost nothing extra.
    pub(crate) fn kind(&self) -> Kind {
        if self.flags() & KIND_HASH != 0 {
            Kind::Hash
        } else {
            Kind::String
        }
    }

    /// Marks what the value bytes hold.
    pub(crate) fn set_kind(&mut self, kind: Kind) {
        if let Some(flags) = self.data.first_mut() {
            match kind {
                Kind::Hash => *flags |= KIND_HASH,
                Kind::String => *flags &= !KIND_HASH,
            }
        }
    }

    fn key_range(&self) -> (usize, usize) {
        let mut at = fixed_header_len(self.flags());
        let mut len = 0u64;
        let mut shift = 0u32;
        while let Some(&b) = self.data.get(at) {
            at += 1;
            len |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        (at, at.saturating_add(len).min(self.data.len()))
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

    /// True when the entry has a deadline; answered from the inline word, without a cache miss.
    pub(crate) fn has_deadline(&self) -> bool {
        self.meta & DEADLINE_BIT != 0
    }

    /// The deadline in clock milliseconds, `0` when the entry never expires.
    pub(crate) fn expires_at(&self) -> u64 {
        if self.has_deadline() {
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

    /// The policy's last-access tick (31 bits, wrapping).
    pub(crate) fn tick(&self) -> u32 {
        self.meta & !DEADLINE_BIT
    }

    /// Stores the policy's last-access tick (only the low 31 bits are kept).
    pub(crate) fn set_tick(&mut self, tick: u32) {
        self.meta = (self.meta & DEADLINE_BIT) | (tick & !DEADLINE_BIT);
    }

    /// Key plus value length, the figure reported in `TableStats::bytes`.
    pub(crate) fn byte_len(&self) -> u64 {
        let (s, _) = self.key_range();
        self.data.len().saturating_sub(s) as u64
    }

    /// Changes the expiry; rewrites in place when the header shape is unchanged, otherwise
    /// repacks the entry (only on `EXPIRE`/`PERSIST`-style changes).
    pub(crate) fn set_expiry(&mut self, expires_at: u64, ttl: u64) {
        if !self.rewrite_expiry(expires_at, ttl) {
            self.rebuild(None, expires_at, ttl);
        }
    }

    /// Writes the expiry into the header if its shape (deadline or not,
    /// TTL or not) stays the same; false, and nothing written, otherwise.
    fn rewrite_expiry(&mut self, expires_at: u64, ttl: u64) -> bool {
        let want_deadline = expires_at != 0;
        let want_ttl = want_deadline && ttl != 0;
        let flags = self.flags();
        if want_deadline != (flags & HAS_DEADLINE != 0) || want_ttl != (flags & HAS_TTL != 0) {
            return false;
        }
        if want_deadline {
            write_u64(&mut self.data, 1, expires_at);
        }
        if want_ttl {
            write_u64(&mut self.data, 9, ttl);
        }
        true
    }

    /// Moves the deadline of a sliding entry without touching its TTL.
    pub(crate) fn set_deadline(&mut self, expires_at: u64) {
        if self.has_deadline() && expires_at != 0 {
            write_u64(&mut self.data, 1, expires_at);
        }
    }

    /// Replaces the value and expiry, keeping the key, hash and access tick.
    ///
    /// A value of the old one's length, under an expiry of the same shape,
    /// is written over it in place: overwrites of fixed-size values (a
    /// re-sealed record always has its plaintext's length plus the same
    /// overhead) then cost a copy, not an allocation, a copy of the key and
    /// a free.
    pub(crate) fn replace(&mut self, value: &[u8], expires_at: u64, ttl: u64) {
        let (_, value_at) = self.key_range();
        if self.data.len().saturating_sub(value_at) == value.len()
            && self.rewrite_expiry(expires_at, ttl)
            && let Some(old) = self.data.get_mut(value_at..)
        {
            old.copy_from_slice(value);
            return;
        }
        self.rebuild(Some(value), expires_at, ttl);
    }

    fn rebuild(&mut self, value: Option<&[u8]>, expires_at: u64, ttl: u64) {
        let tick = self.tick();
        let kind = self.kind();
        let mut next = Slot::new(
            self.key(),
            value.unwrap_or(self.value()),
            expires_at,
            ttl,
            self.hash,
        );
        next.set_tick(tick);
        next.set_kind(kind);
        *self = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_without_ttl() {
        let mut s = Slot::new(b"key", b"value", 0, 0, 7);
        s.set_tick(u32::MAX);
        assert_eq!(s.key(), b"key");
        assert_eq!(s.value(), b"value");
        assert_eq!(s.expires_at(), 0);
        assert!(!s.has_deadline());
        assert_eq!(s.ttl(), 0);
        assert_eq!(s.byte_len(), 8);
        assert_eq!((s.hash, s.tick()), (7, u32::MAX >> 1));
        assert_eq!(std::mem::size_of::<Slot>(), 24);
    }

    #[test]
    fn long_keys_use_multibyte_lengths() {
        let key = vec![b'k'; 300];
        let s = Slot::new(&key, b"v", 5, 0, 0);
        assert_eq!(s.key(), &key[..]);
        assert_eq!(s.value(), b"v");
        assert_eq!(s.byte_len(), 301);
    }

    #[test]
    fn round_trips_with_ttl_and_changes_shape() {
        let mut s = Slot::new(b"", b"", 100, 50, 0);
        s.set_tick(9);
        assert_eq!((s.key(), s.value()), (&b""[..], &b""[..]));
        assert_eq!((s.expires_at(), s.ttl()), (100, 50));
        s.set_deadline(200);
        assert_eq!((s.expires_at(), s.ttl()), (200, 50));
        s.set_expiry(0, 0);
        assert_eq!((s.expires_at(), s.ttl(), s.has_deadline()), (0, 0, false));
        s.set_expiry(300, 0);
        assert_eq!((s.expires_at(), s.ttl(), s.has_deadline()), (300, 0, true));
        s.replace(b"v2", 400, 9);
        assert_eq!((s.value(), s.expires_at(), s.ttl()), (&b"v2"[..], 400, 9));
        assert_eq!(s.tick(), 9);
    }

    #[test]
    fn a_value_of_the_same_length_is_written_in_place() {
        let mut s = Slot::new(b"key", b"old!", 100, 0, 3);
        s.set_tick(5);
        let at = s.data.as_ptr();
        s.replace(b"new!", 200, 0);
        assert_eq!(
            s.data.as_ptr(),
            at,
            "same length, same shape: no new allocation"
        );
        assert_eq!(
            (s.key(), s.value(), s.expires_at()),
            (&b"key"[..], &b"new!"[..], 200)
        );
        assert_eq!((s.hash, s.tick(), s.byte_len()), (3, 5, 7));
        // Another length, or another expiry shape, repacks the entry.
        s.replace(b"longer", 200, 0);
        assert_eq!((s.value(), s.expires_at()), (&b"longer"[..], 200));
        s.replace(b"sixsix", 0, 0);
        assert_eq!(
            (s.value(), s.expires_at(), s.has_deadline()),
            (&b"sixsix"[..], 0, false)
        );
        s.replace(b"seven!!", 300, 20);
        assert_eq!(
            (s.value(), s.expires_at(), s.ttl()),
            (&b"seven!!"[..], 300, 20)
        );
        assert_eq!((s.key(), s.tick()), (&b"key"[..], 5));
    }

    #[test]
    fn kind_survives_expiry_changes_and_replacement() {
        let mut s = Slot::new(b"k", b"v", 0, 0, 0);
        assert_eq!(s.kind(), Kind::String);
        s.set_kind(Kind::Hash);
        s.set_expiry(100, 0);
        assert_eq!((s.kind(), s.expires_at()), (Kind::Hash, 100));
        s.set_expiry(0, 0);
        assert_eq!(
            (s.kind(), s.key(), s.value()),
            (Kind::Hash, &b"k"[..], &b"v"[..])
        );
        s.replace(b"w", 0, 0);
        assert_eq!(s.kind(), Kind::Hash);
        s.set_kind(Kind::String);
        assert_eq!((s.kind(), s.value()), (Kind::String, &b"w"[..]));
    }
}
