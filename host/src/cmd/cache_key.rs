//! `CACHE.KEY <cache> <part> [<part> ...]`: shows the key the plugin makes,
//! without touching the store (for debugging key schemes).

use crate::cache::Cache;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    let handle = cache.clone();
    Ok(
        match super::off_async(cache, move || handle.key(&name, &parts)).await {
            Ok(Ok(key)) => Frame::bulk(key),
            Ok(Err(e)) => super::error_frame(&e),
            Err(frame) => frame,
        },
    )
}
