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
                // Deadlines are kept on the monotonic clock, so the Unix time can come back a
                // millisecond early; the +1 keeps `EXPIREAT t` answering exactly `t`.
                Unit::UnixSeconds => (value::unix_ms().saturating_add(ms) + 1) / 1000,
                Unit::UnixMillis => value::unix_ms().saturating_add(ms),
            }
        }
    };
    Ok(Frame::Integer(reply))
}
