//! `CACHE.DEL <cache> <part> [<part> ...]`: removes one entry; replies 1 or 0.

use crate::cache::Cache;
use crate::cache::outcome::Outcome;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    let handle = cache.clone();
    let result = match super::off_async(cache, move || handle.remove(&name, &parts)).await {
        Ok(result) => result,
        Err(frame) => return Ok(frame),
    };
    Ok(match result {
        Ok(Outcome::Invalidated { count, .. }) => Frame::Integer(count as i64),
        Ok(other) => Frame::Simple(other.code().to_owned()),
        Err(e) => super::error_frame(&e),
    })
}
