//! Values on the wire: JSON text by default, raw MessagePack on request, and
//! MessagePack always inside (what plugins validate and the store keeps).
//!
//! Conversions are strict: invalid JSON or MessagePack is refused with a
//! clear message, trailing bytes included, and nothing is stored. Whatever
//! the format, the MessagePack a plugin will see passes
//! [`msgpack_strict::check`] first (one value, bounded depth, UTF-8 strings,
//! unique string keys), so a JSON object with a repeated key is refused just
//! like the same map sent as MessagePack.

use crate::cache::msgpack_strict::{self, StrictError};

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
pub enum TranscodeError {
    /// Not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Not MessagePack hoard accepts (malformed, or against its rules).
    #[error("invalid MessagePack: {0}")]
    MsgPack(#[from] StrictError),
    /// A MessagePack value JSON cannot represent (or a truncated one).
    #[error("value cannot be shown as JSON: {0}")]
    NotJson(String),
}

/// Converts a client's value into MessagePack that passes
/// [`msgpack_strict::check`].
pub fn to_msgpack(format: ValueFormat, bytes: &[u8]) -> Result<Vec<u8>, TranscodeError> {
    let msgpack = match format {
        ValueFormat::Json => {
            // The common shapes are written straight from the text, already
            // within the strict rules; the rest the serde way, then checked.
            if let Some(msgpack) = crate::cache::json_msgpack::to_msgpack(bytes) {
                return Ok(msgpack);
            }
            json_to_msgpack(bytes)?
        }
        ValueFormat::MsgPack => bytes.to_vec(),
    };
    msgpack_strict::check(&msgpack)?;
    Ok(msgpack)
}

/// JSON text as MessagePack, unchecked beyond JSON's own syntax (a repeated
/// object key survives): what a conformance suite sends a server, which
/// must then refuse it itself.
pub fn json_to_msgpack(json: &[u8]) -> Result<Vec<u8>, TranscodeError> {
    // Streamed, without an intermediate tree: object keys keep their order.
    let mut out = Vec::with_capacity(json.len());
    let mut de = serde_json::Deserializer::from_slice(json);
    let mut ser = rmp_serde::Serializer::new(&mut out).with_struct_map();
    serde_transcode::transcode(&mut de, &mut ser)
        .map_err(|e| TranscodeError::Json(e.to_string()))?;
    de.end().map_err(|e| TranscodeError::Json(e.to_string()))?;
    Ok(out)
}

/// Converts stored MessagePack into what the client asked for.
pub fn from_msgpack(format: ValueFormat, msgpack: Vec<u8>) -> Result<Vec<u8>, TranscodeError> {
    match format {
        ValueFormat::MsgPack => Ok(msgpack),
        ValueFormat::Json => {
            // The common shapes are written straight from the bytes; the
            // rest (binary, integer keys, a truncated value...) the serde way.
            if let Some(json) = crate::cache::msgpack_json::to_json(&msgpack) {
                return Ok(json);
            }
            let mut out = Vec::with_capacity(msgpack.len() + msgpack.len() / 2 + 8);
            let mut de = rmp_serde::Deserializer::new(&msgpack[..]);
            let mut ser = serde_json::Serializer::new(&mut out);
            serde_transcode::transcode(&mut de, &mut ser)
                .map_err(|e| TranscodeError::NotJson(e.to_string()))?;
            Ok(out)
        }
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
    fn object_keys_keep_their_order() {
        let json = br#"{"z":1,"a":{"y":[1,2.5,"x"],"b":null}}"#;
        let packed = to_msgpack(ValueFormat::Json, json).unwrap();
        assert_eq!(
            from_msgpack(ValueFormat::Json, packed).unwrap(),
            json.to_vec()
        );
    }

    #[test]
    fn msgpack_without_a_json_form_is_refused_or_mapped() {
        // A truncated value cannot be shown.
        assert!(matches!(
            from_msgpack(ValueFormat::Json, vec![0x92, 0x01]),
            Err(TranscodeError::NotJson(_))
        ));
        // Integer map keys become JSON strings.
        assert_eq!(
            from_msgpack(ValueFormat::Json, vec![0x81, 0x01, 0x02]).unwrap(),
            br#"{"1":2}"#.to_vec()
        );
        // Binary becomes an array of byte values.
        assert_eq!(
            from_msgpack(ValueFormat::Json, vec![0xc4, 0x02, 0x00, 0x01]).unwrap(),
            b"[0,1]".to_vec()
        );
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        assert!(matches!(
            to_msgpack(ValueFormat::Json, b"{nope"),
            Err(TranscodeError::Json(_))
        ));
        assert!(matches!(
            to_msgpack(ValueFormat::Json, b"{} trailing"),
            Err(TranscodeError::Json(_))
        ));
        assert!(matches!(
            to_msgpack(ValueFormat::MsgPack, &[0xc1]),
            Err(TranscodeError::MsgPack(_))
        ));
        // A fixarray of 3 elements with only one present.
        assert!(to_msgpack(ValueFormat::MsgPack, &[0x93, 0x01]).is_err());
        // Two values where one is expected.
        assert!(to_msgpack(ValueFormat::MsgPack, &[0x01, 0x02]).is_err());
        assert!(to_msgpack(ValueFormat::MsgPack, &[0x01]).is_ok());
    }

    #[test]
    fn both_formats_meet_the_same_strict_rules() {
        // A repeated JSON key converts, but is refused before any plugin.
        let json = br#"{"id": "1", "id": "2"}"#;
        let converted = json_to_msgpack(json).unwrap();
        let from_json = to_msgpack(ValueFormat::Json, json).unwrap_err();
        let from_msgpack = to_msgpack(ValueFormat::MsgPack, &converted).unwrap_err();
        assert_eq!(from_json, from_msgpack);
        assert_eq!(
            from_json.to_string(),
            r#"invalid MessagePack: the map key "id" appears more than once in one map (offset 6)"#
        );
        // JSON allows 128 levels; a plugin sees at most 64.
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert!(matches!(
            to_msgpack(ValueFormat::Json, deep.as_bytes()),
            Err(TranscodeError::MsgPack(StrictError::TooDeep { .. }))
        ));
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(to_msgpack(ValueFormat::Json, ok.as_bytes()).is_ok());
        // MessagePack can say what JSON cannot: an integer key.
        assert!(matches!(
            to_msgpack(ValueFormat::MsgPack, &[0x81, 0x01, 0x02]),
            Err(TranscodeError::MsgPack(StrictError::KeyNotString { .. }))
        ));
    }

    #[test]
    fn null_is_recognised() {
        assert!(is_nil(&to_msgpack(ValueFormat::Json, b"null").unwrap()));
        assert!(!is_nil(&to_msgpack(ValueFormat::Json, b"0").unwrap()));
    }
}
