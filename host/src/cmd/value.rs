//! Shared pieces of the plain-keyspace commands: Redis's error texts, its strict integer
//! syntax, wall-clock milliseconds for absolute expiry, and string reads that answer
//! `WRONGTYPE` for hashes.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::cache::Cache;
use hoard_l1::Kind;
use hoard_resp::Frame;

/// Redis's reply when a command meets a key of another type.
pub(crate) const WRONGTYPE: &str =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
/// Redis's reply for an argument or stored value that is not an `i64`.
pub(crate) const NOT_INTEGER: &str = "ERR value is not an integer or out of range";

/// The `WRONGTYPE` error frame.
pub(crate) fn wrongtype() -> Frame {
    Frame::error(WRONGTYPE)
}

/// `ERR invalid expire time in '<cmd>' command`.
pub(crate) fn invalid_expire(command: &str) -> Frame {
    Frame::error(format!(
        "ERR invalid expire time in '{}' command",
        command.to_ascii_lowercase()
    ))
}

/// Parses an `i64` the way Redis's `string2ll` does: optional `-`, no `+`, no leading zeros,
/// no spaces, at most 20 characters. Stored counters and arguments both go through it, so
/// `INCR` on `" 1"` or `"01"` fails exactly as in Redis.
pub(crate) fn parse_i64_strict(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    if bytes == b"0" {
        return Some(0);
    }
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut value: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(d - b'0');
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

/// An argument as a strict `i64`, or Redis's not-an-integer error.
pub(crate) fn arg_i64(arg: &[u8]) -> Result<i64, Frame> {
    parse_i64_strict(arg).ok_or_else(|| Frame::error(NOT_INTEGER))
}

/// Milliseconds since the Unix epoch, for `EXPIREAT`, `PXAT` and `EXPIRETIME`. Entries keep
/// relative deadlines on a monotonic clock, so absolute times are converted at the edge.
pub(crate) fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A live string's bytes; `Err(WRONGTYPE)` for another kind. Counts a hit or miss.
pub(crate) fn get_string(cache: &Cache, key: &[u8]) -> Result<Option<Bytes>, Frame> {
    match cache
        .plain()
        .get_typed_with(key, |kind, value| (kind, Bytes::copy_from_slice(value)))
    {
        None => Ok(None),
        Some((Kind::String, value)) => Ok(Some(value)),
        Some(_) => Err(wrongtype()),
    }
}

/// The `QUOTA` error when a value would exceed the cache's size limit, else `None`.
pub(crate) fn too_large(cache: &Cache, len: usize) -> Option<Frame> {
    (len > cache.max_value_bytes()).then(|| {
        Frame::error(format!(
            "QUOTA value of {len} bytes exceeds the limit of {} bytes",
            cache.max_value_bytes()
        ))
    })
}

/// Turns `Result<Frame, Frame>` (the error being a reply too) into the reply.
pub(crate) fn either(result: Result<Frame, Frame>) -> Frame {
    result.unwrap_or_else(|e| e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers_follow_redis() {
        assert_eq!(parse_i64_strict(b"0"), Some(0));
        assert_eq!(parse_i64_strict(b"-12"), Some(-12));
        assert_eq!(parse_i64_strict(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_strict(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"-0",
            b"-",
            b"1.0",
            b"9223372036854775808",
        ] {
            assert_eq!(
                parse_i64_strict(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

/// When a write makes its key expire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// In this many milliseconds (at least 1).
    In(u64),
    /// The time has already passed: the write leaves no key, as in Redis.
    Past,
}

/// Reads the amount after `EX`/`PX`/`EXAT`/`PXAT` with `SET`'s and `GETEX`'s range checks:
/// positive, no overflow once converted to absolute milliseconds. `option` is upper case.
pub(crate) fn set_expiry(option: &str, amount: &[u8], command: &str) -> Result<Expiry, Frame> {
    let amount = arg_i64(amount)?;
    let seconds = option == "EX" || option == "EXAT";
    if amount <= 0 || (seconds && amount > i64::MAX / 1000) {
        return Err(invalid_expire(command));
    }
    let ms = if seconds { amount * 1000 } else { amount };
    let now = unix_ms();
    let when = if option == "EX" || option == "PX" {
        ms.checked_add(now).ok_or_else(|| invalid_expire(command))?
    } else {
        ms
    };
    Ok(relative(when, now))
}

/// An absolute Unix time in ms as an [`Expiry`] from `now`.
pub(crate) fn relative(when: i64, now: i64) -> Expiry {
    match when.checked_sub(now) {
        Some(left) if left > 0 => Expiry::In(left as u64),
        _ => Expiry::Past,
    }
}
