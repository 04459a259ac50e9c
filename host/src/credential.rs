//! Password credentials for `AUTH`: what the configuration holds instead of
//! a password, and how a presented password is checked against it.
//!
//! The stored form is an argon2id hash in PHC string form
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), which `hoard passwd`
//! prints: salted, so equal passwords do not share a hash, and slow, so a
//! leaked config does not give the passwords away to a GPU in an afternoon.
//! The parameters travel inside the string, so stronger ones can be adopted
//! without a format change.
//!
//! The old unsalted SHA-256 hex digest is still accepted, so existing
//! configurations keep working, but start-up warns about it.
//!
//! Checking an argon2 hash takes tens of milliseconds of CPU and ~19 MiB of
//! memory by design. [`Credential::check`] therefore runs it on tokio's
//! blocking pool, never on an async worker that other connections share,
//! and at most [`CONCURRENT_CHECKS`] at a time, so a flood of `AUTH`
//! attempts cannot take the blocking pool or the memory with it.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2};
use sha2::{Digest, Sha256};

/// Argon2 checks that may run at once, server-wide.
pub const CONCURRENT_CHECKS: usize = 2;

static CHECK_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_CHECKS);

/// A configured credential.
#[derive(Clone)]
pub enum Credential {
    /// An argon2 PHC string, validated when it was read.
    Argon2(String),
    /// A legacy unsalted SHA-256 digest, 32 bytes.
    LegacySha256([u8; 32]),
}

impl std::fmt::Debug for Credential {
    // Never print the hash itself: it is offline-attackable material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Argon2(_) => f.write_str("Credential::Argon2(..)"),
            Credential::LegacySha256(_) => f.write_str("Credential::LegacySha256(..)"),
        }
    }
}

/// Why a configured credential cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Neither a PHC string nor 64 hex characters.
    #[error(
        "not a password hash: expected an argon2id PHC string (`hoard passwd` prints one) or a legacy SHA-256 hex digest"
    )]
    Unrecognised,
    /// Looks like a PHC string but does not parse.
    #[error("malformed PHC string: {0}")]
    Malformed(String),
    /// A PHC string of an algorithm hoard does not verify.
    #[error("unsupported password hash algorithm {0:?}: use argon2id (`hoard passwd`)")]
    Unsupported(String),
    /// Hashing a new password failed.
    #[error("hashing the password failed: {0}")]
    Hashing(String),
}

impl Credential {
    /// Reads a configured hash: a PHC string (starts with `$`) or a legacy
    /// SHA-256 hex digest. Malformed input is an error here, at start-up,
    /// not a silent "wrong password" on every `AUTH` later.
    pub fn parse(text: &str) -> Result<Credential, CredentialError> {
        let text = text.trim();
        if text.starts_with('$') {
            let hash =
                PasswordHash::new(text).map_err(|e| CredentialError::Malformed(e.to_string()))?;
            let algorithm = hash.algorithm.as_str();
            if Algorithm::new(algorithm).is_err() {
                return Err(CredentialError::Unsupported(algorithm.to_owned()));
            }
            if hash.salt.is_none() || hash.hash.is_none() {
                return Err(CredentialError::Malformed(
                    "it has no salt or no hash".to_owned(),
                ));
            }
            return Ok(Credential::Argon2(text.to_owned()));
        }
        let mut digest = [0u8; 32];
        hex::decode_to_slice(text, &mut digest).map_err(|_| CredentialError::Unrecognised)?;
        Ok(Credential::LegacySha256(digest))
    }

    /// Whether this is the old unsalted form, which start-up warns about.
    pub fn is_legacy(&self) -> bool {
        matches!(self, Credential::LegacySha256(_))
    }

    /// Whether `password` matches, in constant time with respect to the
    /// stored hash. Blocks for the argon2 time: async callers use
    /// [`Credential::check`].
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            Credential::Argon2(phc) => match PasswordHash::new(phc) {
                // The algorithm, version and parameters come from the string;
                // the comparison of outputs is constant-time.
                Ok(hash) => Argon2::default().verify_password(password, &hash).is_ok(),
                Err(_) => false,
            },
            Credential::LegacySha256(expected) => {
                let given: [u8; 32] = Sha256::digest(password).into();
                constant_time_eq(&given, expected)
            }
        }
    }

    /// [`Credential::verify`] without holding up the async worker: argon2
    /// runs on the blocking pool, a bounded number at a time; the legacy
    /// digest is cheap and runs inline.
    pub async fn check(self: Arc<Self>, password: Vec<u8>) -> bool {
        if self.is_legacy() {
            return self.verify(&password);
        }
        let Ok(_slot) = CHECK_SLOTS.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || self.verify(&password))
            .await
            .unwrap_or(false)
    }
}

/// Hashes a password into an argon2id PHC string with a fresh random
/// 16-byte salt and the crate's default (OWASP-recommended) parameters.
pub fn hash_password(password: &[u8]) -> Result<String, CredentialError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| CredentialError::Hashing(e.to_string()))?;
    let salt =
        SaltString::encode_b64(&bytes).map_err(|e| CredentialError::Hashing(e.to_string()))?;
    Argon2::default()
        .hash_password(password, &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| CredentialError::Hashing(e.to_string()))
}

/// Compares without an early exit, so timing does not reveal how much matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `printf %s let-me-in | sha256sum`.
    const LEGACY: &str = "a3ee786b5707c27d42570785081ec17f5c7db9262a01366af362a1aa61a420b9";

    #[test]
    fn equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn a_hashed_password_verifies_and_others_do_not() {
        let phc = hash_password(b"let-me-in").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        let credential = Credential::parse(&phc).unwrap();
        assert!(!credential.is_legacy());
        assert!(credential.verify(b"let-me-in"));
        assert!(!credential.verify(b"let-me-In"));
        assert!(!credential.verify(b""));
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        let a = hash_password(b"same").unwrap();
        let b = hash_password(b"same").unwrap();
        assert_ne!(a, b, "a fresh salt per hash");
        assert!(Credential::parse(&a).unwrap().verify(b"same"));
        assert!(Credential::parse(&b).unwrap().verify(b"same"));
    }

    #[test]
    fn the_legacy_digest_still_verifies_in_either_case() {
        let credential = Credential::parse(LEGACY).unwrap();
        assert!(credential.is_legacy());
        assert!(credential.verify(b"let-me-in"));
        assert!(!credential.verify(b"let-me-out"));
        let upper = Credential::parse(&format!("  {}\n", LEGACY.to_ascii_uppercase())).unwrap();
        assert!(upper.verify(b"let-me-in"));
    }

    #[test]
    fn parameters_come_from_the_string() {
        // A cheap hash made elsewhere (other parameters than the defaults)
        // verifies with the parameters it names.
        let params = argon2::Params::new(8, 1, 1, None).unwrap();
        let argon = Argon2::new(Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::encode_b64(b"sixteen byte sal").unwrap();
        let phc = argon.hash_password(b"pw", &salt).unwrap().to_string();
        assert!(phc.contains("m=8,t=1,p=1"), "{phc}");
        assert!(Credential::parse(&phc).unwrap().verify(b"pw"));
        assert!(!Credential::parse(&phc).unwrap().verify(b"pv"));
    }

    #[test]
    fn malformed_hashes_are_refused_with_a_reason() {
        assert_eq!(
            Credential::parse("x").unwrap_err(),
            CredentialError::Unrecognised
        );
        assert_eq!(
            Credential::parse(&LEGACY[1..]).unwrap_err(),
            CredentialError::Unrecognised
        );
        assert!(matches!(
            Credential::parse("$argon2id$v=19$garbage").unwrap_err(),
            CredentialError::Malformed(_)
        ));
        assert!(matches!(
            Credential::parse("$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E")
                .unwrap_err(),
            CredentialError::Unsupported(_)
        ));
    }

    #[test]
    fn the_debug_form_hides_the_hash() {
        let credential = Credential::parse(LEGACY).unwrap();
        assert!(!format!("{credential:?}").contains("a3ee"));
    }

    #[tokio::test]
    async fn check_runs_off_the_async_worker_and_agrees_with_verify() {
        let phc = hash_password(b"pw").unwrap();
        let credential = Arc::new(Credential::parse(&phc).unwrap());
        assert!(Arc::clone(&credential).check(b"pw".to_vec()).await);
        assert!(!credential.check(b"nope".to_vec()).await);
        let legacy = Arc::new(Credential::parse(LEGACY).unwrap());
        assert!(legacy.check(b"let-me-in".to_vec()).await);
    }
}
