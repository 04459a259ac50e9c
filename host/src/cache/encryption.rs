//! Encryption at rest in memory for definitions that ask for it.
//!
//! ChaCha20-Poly1305 with a random 96-bit nonce per write; the entry's key
//! is the associated data, so a value copied under another key does not
//! decrypt. The 256-bit key comes from the host's configuration (or is
//! generated at start-up, since L1 lives only as long as the process) and is
//! never visible to plugins, which only ever see plaintext MessagePack
//! before it is sealed.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

const NONCE_LEN: usize = 12;

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
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer from a configured key in hex.
    pub fn from_hex(key_hex: &str) -> Result<Sealer, EncryptionError> {
        let bytes = hex::decode(key_hex.trim()).map_err(|_| EncryptionError::BadKey)?;
        if bytes.len() != 32 {
            return Err(EncryptionError::BadKey);
        }
        Ok(Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)),
        })
    }

    /// A sealer with a fresh random key, for a process whose L1 dies with it.
    pub fn random() -> Result<Sealer, EncryptionError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| EncryptionError::Random(e.to_string()))?;
        Ok(Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        })
    }

    /// Encrypts `plaintext` bound to `aad` (the entry's key); output is nonce || ciphertext.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, EncryptionError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| EncryptionError::Random(e.to_string()))?;
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| EncryptionError::Tampered)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts what [`Sealer::seal`] produced for the same `aad`.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, EncryptionError> {
        if sealed.len() < NONCE_LEN {
            return Err(EncryptionError::Tampered);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
            .map_err(|_| EncryptionError::Tampered)
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
}
