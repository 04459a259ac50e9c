//! `APPEND key value` (creates the key when missing, keeps its TTL) and `STRLEN key`.

use super::value;
use crate::cache::Cache;
use hoard_l1::{Kind, TtlChange, Write};
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let tail = parse.next_bytes()?;
    parse.finish()?;
    let limit = cache.max_value_bytes();
    Ok(cache.plain().update(&key, |found| {
        let mut next = match found {
            None => Vec::with_capacity(tail.len()),
            Some(f) if f.kind != Kind::String => return (Write::Keep, value::wrongtype()),
            Some(f) => f.value.to_vec(),
        };
        if next.len().saturating_add(tail.len()) > limit {
            let error = Frame::error(format!(
                "QUOTA value of {} bytes exceeds the limit of {limit} bytes",
                next.len().saturating_add(tail.len())
            ));
            return (Write::Keep, error);
        }
        next.extend_from_slice(&tail);
        let len = Frame::Integer(next.len() as i64);
        let write = Write::Value {
            kind: Kind::String,
            value: next,
            ttl: TtlChange::Keep,
        };
        (write, len)
    }))
}

/// `STRLEN key`: 0 when missing.
pub(super) fn strlen(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    parse.finish()?;
    Ok(cache.plain().update(&key, |found| {
        let reply = match found {
            None => Frame::Integer(0),
            Some(f) if f.kind != Kind::String => value::wrongtype(),
            Some(f) => Frame::Integer(f.value.len() as i64),
        };
        (hoard_l1::Write::Keep, reply)
    }))
}
