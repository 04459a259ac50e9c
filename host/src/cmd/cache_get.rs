//! `CACHE.GET <cache> <part> [<part> ...]`: the value under the generated
//! key, as JSON text (or MessagePack), or null on a miss. A stored null
//! comes back as the JSON text `null`, never as a miss.

use super::Session;
use crate::cache::Cache;
use crate::cache::outcome::Lookup;
use crate::cache::transcode;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    Ok(super::answer(
        cache.get(&name, parts).await,
        |lookup| match lookup {
            Lookup::Hit(msgpack) => match transcode::from_msgpack(session.format, msgpack) {
                Ok(bytes) => Frame::Bulk(bytes.into()),
                Err(e) => super::error_frame(&e.into()),
            },
            Lookup::Miss => Frame::Null,
        },
    ))
}
