//! `TTL key` / `PTTL key`: -2 when missing, -1 without expiry, else the time left.

use crate::cache::Cache;
use hoard_l1::Ttl;
use hoard_resp::{Frame, Parse, ParseError};

/// The unit of the reply.
pub(super) enum Unit {
    Seconds,
    Millis,
}

pub(super) fn run(parse: &mut Parse, cache: &Cache, unit: Unit) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    parse.finish()?;
    let reply = match cache.plain().ttl(&key) {
        Ttl::Missing => -2,
        Ttl::Persistent => -1,
        Ttl::RemainingMs(ms) => {
            let value = match unit {
                // Redis rounds to the nearest second.
                Unit::Seconds => (ms + 500) / 1000,
                Unit::Millis => ms,
            };
            i64::try_from(value).unwrap_or(i64::MAX)
        }
    };
    Ok(Frame::Integer(reply))
}
