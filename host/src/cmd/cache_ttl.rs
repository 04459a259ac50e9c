//! `CACHE.TTL <cache> <part> [<part> ...]`: milliseconds left for the entry
//! (-2 when missing, -1 without expiry), like `PTTL`. Shows the effect of
//! TTL clamping and of sliding expiry.

use crate::cache::Cache;
use hoard_l1::Ttl;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    Ok(super::answer(cache.ttl(&name, parts).await, |ttl| {
        Frame::Integer(match ttl {
            Ttl::Missing => -2,
            Ttl::Persistent => -1,
            Ttl::RemainingMs(ms) => i64::try_from(ms).unwrap_or(i64::MAX),
        })
    }))
}
