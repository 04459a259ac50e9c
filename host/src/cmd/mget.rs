//! `MGET key [key ...]`: one reply per key, nil for missing keys and for non-strings.

use crate::cache::Cache;
use hoard_l1::Kind;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let mut keys = vec![parse.next_bytes()?];
    keys.extend(parse.rest());
    let table = cache.plain();
    let values = keys
        .iter()
        .map(|key| {
            table
                .get_typed_with(key, |kind, value| {
                    (kind == Kind::String).then(|| Frame::bulk(value.to_vec()))
                })
                .flatten()
                .unwrap_or(Frame::Null)
        })
        .collect();
    Ok(Frame::Array(values))
}
