//! `DEBUG POPULATE count [prefix] [size]`: fills the plain keyspace with
//! `prefix:N` keys, as Redis does, so memory and speed can be compared with
//! `redis-server` on identical data. Other `DEBUG` subcommands are refused.

use crate::cache::Cache;
use hoard_l1::SetCondition;
use hoard_resp::{Frame, Parse, ParseError};

/// Largest count accepted, so a typo cannot exhaust memory in one command.
const MAX_POPULATE: u64 = 100_000_000;

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let sub = parse.next_string()?.to_ascii_uppercase();
    if sub != "POPULATE" {
        let _ = parse.rest();
        return Ok(Frame::error(format!(
            "ERR DEBUG {} is not supported (only POPULATE)",
            sub.to_ascii_lowercase()
        )));
    }
    let count = parse.next_u64()?;
    let prefix = if parse.remaining() > 0 {
        parse.next_string()?
    } else {
        "key".to_owned()
    };
    let size = if parse.remaining() > 0 {
        Some(parse.next_u64()?)
    } else {
        None
    };
    parse.finish()?;
    if count > MAX_POPULATE {
        return Ok(Frame::error(format!("ERR count must be <= {MAX_POPULATE}")));
    }
    let size = usize::try_from(size.unwrap_or(0)).unwrap_or(usize::MAX);
    if size > cache.max_value_bytes() {
        return Ok(Frame::error("ERR size exceeds the value limit"));
    }
    let table = cache.plain();
    for n in 0..count {
        let key = format!("{prefix}:{n}");
        // Redis only adds keys that do not exist yet, and pads "value:N" to `size`.
        let mut value = format!("value:{n}").into_bytes();
        if size > 0 {
            value.resize(size, 0);
        }
        table.insert(key.as_bytes(), &value, None, SetCondition::IfAbsent);
    }
    Ok(Frame::ok())
}
