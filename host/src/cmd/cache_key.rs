//! `CACHE.KEY <cache> <part> [<part> ...]`: shows the key the plugin makes,
//! without touching the store (for debugging key schemes).

use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    Ok(super::answer(cache.key(&name, parts).await, Frame::bulk))
}
