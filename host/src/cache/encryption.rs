//! Encryption at rest in memory for definitions that ask for it.
//!
//! ChaCha20-Poly1305 (RFC 8439) with a random 96-bit nonce per write; the
//! entry's key is the associated data, so a value copied under another key
//! does not decrypt. The 256-bit key comes from the host's configuration (or
//! is generated at start-up, since L1 lives only as long as the process) and
//! is never visible to plugins, which only ever see plaintext MessagePack
//! before it is sealed.
//!
//! The cipher is ring's: for the short values a cache holds (~100 bytes) it
//! seals in a fraction of the time of the RustCrypto crate, whose AVX2
//! Poly1305 pays a per-key set-up on every message (measured on the
//! `CACHE.SET` path, see README's performance section). The bytes are the
//! same: a value sealed by either opens with the other. Nonces are fresh OS
//! randomness, fetched a batch at a time per thread instead of one system
//! call per write.

use std::cell::RefCell;

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// Poly1305 tag bytes after the ciphertext.
const TAG_LEN: usize = 16;

/// Nonces fetched from the OS in one call, per thread.
const NONCE_BATCH: usize = 64;

thread_local! {
    /// Unused OS randomness for nonces: bytes `[used..]` of the buffer.
    static NONCES: RefCell<(usize, [u8; NONCE_LEN * NONCE_BATCH])> =
        const { RefCell::new((NONCE_LEN * NONCE_BATCH, [0; NONCE_LEN * NONCE_BATCH])) };
}

/// A nonce nobody has used: 12 bytes of OS randomness, never handed out twice.
fn fresh_nonce() -> Result<[u8; NONCE_LEN], EncryptionError> {
    NONCES.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (used, buf) = &mut *guard;
        if *used + NONCE_LEN > buf.len() {
            getrandom::fill(buf).map_err(|e| EncryptionError::Random(e.to_string()))?;
            *used = 0;
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&buf[*used..*used + NONCE_LEN]);
        // Wiped as it is handed out, so a nonce is never in the buffer twice.
        buf[*used..*used + NONCE_LEN].fill(0);
        *used += NONCE_LEN;
        Ok(nonce)
    })
}

/// Failures to seal or open a value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncryptionError {
    /// The configured key is not 64 hex characters.
    #[error("encryption key must be 64 hex characters (32 bytes)")]
    BadKey,
    /// The OS random source failed.
    #[error("no randomness for a nonce: {0}")]
    Random(String),
    /// The value was altered, or sealed under another key or entry.
    #[error("value failed authentication")]
    Tampered,
}

/// Seals and opens values with the host's key.
#[derive(Clone)]
pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    fn from_bytes(bytes: &[u8]) -> Result<Sealer, EncryptionError> {
        let key =
            UnboundKey::new(&CHACHA20_POLY1305, bytes).map_err(|_| EncryptionError::BadKey)?;
        Ok(Sealer {
            key: LessSafeKey::new(key),
        })
    }

    /// A sealer from a configured key in hex.
    pub fn from_hex(key_hex: &str) -> Result<Sealer, EncryptionError> {
        let bytes = hex::decode(key_hex.trim()).map_err(|_| EncryptionError::BadKey)?;
        if bytes.len() != 32 {
            return Err(EncryptionError::BadKey);
        }
        Self::from_bytes(&bytes)
    }

    /// A sealer with a fresh random key, for a process whose L1 dies with it.
    pub fn random() -> Result<Sealer, EncryptionError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| EncryptionError::Random(e.to_string()))?;
        Self::from_bytes(&key)
    }

    /// Encrypts `plaintext` bound to `aad` (the entry's key); output is
    /// nonce || ciphertext || tag.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, EncryptionError> {
        let mut out = Vec::with_capacity(Self::sealed_len(plaintext.len()));
        self.seal_into(&mut out, plaintext, aad)?;
        Ok(out)
    }

    /// Bytes [`Sealer::seal`] makes of `len` bytes of plaintext.
    pub fn sealed_len(len: usize) -> usize {
        NONCE_LEN + len + TAG_LEN
    }

    /// [`Sealer::seal`], appended to `out` (sealed in place there: no copy
    /// of the plaintext besides the one that becomes the ciphertext).
    pub fn seal_into(
        &self,
        out: &mut Vec<u8>,
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<(), EncryptionError> {
        let nonce = fresh_nonce()?;
        out.reserve(Self::sealed_len(plaintext.len()));
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut out[start..],
            )
            .map_err(|_| EncryptionError::Tampered)?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Decrypts what [`Sealer::seal`] produced for the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, EncryptionError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(EncryptionError::Tampered);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| EncryptionError::Tampered)?;
        let mut plain = body.to_vec();
        let len = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut plain)
            .map_err(|_| EncryptionError::Tampered)?
            .len();
        plain.truncate(len);
        Ok(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_under_the_same_entry_key() {
        let sealer = Sealer::random().unwrap();
        let sealed = sealer.seal(b"secret", b"User:1").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(sealer.open(&sealed, b"User:1").unwrap(), b"secret");
        assert_eq!(
            sealer.open(&sealed, b"User:2"),
            Err(EncryptionError::Tampered)
        );
        let mut bent = sealed.clone();
        let last = bent.len() - 1;
        bent[last] ^= 1;
        assert_eq!(
            sealer.open(&bent, b"User:1"),
            Err(EncryptionError::Tampered)
        );
    }

    #[test]
    fn another_key_cannot_open() {
        let a = Sealer::from_hex(&"11".repeat(32)).unwrap();
        let b = Sealer::from_hex(&"22".repeat(32)).unwrap();
        let sealed = a.seal(b"v", b"k").unwrap();
        assert!(b.open(&sealed, b"k").is_err());
        assert!(Sealer::from_hex("abcd").is_err());
    }

    #[test]
    fn the_bytes_are_rfc_8439_chacha20_poly1305_as_before() {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
        let key = [7u8; 32];
        let ours = Sealer::from_hex(&hex::encode(key)).unwrap();
        let theirs = ChaCha20Poly1305::new(Key::from_slice(&key));
        let value = b"{\"id\":\"42\",\"name\":\"Ada\"}";
        // Sealed here, opened by the RustCrypto crate (what hoard used before)...
        let sealed = ours.seal(value, b"User:42").unwrap();
        let (nonce, body) = sealed.split_at(12);
        let opened = theirs
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: b"User:42",
                },
            )
            .unwrap();
        assert_eq!(opened, value);
        // ...and the other way round, so entries written before still open.
        let nonce = [9u8; 12];
        let mut old = nonce.to_vec();
        old.extend(
            theirs
                .encrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: value,
                        aad: b"User:42",
                    },
                )
                .unwrap(),
        );
        assert_eq!(ours.open(&old, b"User:42").unwrap(), value);
    }

    #[test]
    fn nonces_do_not_repeat_across_batches() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..(3 * NONCE_BATCH + 5) {
            assert!(seen.insert(fresh_nonce().unwrap()));
        }
    }
}
