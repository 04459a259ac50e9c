//! `EXPIRE`/`PEXPIRE key time` and `EXPIREAT`/`PEXPIREAT key unix-time`, each with
//! `NX|XX|GT|LT`, and `PERSIST key`, on the plain keyspace. A time already past deletes the
//! key, as in Redis; a time that overflows is `ERR invalid expire time in '<cmd>' command`.

use super::value::{self, Expiry};
use crate::cache::Cache;
use hoard_l1::{TtlChange, Write};
use hoard_resp::{Frame, Parse, ParseError};

/// The unit of the command's time argument and whether it is absolute.
#[derive(Clone, Copy)]
pub(super) enum Unit {
    Seconds,
    Millis,
    UnixSeconds,
    UnixMillis,
}

/// The `NX|XX|GT|LT` conditions.
#[derive(Default)]
struct Flags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

pub(super) fn run(parse: &mut Parse, cache: &Cache, unit: Unit) -> Result<Frame, ParseError> {
    let command = parse.command_name().to_ascii_lowercase();
    let key = parse.next_bytes()?;
    let amount = parse.next_bytes()?;
    let mut flags = Flags::default();
    while parse.remaining() > 0 {
        let option = parse.next_string()?;
        match option.to_ascii_uppercase().as_str() {
            "NX" => flags.nx = true,
            "XX" => flags.xx = true,
            "GT" => flags.gt = true,
            "LT" => flags.lt = true,
            _ => return Ok(Frame::error(format!("ERR Unsupported option {option}"))),
        }
    }
    if flags.nx && (flags.xx || flags.gt || flags.lt) {
        return Ok(Frame::error(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if flags.gt && flags.lt {
        return Ok(Frame::error(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let amount = match value::arg_i64(&amount) {
        Ok(a) => a,
        Err(frame) => return Ok(frame),
    };
    let now = value::unix_ms();
    let when = match absolute_ms(amount, unit, now) {
        Some(when) => when,
        None => return Ok(value::invalid_expire(&command)),
    };
    Ok(cache.plain().update(&key, |found| {
        let Some(found) = found else {
            return (Write::Keep, Frame::Integer(0));
        };
        // Current deadline in Unix ms; `None` = never expires (infinite for GT/LT).
        let current = found
            .ttl_ms
            .map(|ms| now.saturating_add(i64::try_from(ms).unwrap_or(i64::MAX)));
        let refused = (flags.nx && current.is_some())
            || (flags.xx && current.is_none())
            || (flags.gt && current.is_none_or(|c| when <= c))
            || (flags.lt && current.is_some_and(|c| when >= c));
        if refused {
            return (Write::Keep, Frame::Integer(0));
        }
        let write = match value::relative(when, now) {
            Expiry::In(ms) => Write::Ttl(TtlChange::In(ms)),
            Expiry::Past => Write::Remove,
        };
        (write, Frame::Integer(1))
    }))
}

/// The deadline in Unix ms, or `None` when it overflows (Redis's range check).
fn absolute_ms(amount: i64, unit: Unit, now: i64) -> Option<i64> {
    let ms = match unit {
        Unit::Seconds | Unit::UnixSeconds => amount.checked_mul(1000)?,
        Unit::Millis | Unit::UnixMillis => amount,
    };
    match unit {
        Unit::Seconds | Unit::Millis => ms.checked_add(now),
        Unit::UnixSeconds | Unit::UnixMillis => Some(ms),
    }
}

/// `PERSIST key`: 1 when a TTL was removed.
pub(super) fn persist(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    parse.finish()?;
    Ok(cache.plain().update(&key, |found| match found {
        Some(f) if f.ttl_ms.is_some() => (Write::Ttl(TtlChange::Persist), Frame::Integer(1)),
        _ => (Write::Keep, Frame::Integer(0)),
    }))
}
