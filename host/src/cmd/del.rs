//! `DEL key [key ...]` on the plain keyspace; replies with how many existed.

use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let mut removed = 0i64;
    let first = parse.next_bytes()?;
    removed += i64::from(cache.plain().remove(&first));
    while parse.remaining() > 0 {
        removed += i64::from(cache.plain().remove(&parse.next_bytes()?));
    }
    Ok(Frame::Integer(removed))
}
