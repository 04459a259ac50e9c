//! The bytes L1 keeps for a definition entry: one flags byte, then the
//! MessagePack value, compressed and then sealed when the definition asks.
//!
//! The flags travel with each entry (not with the definition) so that
//! entries written under one setting still read back after a reload changes
//! it.

use std::borrow::Cow;

use crate::compression;
use crate::definition::Definition;
use crate::encryption::Sealer;

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
    Encryption(#[from] crate::encryption::EncryptionError),
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
        body = sealer.seal(&body, key)?;
        flags |= ENCRYPTED;
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

/// Whether an entry was stored compressed / encrypted (for tests and `CACHE.INFO`).
pub fn flags_of(stored: &[u8]) -> (bool, bool) {
    let flags = stored.first().copied().unwrap_or(0);
    (flags & COMPRESSED != 0, flags & ENCRYPTED != 0)
}
