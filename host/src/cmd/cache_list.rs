//! `CACHE.LIST`: every loaded definition, short name to versioned id.

use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    parse.finish()?;
    Ok(Frame::Map(
        cache
            .list()
            .into_iter()
            .map(|(name, id)| (Frame::bulk(name), Frame::bulk(id)))
            .collect(),
    ))
}
