//! `CACHE.GET <cache> <part> [<part> ...]`: the value under the generated
//! key, as JSON text (or MessagePack), or null on a miss. A stored null
//! comes back as the JSON text `null`, never as a miss.

use super::Session;
use crate::cache::Cache;
use crate::cache::outcome::Lookup;
use crate::cache::tiered::Served;
use crate::cache::transcode;
use hoard_resp::{Frame, Parse, ParseError};

/// `track` remembers the read for client tracking (given the cache name and entry key).
pub(super) async fn run(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
    track: impl FnOnce(&str, &str),
) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    let read = cache.get_reading(&name, parts, |key| track(&name, key));
    Ok(super::answer(read.await, |lookup| {
        value_frame(session, lookup)
    }))
}

/// `CACHE.GETMETA <cache> <part> ...`: like `CACHE.GET`, as a two-element
/// array `[value, level]` where level is `l1`, `l2`, `stale` (served past
/// its freshness because L2 could not answer) or `none`.
pub(super) async fn run_meta(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
    track: impl FnOnce(&str, &str),
) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    Ok(super::answer(
        cache.get_meta(&name, parts, |key| track(&name, key)).await,
        |Served { lookup, level }| {
            Frame::Array(vec![
                value_frame(session, lookup),
                Frame::bulk(level.name()),
            ])
        },
    ))
}

fn value_frame(session: &Session, lookup: Lookup) -> Frame {
    match lookup {
        Lookup::Hit(msgpack) => match transcode::from_msgpack(session.format, msgpack) {
            Ok(bytes) => Frame::Bulk(bytes.into()),
            Err(e) => super::error_frame(&e.into()),
        },
        Lookup::Miss => Frame::Null,
    }
}
