//! `CACHE.GET <cache> <part> [<part> ...]`: the value under the generated
//! key, as JSON text (or MessagePack), or null on a miss. A stored null
//! comes back as the JSON text `null`, never as a miss.
//!
//! A memoized pure key is served inline; only a key the plugin must make
//! goes to the blocking pool.

use super::Session;
use crate::cache::Cache;
use crate::cache::outcome::Outcome;
use crate::cache::transcode;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    let result = match cache.get_without_plugin(&name, &parts) {
        Some(result) => result,
        None => {
            let handle = cache.clone();
            match super::off_async(cache, move || handle.get(&name, &parts)).await {
                Ok(result) => result,
                Err(frame) => return Ok(frame),
            }
        }
    };
    Ok(match result {
        Ok(Outcome::Hit(msgpack)) => match transcode::from_msgpack(session.format, msgpack) {
            Ok(bytes) => Frame::Bulk(bytes.into()),
            Err(e) => super::error_frame(&e.into()),
        },
        Ok(_) => Frame::Null,
        Err(e) => super::error_frame(&e),
    })
}
