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
    let handle = cache.clone();
    Ok(
        match super::off_async(cache, move || {
            handle.publish_event_with_effects(&event, &msgpack)
        })
        .await
        {
            Ok(Ok((outcome, effects))) => {
                // With L2: the same removals in Redis and on every node.
                cache.tiered_effects(effects).await;
                super::invalidation_frame(&outcome)
            }
            Ok(Err(e)) => super::error_frame(&e),
            Err(frame) => frame,
        },
    )
}
