//! The bytes L1 keeps for a definition entry: one flags byte, then the
//! MessagePack value, compressed and then sealed when the definition asks.
//!
//! The flags travel with each entry (not with the definition) so that
//! entries written under one setting still read back after a reload changes
//! it.

use std::borrow::Cow;

use crate::cache::compression;
use crate::cache::encryption::Sealer;
use crate::definition::Definition;

const COMPRESSED: u8 = 0b01;
const ENCRYPTED: u8 = 0b10;

/// Stored bytes that cannot be turned back into the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnvelopeError {
    /// Empty, unknown flags, or a failed decompression.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// Encryption or decryption failed.
    #[error(transparent)]
    Encryption(#[from] crate::cache::encryption::EncryptionError),
}

/// Wraps a MessagePack value for storage under `key`.
pub fn pack(
    definition: &Definition,
    sealer: &Sealer,
    key: &[u8],
    msgpack: Vec<u8>,
) -> Result<Vec<u8>, EnvelopeError> {
    let mut flags = 0;
    let mut body = msgpack;
    if let Some(threshold) = definition.compress_threshold
        && body.len() > threshold as usize
        && let Some(packed) = compression::compress(&body)
    {
        body = packed;
        flags |= COMPRESSED;
    }
    if definition.encrypt {
        // Sealed straight into the envelope: one buffer, one copy.
        let mut out = Vec::with_capacity(1 + Sealer::sealed_len(body.len()));
        out.push(flags | ENCRYPTED);
        sealer.seal_into(&mut out, &body, key)?;
        return Ok(out);
    }
    let mut out = Vec::with_capacity(body.len() + 1);
    out.push(flags);
    out.extend_from_slice(&body);
    Ok(out)
}

/// Restores the MessagePack value stored under `key`.
pub fn unpack(
    sealer: &Sealer,
    key: &[u8],
    stored: &[u8],
    max_len: usize,
) -> Result<Vec<u8>, EnvelopeError> {
    let Some((&flags, body)) = stored.split_first() else {
        return Err(EnvelopeError::Corrupt("empty".into()));
    };
    if flags & !(COMPRESSED | ENCRYPTED) != 0 {
        return Err(EnvelopeError::Corrupt(format!(
            "unknown flags {flags:#04x}"
        )));
    }
    let body: Cow<'_, [u8]> = if flags & ENCRYPTED != 0 {
        Cow::Owned(sealer.open(body, key)?)
    } else {
        Cow::Borrowed(body)
    };
    if flags & COMPRESSED != 0 {
        compression::decompress(&body, max_len).map_err(|e| EnvelopeError::Corrupt(e.to_string()))
    } else {
        Ok(body.into_owned())
    }
}

/// Whether an entry was stored compressed / encrypted (for tests and diagnostics).
pub fn flags_of(stored: &[u8]) -> (bool, bool) {
    let flags = stored.first().copied().unwrap_or(0);
    (flags & COMPRESSED != 0, flags & ENCRYPTED != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definition::Version;
    use hoard_l1::{ExpiryMode, Policy};

    fn definition(compress: Option<u32>, encrypt: bool) -> Definition {
        Definition {
            id: "t".into(),
            name: "T".into(),
            description: String::new(),
            version: Version::parse("1.0.0").unwrap(),
            default_ttl_ms: 1,
            max_ttl_ms: 1,
            expiry: ExpiryMode::Absolute,
            eviction: Policy::Lru,
            max_items: 1,
            allow_null: false,
            compress_threshold: compress,
            encrypt,
            pure_keys: false,
            invalidation_events: vec![],
            dependent_caches: vec![],
            metadata: vec![],
        }
    }

    #[test]
    fn plain_values_are_stored_as_they_are() {
        let sealer = Sealer::random().unwrap();
        let stored = pack(&definition(None, false), &sealer, b"k", b"hello".to_vec()).unwrap();
        assert_eq!(stored, b"\0hello");
        assert_eq!(unpack(&sealer, b"k", &stored, 100).unwrap(), b"hello");
    }

    #[test]
    fn large_values_are_compressed_then_sealed_and_come_back() {
        let sealer = Sealer::random().unwrap();
        let value = b"secret secret secret ".repeat(200);
        let stored = pack(
            &definition(Some(1024), true),
            &sealer,
            b"User:1",
            value.clone(),
        )
        .unwrap();
        assert_eq!(flags_of(&stored), (true, true));
        assert!(
            stored.len() < value.len() / 4,
            "compressed: {}",
            stored.len()
        );
        assert!(
            !stored.windows(6).any(|w| w == b"secret"),
            "no plaintext at rest"
        );
        assert_eq!(
            unpack(&sealer, b"User:1", &stored, value.len()).unwrap(),
            value
        );
        // Bound to its key: the same bytes under another key do not open.
        assert!(unpack(&sealer, b"User:2", &stored, value.len()).is_err());
    }

    #[test]
    fn small_values_skip_compression_and_bad_envelopes_are_refused() {
        let sealer = Sealer::random().unwrap();
        let stored = pack(
            &definition(Some(1024), false),
            &sealer,
            b"k",
            b"tiny".to_vec(),
        )
        .unwrap();
        assert_eq!(flags_of(&stored), (false, false));
        assert!(unpack(&sealer, b"k", &[], 10).is_err());
        assert!(unpack(&sealer, b"k", &[0x80, 1, 2], 10).is_err());
    }
}
