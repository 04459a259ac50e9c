//! `MSET key value [key value ...]` and `MSETNX`: several strings at once. The dispatcher runs
//! them under the tenant's exclusive keyspace lock, so no command sees half of them.

use bytes::Bytes;

use super::value;
use crate::cache::Cache;
use hoard_l1::SetCondition;
use hoard_resp::{Frame, Parse, ParseError};

fn pairs(parse: &mut Parse) -> Result<Vec<(Bytes, Bytes)>, ParseError> {
    let rest = parse.rest();
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(ParseError::WrongArity(
            parse.command_name().to_ascii_lowercase(),
        ));
    }
    Ok(rest
        .chunks_exact(2)
        .filter_map(|pair| match pair {
            [k, v] => Some((k.clone(), v.clone())),
            _ => None,
        })
        .collect())
}

/// `MSET`: always `OK`.
pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let pairs = pairs(parse)?;
    if let Some(error) = pairs
        .iter()
        .find_map(|(_, v)| value::too_large(cache, v.len()))
    {
        return Ok(error);
    }
    for (key, value) in &pairs {
        cache.plain().insert(key, value, None, SetCondition::Always);
    }
    Ok(Frame::ok())
}

/// `MSETNX`: 1 and all written when none of the keys exists, else 0 and nothing written.
pub(super) fn msetnx(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let pairs = pairs(parse)?;
    if let Some(error) = pairs
        .iter()
        .find_map(|(_, v)| value::too_large(cache, v.len()))
    {
        return Ok(error);
    }
    let table = cache.plain();
    if pairs.iter().any(|(key, _)| table.contains(key)) {
        return Ok(Frame::Integer(0));
    }
    for (key, value) in &pairs {
        table.insert(key, value, None, SetCondition::Always);
    }
    Ok(Frame::Integer(1))
}
