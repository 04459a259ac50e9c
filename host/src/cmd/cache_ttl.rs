//! `CACHE.TTL <cache> <part> [<part> ...]`: milliseconds left for the entry
//! (-2 when missing, -1 without expiry), like `PTTL`. Shows the effect of
//! TTL clamping and of sliding expiry.

use crate::cache::Cache;
use hoard_l1::Ttl;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    let handle = cache.clone();
    Ok(
        match super::off_async(cache, move || handle.ttl(&name, &parts)).await {
            Ok(Ok(Ttl::Missing)) => Frame::Integer(-2),
            Ok(Ok(Ttl::Persistent)) => Frame::Integer(-1),
            Ok(Ok(Ttl::RemainingMs(ms))) => Frame::Integer(i64::try_from(ms).unwrap_or(i64::MAX)),
            Ok(Err(e)) => super::error_frame(&e),
            Err(frame) => frame,
        },
    )
}
