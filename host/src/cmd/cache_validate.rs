//! `CACHE.VALIDATE <cache> <value>`: would this value be stored? Replies with
//! every reason it would be refused (an empty array: it would be stored),
//! without storing it, so plugin authors and conformance suites can probe a
//! definition's rules on a live server.

use super::Session;
use crate::cache::Cache;
use crate::cache::outcome::Verdict;
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
    Ok(super::answer(
        cache.validate(&name, msgpack).await,
        |verdict| match verdict {
            Verdict::Accepted => Frame::Array(Vec::new()),
            Verdict::Refused(reasons) => {
                Frame::Array(reasons.into_iter().map(Frame::bulk).collect())
            }
        },
    ))
}
