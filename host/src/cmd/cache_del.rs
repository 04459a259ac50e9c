//! `CACHE.DEL <cache> <part> [<part> ...]`: removes one entry; replies 1 or 0.

use crate::cache::Cache;
use crate::cache::outcome::Outcome;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    let handle = cache.clone();
    let result = if cache.uses_l2(&name) {
        let key = match cache.key_without_plugin(&name, &parts) {
            Some(key) => key,
            None => {
                let for_key = name.clone();
                match super::off_async(cache, move || handle.key(&for_key, &parts)).await {
                    Ok(key) => key,
                    Err(frame) => return Ok(frame),
                }
            }
        };
        match key {
            Ok(key) => cache.tiered_remove(&name, &key).await,
            Err(e) => Err(e),
        }
    } else {
        match super::off_async(cache, move || handle.remove(&name, &parts)).await {
            Ok(result) => result,
            Err(frame) => return Ok(frame),
        }
    };
    Ok(match result {
        Ok(Outcome::Invalidated { count, .. }) => Frame::Integer(count as i64),
        Ok(other) => Frame::Simple(other.code().to_owned()),
        Err(e) => super::error_frame(&e),
    })
}
