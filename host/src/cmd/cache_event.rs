//! `CACHE.EVENT <event> <payload>`: publishes a domain event; replies with
//! the outcome, the number of entries removed, the count per cache and any
//! cache that failed to answer.

use super::Session;
use crate::cache::Cache;
use crate::resp::{Frame, Parse, ParseError};
use crate::wire;

pub(super) async fn run(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
) -> Result<Frame, ParseError> {
    let event = parse.next_string()?;
    let payload = parse.next_bytes()?;
    parse.finish()?;
    let msgpack = match wire::to_msgpack(session.format, &payload) {
        Ok(m) => m,
        Err(e) => return Ok(super::error_frame(&e.into())),
    };
    let handle = cache.clone();
    Ok(
        match super::off_async(cache, move || handle.publish_event(&event, &msgpack)).await {
            Ok(Ok(outcome)) => super::invalidation_frame(&outcome),
            Ok(Err(e)) => super::error_frame(&e),
            Err(frame) => frame,
        },
    )
}
