//! `GET key`, `GETDEL key`, `GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]` on the plain
//! keyspace (raw bytes, no definition).

use bytes::Bytes;

use super::value::{self, Expiry};
use crate::cache::Cache;
use hoard_l1::{Kind, TtlChange, Write};
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    parse.finish()?;
    Ok(value::either(
        value::get_string(cache, &key).map(super::bulk_or_null_bytes),
    ))
}

/// `GETDEL key`: the value, deleting the key; nil when missing.
pub(super) fn getdel(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    parse.finish()?;
    Ok(cache.plain().update(&key, |found| match found {
        None => (Write::Keep, Frame::Null),
        Some(f) if f.kind != Kind::String => (Write::Keep, value::wrongtype()),
        Some(f) => (Write::Remove, Frame::Bulk(Bytes::copy_from_slice(f.value))),
    }))
}

/// `GETEX key [EX|PX|EXAT|PXAT amount | PERSIST]`: the value, changing its expiry.
pub(super) fn getex(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let mut change: Option<Result<Expiry, ()>> = None;
    while parse.remaining() > 0 {
        let option = parse.next_string()?.to_ascii_uppercase();
        match option.as_str() {
            "PERSIST" if change.is_none() => change = Some(Err(())),
            "EX" | "PX" | "EXAT" | "PXAT" if change.is_none() => {
                let amount = parse.next_bytes().map_err(|_| ParseError::Syntax)?;
                match value::set_expiry(&option, &amount, "getex") {
                    Ok(at) => change = Some(Ok(at)),
                    Err(frame) => return Ok(frame),
                }
            }
            _ => return Err(ParseError::Syntax),
        }
    }
    Ok(cache.plain().update(&key, |found| {
        let Some(f) = found else {
            return (Write::Keep, Frame::Null);
        };
        if f.kind != Kind::String {
            return (Write::Keep, value::wrongtype());
        }
        let reply = Frame::Bulk(Bytes::copy_from_slice(f.value));
        let write = match change {
            None => Write::Keep,
            Some(Err(())) => Write::Ttl(TtlChange::Persist),
            Some(Ok(Expiry::In(ms))) => Write::Ttl(TtlChange::In(ms)),
            Some(Ok(Expiry::Past)) => Write::Remove,
        };
        (write, reply)
    }))
}
