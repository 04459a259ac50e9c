//! `CACHE.DEL <cache> <part> [<part> ...]`: removes one entry; replies 1 or 0.

use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    Ok(super::answer(cache.remove(&name, parts).await, |n| {
        Frame::Integer(i64::try_from(n).unwrap_or(i64::MAX))
    }))
}
