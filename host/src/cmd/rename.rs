//! `RENAME key newkey` (keeps the value's type and TTL, replaces the target) and
//! `TOUCH key [key ...]`. The dispatcher runs `RENAME` under the exclusive keyspace lock.

use crate::cache::Cache;
use hoard_l1::{TtlChange, Write};
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let from = parse.next_bytes()?;
    let to = parse.next_bytes()?;
    parse.finish()?;
    let table = cache.plain();
    if from == to {
        return Ok(if table.contains(&from) {
            Frame::ok()
        } else {
            Frame::error("ERR no such key")
        });
    }
    let taken = table.update(&from, |found| match found {
        Some(f) => (Write::Remove, Some((f.kind, f.value.to_vec(), f.ttl_ms))),
        None => (Write::Keep, None),
    });
    let Some((kind, value, ttl_ms)) = taken else {
        return Ok(Frame::error("ERR no such key"));
    };
    let ttl = ttl_ms.map_or(TtlChange::Persist, TtlChange::In);
    table.update(&to, |_| (Write::Value { kind, value, ttl }, ()));
    Ok(Frame::ok())
}

/// `TOUCH key [key ...]`: how many of the keys exist.
pub(super) fn touch(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let mut keys = vec![parse.next_bytes()?];
    keys.extend(parse.rest());
    let table = cache.plain();
    let live = keys.iter().filter(|k| table.contains(k)).count();
    Ok(Frame::Integer(live as i64))
}
