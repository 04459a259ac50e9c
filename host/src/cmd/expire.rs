//! `EXPIRE key seconds`, `PEXPIRE key ms`, `PERSIST key` on the plain keyspace.
//! A non-positive time deletes the key, as in Redis.

use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

/// The unit of the command's time argument.
pub(super) enum Unit {
    Seconds,
    Millis,
}

pub(super) fn run(parse: &mut Parse, cache: &Cache, unit: Unit) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let amount = parse.next_i64()?;
    parse.finish()?;
    let table = cache.plain();
    if amount <= 0 {
        return Ok(Frame::Integer(i64::from(table.remove(&key))));
    }
    let Some(ms) = super::set::positive_ms(amount, matches!(unit, Unit::Seconds)) else {
        return Ok(Frame::error("ERR invalid expire time"));
    };
    Ok(Frame::Integer(i64::from(table.set_ttl(&key, Some(ms)))))
}

pub(super) fn persist(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    parse.finish()?;
    let table = cache.plain();
    let had_ttl = matches!(table.ttl(&key), hoard_l1::Ttl::RemainingMs(_));
    Ok(Frame::Integer(i64::from(
        had_ttl && table.set_ttl(&key, None),
    )))
}
