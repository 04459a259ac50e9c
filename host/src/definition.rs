//! The host's own picture of a cache definition: what a plugin's `describe()`
//! declared, checked and converted into host types.
//!
//! It must not depend on wasmtime: `plugin/` converts the WIT records into
//! these types, and everything past `plugin/` only ever sees these.

use std::fmt;

use hoard_l1::{ExpiryMode, Policy};

/// The rules of one cache, as declared by its plugin and checked at load.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    /// Stable identifier (`user-cache`); with the major version it names the data.
    pub id: String,
    /// Short name used in commands (`UserCache`).
    pub name: String,
    /// One sentence for operators.
    pub description: String,
    /// Semantic version of the definition.
    pub version: Version,
    /// TTL applied when a writer gives none.
    pub default_ttl_ms: u64,
    /// Upper bound for every TTL, explicit ones included.
    pub max_ttl_ms: u64,
    /// Whether reads push the expiry back.
    pub expiry: ExpiryMode,
    /// Which entry goes first when the cache is full.
    pub eviction: Policy,
    /// Entries kept at most.
    pub max_items: u64,
    /// Whether a null value may be stored (negative caching).
    pub allow_null: bool,
    /// Compress stored values larger than this many bytes.
    pub compress_threshold: Option<u32>,
    /// Encrypt values at rest in memory.
    pub encrypt: bool,
    /// The plugin promises `generate-key` is a pure function, so keys may be memoized.
    pub pure_keys: bool,
    /// Events for which the plugin's `on-event` is called directly.
    pub invalidation_events: Vec<String>,
    /// Caches an invalidation with `cascade` forwards the event to.
    pub dependent_caches: Vec<String>,
    /// Free-form labels for operators.
    pub metadata: Vec<(String, String)>,
}

/// Upper bounds the host puts on what a definition may declare, so that one
/// plugin cannot claim the whole machine by describing itself generously.
#[derive(Clone, Debug)]
pub struct DefinitionCaps {
    /// Largest `max-items` a definition may declare.
    pub max_items: u64,
    /// Longest `max-ttl-ms` a definition may declare.
    pub max_ttl_ms: u64,
}

impl Default for DefinitionCaps {
    fn default() -> Self {
        Self {
            max_items: 10_000_000,
            max_ttl_ms: 30 * 24 * 3600 * 1000,
        }
    }
}

/// Why a descriptor was refused at load time.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DefinitionError {
    /// The id is empty or not lower-kebab-case.
    #[error("id {0:?} must be non-empty lower-kebab-case ([a-z0-9-])")]
    BadId(String),
    /// The name is empty or holds characters a client cannot type in a command.
    #[error("name {0:?} must be non-empty and use only [A-Za-z0-9_.-]")]
    BadName(String),
    /// The version is not `MAJOR.MINOR.PATCH`.
    #[error("version {0:?} is not semantic (MAJOR.MINOR.PATCH)")]
    BadVersion(String),
    /// A TTL is zero, or the default exceeds the maximum.
    #[error("default-ttl-ms ({default}) must be > 0 and <= max-ttl-ms ({max})")]
    BadTtl {
        /// The declared default TTL.
        default: u64,
        /// The declared maximum TTL.
        max: u64,
    },
    /// A bound exceeds what the host allows.
    #[error("{what} {value} exceeds the host's cap of {cap}")]
    OverCap {
        /// Which field.
        what: &'static str,
        /// The declared value.
        value: u64,
        /// The host's cap.
        cap: u64,
    },
    /// `max-items` is zero.
    #[error("max-items must be > 0")]
    NoItems,
}

impl Definition {
    /// `id@version`, the name under which operators see this definition.
    pub fn versioned_id(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// The TTL an entry gets: the default when none is asked for, never more than the maximum.
    pub fn effective_ttl_ms(&self, requested: Option<u64>) -> u64 {
        requested
            .unwrap_or(self.default_ttl_ms)
            .clamp(1, self.max_ttl_ms)
    }

    /// Checks the declared values against each other and against the host's caps.
    pub fn check(&self, caps: &DefinitionCaps) -> Result<(), DefinitionError> {
        let id_ok = !self.id.is_empty()
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return Err(DefinitionError::BadId(self.id.clone()));
        }
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 128
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !name_ok {
            return Err(DefinitionError::BadName(self.name.clone()));
        }
        if self.default_ttl_ms == 0 || self.default_ttl_ms > self.max_ttl_ms {
            return Err(DefinitionError::BadTtl {
                default: self.default_ttl_ms,
                max: self.max_ttl_ms,
            });
        }
        if self.max_ttl_ms > caps.max_ttl_ms {
            return Err(DefinitionError::OverCap {
                what: "max-ttl-ms",
                value: self.max_ttl_ms,
                cap: caps.max_ttl_ms,
            });
        }
        if self.max_items == 0 {
            return Err(DefinitionError::NoItems);
        }
        if self.max_items > caps.max_items {
            return Err(DefinitionError::OverCap {
                what: "max-items",
                value: self.max_items,
                cap: caps.max_items,
            });
        }
        Ok(())
    }
}

/// A semantic version; only the major number has meaning to the host (it
/// decides whether stored entries survive a reload).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// Bumped for a new key or value schema.
    pub major: u64,
    /// Compatible additions.
    pub minor: u64,
    /// Fixes.
    pub patch: u64,
    /// Anything after `-` or `+`, kept for display.
    pub suffix: String,
}

impl Version {
    /// Parses `MAJOR.MINOR.PATCH[-pre][+build]`.
    pub fn parse(text: &str) -> Result<Version, DefinitionError> {
        let bad = || DefinitionError::BadVersion(text.to_owned());
        let split_at = text.find(['-', '+']).unwrap_or(text.len());
        let (core, suffix) = text.split_at(split_at);
        let mut numbers = core.split('.').map(|n| {
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                Err(bad())
            } else {
                n.parse::<u64>().map_err(|_| bad())
            }
        });
        let (Some(major), Some(minor), Some(patch), None) = (
            numbers.next(),
            numbers.next(),
            numbers.next(),
            numbers.next(),
        ) else {
            return Err(bad());
        };
        Ok(Version {
            major: major?,
            minor: minor?,
            patch: patch?,
            suffix: suffix.to_owned(),
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}{}",
            self.major, self.minor, self.patch, self.suffix
        )
    }
}

/// Why key parts could not become a key (the plugin's verdict).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum KeyError {
    /// No key shape takes this many parts.
    #[error("wrong number of key parts: {0}")]
    WrongArity(String),
    /// A part is empty or malformed.
    #[error("invalid key part: {0}")]
    InvalidPart(String),
    /// Anything else the plugin refused.
    #[error("{0}")]
    Other(String),
}

/// Why an event could not be mapped (the plugin's verdict).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EventError {
    /// The plugin does not handle this event.
    #[error("unknown event: {0}")]
    UnknownEvent(String),
    /// The payload is not what the event needs.
    #[error("bad payload: {0}")]
    BadPayload(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// What a domain event makes stale, as a plugin answered it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Invalidation {
    /// Exact keys in the tenant's definition keyspace.
    pub keys: Vec<String>,
    /// Redis glob patterns in the same keyspace.
    pub patterns: Vec<String>,
    /// Caches to forward the event to; empty means the descriptor's list.
    pub dependent_caches: Vec<String>,
    /// Whether to forward the event to dependent caches.
    pub cascade: bool,
    /// Why, for logs and replies.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Definition {
        Definition {
            id: "user-cache".into(),
            name: "UserCache".into(),
            description: String::new(),
            version: Version::parse("1.2.3").unwrap(),
            default_ttl_ms: 1000,
            max_ttl_ms: 5000,
            expiry: ExpiryMode::Absolute,
            eviction: Policy::Lru,
            max_items: 10,
            allow_null: false,
            compress_threshold: None,
            encrypt: false,
            pure_keys: true,
            invalidation_events: vec![],
            dependent_caches: vec![],
            metadata: vec![],
        }
    }

    #[test]
    fn versions_parse_and_print() {
        let v = Version::parse("2.10.0-beta.1").unwrap();
        assert_eq!((v.major, v.minor, v.patch), (2, 10, 0));
        assert_eq!(v.to_string(), "2.10.0-beta.1");
        for bad in [
            "", "1", "1.2", "1.2.3.4", "a.b.c", "1..2", "-1.0.0", "1.2.x",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn ttl_is_defaulted_and_clamped() {
        let d = sample();
        assert_eq!(d.effective_ttl_ms(None), 1000);
        assert_eq!(d.effective_ttl_ms(Some(99_999)), 5000);
        assert_eq!(d.effective_ttl_ms(Some(10)), 10);
        assert_eq!(d.effective_ttl_ms(Some(0)), 1);
    }

    #[test]
    fn check_refuses_inconsistent_descriptors() {
        let caps = DefinitionCaps::default();
        assert_eq!(sample().check(&caps), Ok(()));
        let mut d = sample();
        d.default_ttl_ms = 6000;
        assert!(matches!(
            d.check(&caps),
            Err(DefinitionError::BadTtl { .. })
        ));
        let mut d = sample();
        d.id = "User Cache".into();
        assert!(matches!(d.check(&caps), Err(DefinitionError::BadId(_))));
        let mut d = sample();
        d.name = "has space".into();
        assert!(matches!(d.check(&caps), Err(DefinitionError::BadName(_))));
        let mut d = sample();
        d.max_items = u64::MAX;
        assert!(matches!(
            d.check(&caps),
            Err(DefinitionError::OverCap { .. })
        ));
    }
}
