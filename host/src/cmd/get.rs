//! `GET key`: the plain keyspace (raw bytes, no definition).

use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    parse.finish()?;
    Ok(super::bulk_or_null(cache.plain().get(&key)))
}
