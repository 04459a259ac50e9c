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
pub enum TranscodeError {
    /// Not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Not valid MessagePack, or more than one value.
    #[error("invalid MessagePack: {0}")]
    MsgPack(String),
    /// A MessagePack value JSON cannot represent (or a truncated one).
    #[error("value cannot be shown as JSON: {0}")]
    NotJson(String),
}

/// Converts a client's value into MessagePack.
pub fn to_msgpack(format: ValueFormat, bytes: &[u8]) -> Result<Vec<u8>, TranscodeError> {
    match format {
        ValueFormat::Json => {
            // Streamed, without an intermediate tree: object keys keep their order.
            let mut out = Vec::with_capacity(bytes.len());
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let mut ser = rmp_serde::Serializer::new(&mut out).with_struct_map();
            serde_transcode::transcode(&mut de, &mut ser)
                .map_err(|e| TranscodeError::Json(e.to_string()))?;
            de.end().map_err(|e| TranscodeError::Json(e.to_string()))?;
            Ok(out)
        }
        ValueFormat::MsgPack => {
            check_msgpack(bytes)?;
            Ok(bytes.to_vec())
        }
    }
}

/// Converts stored MessagePack into what the client asked for.
pub fn from_msgpack(format: ValueFormat, msgpack: Vec<u8>) -> Result<Vec<u8>, TranscodeError> {
    match format {
        ValueFormat::MsgPack => Ok(msgpack),
        ValueFormat::Json => {
            let mut out = Vec::with_capacity(msgpack.len() + msgpack.len() / 2 + 8);
            let mut de = rmp_serde::Deserializer::new(&msgpack[..]);
            let mut ser = serde_json::Serializer::new(&mut out);
            serde_transcode::transcode(&mut de, &mut ser)
                .map_err(|e| TranscodeError::NotJson(e.to_string()))?;
            Ok(out)
        }
    }
}

/// Whether `msgpack` is exactly one well-formed MessagePack value.
pub fn check_msgpack(bytes: &[u8]) -> Result<(), TranscodeError> {
    let mut de = rmp_serde::Deserializer::new(bytes);
    serde::Deserialize::deserialize(&mut de)
        .map(|_: IgnoredAny| ())
        .map_err(|e| TranscodeError::MsgPack(e.to_string()))?;
    let rest = de.into_inner();
    if rest.is_empty() {
        Ok(())
    } else {
        Err(TranscodeError::MsgPack(format!(
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
    fn null_is_recognised() {
        assert!(is_nil(&to_msgpack(ValueFormat::Json, b"null").unwrap()));
        assert!(!is_nil(&to_msgpack(ValueFormat::Json, b"0").unwrap()));
    }
}
