//! `CACHE.EVENT <event> <payload>`: publishes a domain event; replies with
//! the outcome, the number of entries removed, the count per cache and any
//! cache that failed to answer.

use super::Session;
use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
) -> Result<Frame, ParseError> {
    let event = parse.next_string()?;
    let payload = parse.next_bytes()?;
    parse.finish()?;
    let msgpack = match super::value_msgpack(cache, session, &payload) {
        Ok(m) => m,
        Err(frame) => return Ok(frame),
    };
    Ok(super::answer(
        cache.publish_event(event, msgpack).await,
        |outcome| super::invalidation_frame(&outcome),
    ))
}
