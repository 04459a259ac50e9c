//! `EXISTS key [key ...]`: how many of the keys are live (repeats count twice, as in Redis).

use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let mut live = 0i64;
    let first = parse.next_bytes()?;
    live += i64::from(cache.plain().contains(&first));
    while parse.remaining() > 0 {
        live += i64::from(cache.plain().contains(&parse.next_bytes()?));
    }
    Ok(Frame::Integer(live))
}
