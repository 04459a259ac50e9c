//! `INCR`, `DECR`, `INCRBY`, `DECRBY`, `INCRBYFLOAT`: counters stored as decimal strings,
//! changed atomically under the shard lock, keeping the key's TTL, with Redis's checks.

use bytes::Bytes;

use super::{long_double, value};
use crate::cache::Cache;
use hoard_l1::{Kind, TtlChange, Write};
use hoard_resp::{Frame, Parse, ParseError};

/// `INCR key` / `DECR key` (`delta` ±1) and `INCRBY key n` / `DECRBY key n` (`sign` ±1, `None`
/// delta: read it from the arguments).
pub(super) fn run(
    parse: &mut Parse,
    cache: &Cache,
    delta: Option<i64>,
    negate: bool,
) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let delta = match delta {
        Some(d) => d,
        None => match value::arg_i64(&parse.next_bytes()?) {
            Ok(d) => d,
            Err(frame) => {
                parse.finish()?;
                return Ok(frame);
            }
        },
    };
    parse.finish()?;
    let delta = if negate {
        match delta.checked_neg() {
            Some(d) => d,
            None => return Ok(Frame::error("ERR decrement would overflow")),
        }
    } else {
        delta
    };
    Ok(cache.plain().update(&key, |found| {
        let current = match found {
            None => 0,
            Some(f) if f.kind != Kind::String => return (Write::Keep, value::wrongtype()),
            Some(f) => match value::parse_i64_strict(f.value) {
                Some(n) => n,
                None => return (Write::Keep, Frame::error(value::NOT_INTEGER)),
            },
        };
        let Some(next) = current.checked_add(delta) else {
            return (
                Write::Keep,
                Frame::error("ERR increment or decrement would overflow"),
            );
        };
        let write = Write::Value {
            kind: Kind::String,
            value: next.to_string().into_bytes(),
            ttl: TtlChange::Keep,
        };
        (write, Frame::Integer(next))
    }))
}

/// `INCRBYFLOAT key increment`, in Redis's long-double arithmetic (`long_double.rs`), so
/// the replies are redis-server's digit for digit.
pub(super) fn incrbyfloat(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let increment = parse.next_bytes()?;
    parse.finish()?;
    Ok(cache.plain().update(&key, |found| {
        // Redis checks the stored value (type, then number) before the increment.
        let current: &[u8] = match &found {
            None => b"0",
            Some(f) if f.kind != Kind::String => return (Write::Keep, value::wrongtype()),
            Some(f) => f.value,
        };
        match long_double::incr_by_float(current, &increment) {
            Ok(text) => {
                let write = Write::Value {
                    kind: Kind::String,
                    value: text.clone().into_bytes(),
                    ttl: TtlChange::Keep,
                };
                (write, Frame::Bulk(Bytes::from(text)))
            }
            Err(error) => (Write::Keep, Frame::error(error)),
        }
    }))
}
