//! `TTL`/`PTTL key` (-2 when missing, -1 without expiry, else the time left) and
//! `EXPIRETIME`/`PEXPIRETIME key` (the same, as an absolute Unix time; within a millisecond,
//! since entries keep deadlines on the monotonic clock rather than the wall clock).

use super::value;
use crate::cache::Cache;
use hoard_l1::Ttl;
use hoard_resp::{Frame, Parse, ParseError};

/// The unit of the reply, and whether it is an absolute time.
pub(super) enum Unit {
    Seconds,
    Millis,
    UnixSeconds,
    UnixMillis,
}

pub(super) fn run(parse: &mut Parse, cache: &Cache, unit: Unit) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    parse.finish()?;
    let reply = match cache.plain().ttl(&key) {
        Ttl::Missing => -2,
        Ttl::Persistent => -1,
        Ttl::RemainingMs(ms) => {
            let ms = i64::try_from(ms).unwrap_or(i64::MAX);
            match unit {
                // Redis rounds to the nearest second.
                Unit::Seconds => (ms + 500) / 1000,
                Unit::Millis => ms,
                // Redis rounds this one to the nearest second too (`PXAT 99999999999999` is
                // 100000000000), which also absorbs the millisecond the monotonic clock may
                // lose, so `EXPIREAT t` answers exactly `t`.
                Unit::UnixSeconds => value::unix_ms().saturating_add(ms).saturating_add(500) / 1000,
                Unit::UnixMillis => value::unix_ms().saturating_add(ms),
            }
        }
    };
    Ok(Frame::Integer(reply))
}
