//! Values on the wire: JSON text by default, raw MessagePack on request, and
//! MessagePack always inside (what plugins validate and the store keeps).
//!
//! Conversions are strict: invalid JSON or MessagePack is refused with a
//! clear message, trailing bytes included, and nothing is stored.

use serde::de::IgnoredAny;

/// How a connection sends and receives definition values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValueFormat {
    /// JSON text (the default, friendly to `redis-cli`).
    #[default]
    Json,
    /// Raw MessagePack bytes (no conversion cost, binary-safe).
    MsgPack,
}

/// A value that could not be read in the format it claimed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WireError {
    /// Not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Not valid MessagePack, or more than one value.
    #[error("invalid MessagePack: {0}")]
    MsgPack(String),
    /// A MessagePack value JSON cannot represent (binary, non-string map keys, ext types).
    #[error("value cannot be shown as JSON: {0}")]
    NotJson(String),
}

/// Converts a client's value into MessagePack.
pub fn to_msgpack(format: ValueFormat, bytes: &[u8]) -> Result<Vec<u8>, WireError> {
    match format {
        ValueFormat::Json => {
            let value: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| WireError::Json(e.to_string()))?;
            rmp_serde::to_vec_named(&value).map_err(|e| WireError::MsgPack(e.to_string()))
        }
        ValueFormat::MsgPack => {
            check_msgpack(bytes)?;
            Ok(bytes.to_vec())
        }
    }
}

/// Converts stored MessagePack into what the client asked for.
pub fn from_msgpack(format: ValueFormat, msgpack: Vec<u8>) -> Result<Vec<u8>, WireError> {
    match format {
        ValueFormat::MsgPack => Ok(msgpack),
        ValueFormat::Json => {
            let value: serde_json::Value =
                rmp_serde::from_slice(&msgpack).map_err(|e| WireError::NotJson(e.to_string()))?;
            serde_json::to_vec(&value).map_err(|e| WireError::NotJson(e.to_string()))
        }
    }
}

/// Whether `msgpack` is exactly one well-formed MessagePack value.
pub fn check_msgpack(bytes: &[u8]) -> Result<(), WireError> {
    let mut de = rmp_serde::Deserializer::new(bytes);
    serde::Deserialize::deserialize(&mut de)
        .map(|_: IgnoredAny| ())
        .map_err(|e| WireError::MsgPack(e.to_string()))?;
    let rest = de.into_inner();
    if rest.is_empty() {
        Ok(())
    } else {
        Err(WireError::MsgPack(format!(
            "{} trailing bytes after the value",
            rest.len()
        )))
    }
}

/// Whether a MessagePack value is nil (a stored "null").
pub fn is_nil(msgpack: &[u8]) -> bool {
    msgpack == [0xc0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_through_msgpack() {
        let json = br#"{"id":"u1","n":2,"ok":true,"tags":["a"],"x":null}"#;
        let packed = to_msgpack(ValueFormat::Json, json).unwrap();
        let back = from_msgpack(ValueFormat::Json, packed).unwrap();
        let a: serde_json::Value = serde_json::from_slice(json).unwrap();
        let b: serde_json::Value = serde_json::from_slice(&back).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        assert!(matches!(
            to_msgpack(ValueFormat::Json, b"{nope"),
            Err(WireError::Json(_))
        ));
        assert!(matches!(
            to_msgpack(ValueFormat::MsgPack, &[0xc1]),
            Err(WireError::MsgPack(_))
        ));
        // A fixarray of 3 elements with only one present.
        assert!(to_msgpack(ValueFormat::MsgPack, &[0x93, 0x01]).is_err());
        // Two values where one is expected.
        assert!(to_msgpack(ValueFormat::MsgPack, &[0x01, 0x02]).is_err());
        assert!(to_msgpack(ValueFormat::MsgPack, &[0x01]).is_ok());
    }

    #[test]
    fn null_is_recognised() {
        assert!(is_nil(&to_msgpack(ValueFormat::Json, b"null").unwrap()));
        assert!(!is_nil(&to_msgpack(ValueFormat::Json, b"0").unwrap()));
    }
}
