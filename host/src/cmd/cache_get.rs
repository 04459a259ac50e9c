//! `CACHE.GET <cache> <part> [<part> ...]`: the value under the generated
//! key, as JSON text (or MessagePack), or null on a miss. A stored null
//! comes back as the JSON text `null`, never as a miss.
//!
//! A memoized pure key is served inline; only a key the plugin must make
//! goes to the blocking pool.

use super::Session;
use crate::cache::Cache;
use crate::cache::error::CacheError;
use crate::cache::outcome::{Level, Outcome};
use crate::cache::tiered::Served;
use crate::cache::transcode;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    if cache.uses_l2(&name) {
        return Ok(match tiered(cache, name, parts).await {
            Ok(Ok(served)) => value_frame(session, served.outcome),
            Ok(Err(e)) => super::error_frame(&e),
            Err(frame) => frame,
        });
    }
    let result = match cache.get_without_plugin(&name, &parts) {
        Some(result) => result,
        None => {
            let handle = cache.clone();
            match super::off_async(cache, move || handle.get(&name, &parts)).await {
                Ok(result) => result,
                Err(frame) => return Ok(frame),
            }
        }
    };
    Ok(match result {
        Ok(outcome) => value_frame(session, outcome),
        Err(e) => super::error_frame(&e),
    })
}

/// `CACHE.GETMETA <cache> <part> ...`: like `CACHE.GET`, as a two-element
/// array `[value, level]` where level is `l1`, `l2`, `stale` (served past
/// its freshness because L2 could not answer) or `none`.
pub(super) async fn run_meta(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let parts = super::key_parts(parse)?;
    let served = if cache.uses_l2(&name) {
        match tiered(cache, name, parts).await {
            Ok(result) => result,
            Err(frame) => return Ok(frame),
        }
    } else {
        let handle = cache.clone();
        match super::off_async(cache, move || handle.get(&name, &parts)).await {
            Ok(result) => result.map(|outcome| Served {
                level: if matches!(outcome, Outcome::Hit(_)) {
                    Level::L1
                } else {
                    Level::None
                },
                outcome,
            }),
            Err(frame) => return Ok(frame),
        }
    };
    Ok(match served {
        Ok(served) => Frame::Array(vec![
            value_frame(session, served.outcome),
            Frame::bulk(served.level.name()),
        ]),
        Err(e) => super::error_frame(&e),
    })
}

/// The two-level read: the key (from the memo, or the plugin off the
/// async threads), then L1 / L2.
async fn tiered(
    cache: &Cache,
    name: String,
    parts: Vec<String>,
) -> Result<Result<Served, CacheError>, Frame> {
    let key = match cache.key_without_plugin(&name, &parts) {
        Some(key) => key,
        None => {
            let handle = cache.clone();
            let for_key = name.clone();
            super::off_async(cache, move || handle.key(&for_key, &parts)).await?
        }
    };
    Ok(match key {
        Ok(key) => cache.tiered_get(&name, &key).await,
        Err(e) => Err(e),
    })
}

fn value_frame(session: &Session, outcome: Outcome) -> Frame {
    match outcome {
        Outcome::Hit(msgpack) => match transcode::from_msgpack(session.format, msgpack) {
            Ok(bytes) => Frame::Bulk(bytes.into()),
            Err(e) => super::error_frame(&e.into()),
        },
        _ => Frame::Null,
    }
}
