//! `CACHE.PLAN <cache> <event> <payload>`: what one cache's plugin says an
//! event invalidates (keys, patterns, dependent caches, cascade, reason),
//! without invalidating anything. `CACHE.EVENT` does it for real.

use super::Session;
use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let event = parse.next_string()?;
    let payload = parse.next_bytes()?;
    parse.finish()?;
    let msgpack = match super::value_msgpack(cache, session, &payload) {
        Ok(m) => m,
        Err(frame) => return Ok(frame),
    };
    let list = |items: Vec<String>| Frame::Array(items.into_iter().map(Frame::bulk).collect());
    Ok(super::answer(
        cache.plan(&name, event, msgpack).await,
        |plan| {
            Frame::Map(vec![
                (Frame::bulk("keys"), list(plan.keys)),
                (Frame::bulk("patterns"), list(plan.patterns)),
                (Frame::bulk("dependent-caches"), list(plan.dependent_caches)),
                (Frame::bulk("cascade"), Frame::Boolean(plan.cascade)),
                (Frame::bulk("reason"), Frame::bulk(plan.reason)),
            ])
        },
    ))
}
