//! `SCAN cursor [MATCH pattern] [COUNT n] [TYPE t]`, `KEYS pattern` and `RANDOMKEY` over the
//! plain keyspace. `SCAN` visits about `COUNT` slots per call (default 10, as Redis), so a
//! keyspace of millions never blocks a shard for long; its cursor guarantees that a key present
//! for the whole iteration is returned (see `hoard_l1::Table::scan`).

use bytes::Bytes;

use crate::cache::Cache;
use hoard_l1::{Glob, Kind};
use hoard_resp::{Frame, Parse, ParseError};

/// The most slots one `SCAN` call may visit, whatever `COUNT` asks.
const MAX_COUNT: usize = 100_000;

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let cursor = parse.next_bytes()?;
    let Some(cursor) = std::str::from_utf8(&cursor)
        .ok()
        .and_then(|c| c.parse::<u64>().ok())
    else {
        return Ok(Frame::error("ERR invalid cursor"));
    };
    let mut glob: Option<Glob> = None;
    let mut count = 10usize;
    let mut kind: Option<String> = None;
    while parse.remaining() > 0 {
        let option = parse.next_string()?.to_ascii_uppercase();
        let value = parse.next_bytes().map_err(|_| ParseError::Syntax)?;
        match option.as_str() {
            "MATCH" => glob = Some(Glob::new(&value)),
            "COUNT" => match super::value::parse_i64_strict(&value) {
                Some(n) if n >= 1 => count = usize::try_from(n).unwrap_or(MAX_COUNT),
                Some(_) => return Err(ParseError::Syntax),
                None => return Err(ParseError::NotInteger),
            },
            "TYPE" => kind = Some(String::from_utf8_lossy(&value).to_ascii_lowercase()),
            _ => return Err(ParseError::Syntax),
        }
    }
    let mut keys = Vec::new();
    let next = cache
        .plain()
        .scan(cursor, count.min(MAX_COUNT), |key, found_kind| {
            let type_ok = kind.as_deref().is_none_or(|k| k == found_kind.name());
            if type_ok && glob.as_ref().is_none_or(|g| g.matches(key)) {
                keys.push(Frame::Bulk(Bytes::copy_from_slice(key)));
            }
        });
    Ok(Frame::Array(vec![
        Frame::bulk(next.to_string()),
        Frame::Array(keys),
    ]))
}

/// `KEYS pattern`: every live key matching, in one reply.
pub(super) fn keys(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let pattern = parse.next_bytes()?;
    parse.finish()?;
    let glob = Glob::new(&pattern);
    let keys = cache
        .plain()
        .keys_matching(&glob)
        .into_iter()
        .map(|k| Frame::Bulk(Bytes::from(k)))
        .collect();
    Ok(Frame::Array(keys))
}

/// `RANDOMKEY`: a live key, nil when the keyspace is empty. Starts a scan at a random shard
/// position, so it costs a few slots, not the whole keyspace.
pub(super) fn randomkey(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    parse.finish()?;
    let table = cache.plain();
    let shards = table.config().shards.max(1) as u64;
    let mut seed = [0u8; 8];
    let _ = getrandom::fill(&mut seed);
    let start_shard = u64::from_le_bytes(seed) % shards;
    let mut cursor = table.scan_cursor_at_shard(start_shard as usize);
    let mut wrapped = false;
    loop {
        let mut found: Option<Vec<u8>> = None;
        cursor = table.scan(cursor, 16, |key, _| {
            if found.is_none() {
                found = Some(key.to_vec());
            }
        });
        if let Some(key) = found {
            return Ok(Frame::Bulk(Bytes::from(key)));
        }
        if cursor == 0 {
            if wrapped || start_shard == 0 {
                return Ok(Frame::Null);
            }
            wrapped = true;
        }
    }
}

/// `TYPE key`: `string`, `hash`, or `none`.
pub(super) fn key_type(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    parse.finish()?;
    let kind = cache
        .plain()
        .update(&key, |found| (hoard_l1::Write::Keep, found.map(|f| f.kind)));
    Ok(Frame::Simple(kind.map_or("none", Kind::name).to_owned()))
}
