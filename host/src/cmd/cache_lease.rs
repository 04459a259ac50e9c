//! `CACHE.LEASE <cache> <part> ...` and `CACHE.FILL <cache> <token> <value>
//! <part> ...`: cache-aside with leases, for clients that load from their
//! own repository (memcache's leases, NSDI 2013).
//!
//! `CACHE.LEASE` answers a two-element array: `[hit, value]` when the entry
//! is there; `[lease, token]` to exactly one caller on a miss, who loads
//! and fills; `[stale, value]` to the others while the lease is held, when
//! a recently expired value is kept; `[wait, ms]` otherwise (retry within
//! that time). `CACHE.FILL` stores only if no invalidation, write or delete
//! of the key happened since the token was given: `:1` stored, `:0` refused
//! (the value read before the change is not cached: no stale set).

use super::Session;
use crate::cache::Cache;
use crate::cache::read_through::{Filled, LeaseAnswer};
use crate::cache::transcode;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn lease(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    Ok(super::answer(cache.lease(&name, parts).await, |answer| {
        let value = |msgpack: Vec<u8>| match transcode::from_msgpack(session.format, msgpack) {
            Ok(bytes) => Frame::Bulk(bytes.into()),
            Err(e) => super::error_frame(&e.into()),
        };
        let (tag, second) = match answer {
            LeaseAnswer::Hit(v) => ("hit", value(v)),
            LeaseAnswer::Stale(v) => ("stale", value(v)),
            LeaseAnswer::Granted(token) => ("lease", Frame::bulk(token.to_string())),
            LeaseAnswer::Wait(ms) => (
                "wait",
                Frame::Integer(i64::try_from(ms).unwrap_or(i64::MAX)),
            ),
        };
        Frame::Array(vec![Frame::bulk(tag), second])
    }))
}

pub(super) async fn fill(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let token = parse.next_string()?;
    let Ok(token) = token.parse::<u64>() else {
        return Ok(Frame::error("ERR the lease token is not a number"));
    };
    let (msgpack, parts) = match super::value_and_parts(parse, cache, session)? {
        Ok(read) => read,
        Err(frame) => return Ok(frame),
    };
    Ok(super::answer(
        cache.fill(&name, token, msgpack, parts, None).await,
        |filled| match filled {
            Filled::Stored => Frame::Integer(1),
            Filled::Refused => Frame::Integer(0),
            Filled::Rejected(errors) => super::rejected_frame(&errors),
        },
    ))
}
