//! `INCR`, `DECR`, `INCRBY`, `DECRBY`, `INCRBYFLOAT`: counters stored as decimal strings,
//! changed atomically under the shard lock, keeping the key's TTL, with Redis's checks.

use bytes::Bytes;

use super::value;
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

/// Parses a float the way Redis accepts it: no spaces, finite, not NaN.
fn parse_float(bytes: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.is_empty() || text.trim() != text {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("nan") {
        return None;
    }
    text.parse::<f64>().ok()
}

/// Formats like Redis's `INCRBYFLOAT` reply: plain decimal, no exponent, no trailing zeros.
fn format_float(value: f64) -> String {
    let text = format!("{value:.17}");
    let shortest = format!("{value}");
    // Prefer the shortest exact form when it has no exponent (Rust never prints one for
    // `{}` on f64, so this is the common path); keep the fixed form as a fallback.
    if shortest.parse::<f64>().ok() == Some(value) {
        return shortest;
    }
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    trimmed.to_owned()
}

/// `INCRBYFLOAT key increment`.
pub(super) fn incrbyfloat(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let increment = parse.next_bytes()?;
    parse.finish()?;
    // Redis checks the stored value (type, then number) before the increment.
    let increment = parse_float(&increment);
    Ok(cache.plain().update(&key, |found| {
        let current = match found {
            None => 0.0,
            Some(f) if f.kind != Kind::String => return (Write::Keep, value::wrongtype()),
            Some(f) => match parse_float(f.value) {
                Some(n) => n,
                None => return (Write::Keep, Frame::error("ERR value is not a valid float")),
            },
        };
        let Some(increment) = increment else {
            return (Write::Keep, Frame::error("ERR value is not a valid float"));
        };
        let next = current + increment;
        if !next.is_finite() {
            return (
                Write::Keep,
                Frame::error("ERR increment would produce NaN or Infinity"),
            );
        }
        let text = format_float(next);
        let write = Write::Value {
            kind: Kind::String,
            value: text.clone().into_bytes(),
            ttl: TtlChange::Keep,
        };
        (write, Frame::Bulk(Bytes::from(text)))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_redis() {
        assert_eq!(format_float(10.5), "10.5");
        assert_eq!(format_float(3.0), "3");
        assert_eq!(format_float(-0.25), "-0.25");
        assert_eq!(parse_float(b" 1"), None);
        assert_eq!(parse_float(b"nan"), None);
        assert_eq!(parse_float(b"1e3"), Some(1000.0));
    }
}
