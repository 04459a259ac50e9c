//! Arbitrary JSON values for the differential tests of the two JSON ⇄
//! MessagePack writers (`json_msgpack`, `msgpack_json`), which each compare
//! against the serde path over the same kind of input.

use proptest::prelude::*;

/// Any JSON value: every integer and finite float, arbitrary strings and
/// strings matching `strings`, nested four deep in arrays and objects of
/// fewer than `width` items whose keys come from `keys`.
pub(crate) fn json_value(
    strings: &'static str,
    keys: BoxedStrategy<String>,
    width: usize,
) -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<u64>().prop_map(|n| serde_json::json!(n)),
        (-70_000i64..70_000).prop_map(|n| serde_json::json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        any::<String>().prop_map(serde_json::Value::String),
        strings.prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 64, u32::try_from(width).unwrap_or(8), move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..width).prop_map(serde_json::Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..width)
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}
