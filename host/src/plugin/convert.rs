//! Conversions between the WIT records and the host's own types, so that
//! wasmtime's generated types never leave `plugin/`.

use super::bindings::wit_types;
use crate::definition::{Definition, EventError, Invalidation, KeyError, Version};
use hoard_l1::{ExpiryMode, Policy};

/// Converts a descriptor (not yet checked against caps: `Definition::check` does that).
pub(crate) fn definition_from(
    d: wit_types::Descriptor,
) -> Result<Definition, crate::definition::DefinitionError> {
    Ok(Definition {
        version: Version::parse(&d.version)?,
        id: d.id,
        name: d.name,
        description: d.description,
        default_ttl_ms: d.default_ttl_ms,
        max_ttl_ms: d.max_ttl_ms,
        expiry: match d.expiration {
            wit_types::Expiration::Absolute => ExpiryMode::Absolute,
            wit_types::Expiration::Sliding => ExpiryMode::Sliding,
        },
        eviction: match d.eviction {
            wit_types::EvictionPolicy::Lru => Policy::Lru,
            wit_types::EvictionPolicy::Lfu => Policy::Lfu,
        },
        max_items: d.max_items,
        allow_null: d.allow_null,
        compress_threshold: d.compress.map(|c| c.threshold_bytes),
        encrypt: d.encrypt,
        pure_keys: d.pure_keys,
        invalidation_events: d.invalidation_events,
        dependent_caches: d.dependent_caches,
        metadata: d.metadata,
    })
}

pub(crate) fn key_error_from(e: wit_types::KeyError) -> KeyError {
    match e {
        wit_types::KeyError::WrongArity(s) => KeyError::WrongArity(s),
        wit_types::KeyError::InvalidPart(s) => KeyError::InvalidPart(s),
        wit_types::KeyError::Other(s) => KeyError::Other(s),
    }
}

pub(crate) fn event_error_from(e: wit_types::EventError) -> EventError {
    match e {
        wit_types::EventError::UnknownEvent(s) => EventError::UnknownEvent(s),
        wit_types::EventError::BadPayload(s) => EventError::BadPayload(s),
        wit_types::EventError::Other(s) => EventError::Other(s),
    }
}

pub(crate) fn invalidation_from(i: wit_types::Invalidation) -> Invalidation {
    Invalidation {
        keys: i.keys,
        patterns: i.patterns,
        dependent_caches: i.dependent_caches,
        cascade: i.cascade,
        reason: i.reason,
    }
}
