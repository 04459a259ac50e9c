//! `DBSIZE`: live entries in the plain keyspace (definitions report theirs in `CACHE.INFO`).

use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    parse.finish()?;
    Ok(Frame::Integer(
        i64::try_from(cache.plain().len()).unwrap_or(i64::MAX),
    ))
}
