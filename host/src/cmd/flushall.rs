//! `FLUSHALL [ASYNC|SYNC]` / `FLUSHDB`: removes every entry, plain and defined.

use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    if parse.remaining() > 0 {
        let mode = parse.next_string()?.to_ascii_uppercase();
        if mode != "ASYNC" && mode != "SYNC" {
            return Err(ParseError::Syntax);
        }
    }
    parse.finish()?;
    let removed = cache.flush_all();
    tracing::info!(removed, "flushed all entries");
    Ok(Frame::ok())
}
