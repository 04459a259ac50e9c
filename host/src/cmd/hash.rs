//! The hash commands: `HSET`/`HMSET`, `HSETNX`, `HGET`, `HMGET`, `HGETALL`, `HDEL`, `HEXISTS`,
//! `HLEN`, `HINCRBY`, `HKEYS`, `HVALS`. A hash is one entry of kind `Hash` (see
//! `hoard_l1::HashFields`), so size limits, quotas, eviction and expiry apply as to strings;
//! every change is one atomic read-modify-write, and removing the last field deletes the key.

use bytes::Bytes;

use super::value;
use crate::cache::Cache;
use hoard_l1::{Found, HashFields, Kind, TtlChange, Write};
use hoard_resp::{Frame, Parse, ParseError};

/// The decoded hash of `found`; `Ok(None)` when missing, `Err` for another type.
fn fields(found: Option<Found<'_>>) -> Result<Option<HashFields>, Frame> {
    match found {
        None => Ok(None),
        Some(f) if f.kind != Kind::Hash => Err(value::wrongtype()),
        Some(f) => HashFields::decode(f.value)
            .map(Some)
            .ok_or_else(|| Frame::error("ERR corrupt hash value")),
    }
}

/// Stores `hash` (deleting the key when empty), keeping the TTL.
fn store(hash: &HashFields) -> Write {
    if hash.is_empty() {
        return Write::Remove;
    }
    Write::Value {
        kind: Kind::Hash,
        value: hash.encode(),
        ttl: TtlChange::Keep,
    }
}

/// Reads a hash without changing it (counts a keyspace hit or miss).
fn read<R>(
    cache: &Cache,
    key: &[u8],
    f: impl FnOnce(Option<&HashFields>) -> R,
) -> Result<R, Frame> {
    let got = cache.plain().get_typed_with(key, |kind, bytes| {
        (kind == Kind::Hash).then(|| HashFields::decode(bytes))
    });
    match got {
        None => Ok(f(None)),
        Some(None) => Err(value::wrongtype()),
        Some(Some(None)) => Err(Frame::error("ERR corrupt hash value")),
        Some(Some(Some(hash))) => Ok(f(Some(&hash))),
    }
}

/// `HSET key field value [field value ...]` (new fields added) and `HMSET` (`OK`).
pub(super) fn hset(parse: &mut Parse, cache: &Cache, hmset: bool) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let pairs = parse.rest();
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(ParseError::WrongArity(
            parse.command_name().to_ascii_lowercase(),
        ));
    }
    let limit = cache.max_value_bytes();
    Ok(cache.plain().update(&key, |found| {
        let mut hash = match fields(found) {
            Ok(h) => h.unwrap_or_default(),
            Err(e) => return (Write::Keep, e),
        };
        let mut added = 0;
        for pair in pairs.chunks_exact(2) {
            if let [field, val] = pair {
                added += i64::from(hash.set(field, val));
            }
        }
        let bytes = hash.encode();
        if bytes.len() > limit {
            let error = Frame::error(format!(
                "QUOTA value of {} bytes exceeds the limit of {limit} bytes",
                bytes.len()
            ));
            return (Write::Keep, error);
        }
        let write = Write::Value {
            kind: Kind::Hash,
            value: bytes,
            ttl: TtlChange::Keep,
        };
        (
            write,
            if hmset {
                Frame::ok()
            } else {
                Frame::Integer(added)
            },
        )
    }))
}

/// `HSETNX key field value`: 1 when the field was new and set.
pub(super) fn hsetnx(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let field = parse.next_bytes()?;
    let val = parse.next_bytes()?;
    parse.finish()?;
    Ok(cache.plain().update(&key, |found| {
        let mut hash = match fields(found) {
            Ok(h) => h.unwrap_or_default(),
            Err(e) => return (Write::Keep, e),
        };
        if hash.get(&field).is_some() {
            return (Write::Keep, Frame::Integer(0));
        }
        hash.set(&field, &val);
        (store(&hash), Frame::Integer(1))
    }))
}

/// `HGET key field`.
pub(super) fn hget(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let field = parse.next_bytes()?;
    parse.finish()?;
    Ok(value::either(read(cache, &key, |hash| {
        hash.and_then(|h| h.get(&field))
            .map_or(Frame::Null, |v| Frame::Bulk(Bytes::copy_from_slice(v)))
    })))
}

/// `HMGET key field [field ...]`.
pub(super) fn hmget(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let mut wanted = vec![parse.next_bytes()?];
    wanted.extend(parse.rest());
    Ok(value::either(read(cache, &key, |hash| {
        Frame::Array(
            wanted
                .iter()
                .map(|f| {
                    hash.and_then(|h| h.get(f))
                        .map_or(Frame::Null, |v| Frame::Bulk(Bytes::copy_from_slice(v)))
                })
                .collect(),
        )
    })))
}

/// What `HGETALL`, `HKEYS` and `HVALS` return.
#[derive(Clone, Copy)]
pub(super) enum Listing {
    All,
    Keys,
    Values,
}

/// `HGETALL key` (a map in RESP3, flat pairs in RESP2), `HKEYS key`, `HVALS key`.
pub(super) fn list(
    parse: &mut Parse,
    cache: &Cache,
    listing: Listing,
) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    parse.finish()?;
    let bulk = |b: &[u8]| Frame::Bulk(Bytes::copy_from_slice(b));
    Ok(value::either(read(cache, &key, |hash| {
        let pairs = hash.into_iter().flat_map(HashFields::iter);
        match listing {
            Listing::All => Frame::Map(pairs.map(|(f, v)| (bulk(f), bulk(v))).collect()),
            Listing::Keys => Frame::Array(pairs.map(|(f, _)| bulk(f)).collect()),
            Listing::Values => Frame::Array(pairs.map(|(_, v)| bulk(v)).collect()),
        }
    })))
}

/// `HDEL key field [field ...]`: how many fields were removed.
pub(super) fn hdel(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let mut doomed = vec![parse.next_bytes()?];
    doomed.extend(parse.rest());
    Ok(cache.plain().update(&key, |found| {
        let mut hash = match fields(found) {
            Ok(Some(h)) => h,
            Ok(None) => return (Write::Keep, Frame::Integer(0)),
            Err(e) => return (Write::Keep, e),
        };
        let removed = doomed.iter().filter(|f| hash.remove(f)).count();
        let write = if removed == 0 {
            Write::Keep
        } else {
            store(&hash)
        };
        (write, Frame::Integer(removed as i64))
    }))
}

/// `HEXISTS key field` and `HLEN key`.
pub(super) fn hexists(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let field = parse.next_bytes()?;
    parse.finish()?;
    Ok(value::either(read(cache, &key, |hash| {
        Frame::Integer(i64::from(hash.is_some_and(|h| h.get(&field).is_some())))
    })))
}

/// `HLEN key`.
pub(super) fn hlen(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    parse.finish()?;
    Ok(value::either(read(cache, &key, |hash| {
        Frame::Integer(hash.map_or(0, |h| h.len() as i64))
    })))
}

/// `HINCRBY key field increment`.
pub(super) fn hincrby(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let field = parse.next_bytes()?;
    let delta = parse.next_bytes()?;
    parse.finish()?;
    let delta = match value::arg_i64(&delta) {
        Ok(d) => d,
        Err(e) => return Ok(e),
    };
    Ok(cache.plain().update(&key, |found| {
        let mut hash = match fields(found) {
            Ok(h) => h.unwrap_or_default(),
            Err(e) => return (Write::Keep, e),
        };
        let current = match hash.get(&field) {
            None => 0,
            Some(v) => match value::parse_i64_strict(v) {
                Some(n) => n,
                None => {
                    return (
                        Write::Keep,
                        Frame::error("ERR hash value is not an integer"),
                    );
                }
            },
        };
        let Some(next) = current.checked_add(delta) else {
            return (
                Write::Keep,
                Frame::error("ERR increment or decrement would overflow"),
            );
        };
        hash.set(&field, next.to_string().as_bytes());
        (store(&hash), Frame::Integer(next))
    }))
}
