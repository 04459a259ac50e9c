//! `CACHE.VALIDATE <cache> <value>`: would this value be stored? Replies with
//! every reason it would be refused (an empty array: it would be stored),
//! without storing it, so plugin authors and conformance suites can probe a
//! definition's rules on a live server.

use super::Session;
use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let value = parse.next_bytes()?;
    parse.finish()?;
    let msgpack = match super::value_msgpack(cache, session, &value) {
        Ok(m) => m,
        Err(frame) => return Ok(frame),
    };
    let handle = cache.clone();
    Ok(
        match super::off_async(cache, move || handle.check_value(&name, &msgpack)).await {
            Ok(Ok(Ok(()))) => Frame::Array(Vec::new()),
            Ok(Ok(Err(reasons))) => Frame::Array(reasons.into_iter().map(Frame::bulk).collect()),
            Ok(Err(e)) => super::error_frame(&e),
            Err(frame) => frame,
        },
    )
}
