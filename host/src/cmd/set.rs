//! `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]` and its older spellings
//! `SETNX`, `SETEX`, `PSETEX`, `GETSET`, on the plain keyspace.

use bytes::Bytes;

use super::value::{self, Expiry};
use crate::cache::Cache;
use hoard_l1::{Kind, TtlChange, Write};
use hoard_resp::{Frame, Parse, ParseError};

/// Which existing entry a `SET` needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Condition {
    Always,
    IfAbsent,
    IfPresent,
}

/// What a `SET` does to the expiry.
#[derive(Clone, Copy)]
enum NewTtl {
    Persist,
    Keep,
    At(Expiry),
}

/// A parsed `SET`.
struct SetArgs {
    key: Bytes,
    value: Bytes,
    condition: Condition,
    ttl: NewTtl,
    get: bool,
}

/// How the write went.
enum Outcome {
    Written(Option<Bytes>),
    NotMet(Option<Bytes>),
    WrongType,
}

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let value = parse.next_bytes()?;
    let mut args = SetArgs {
        key,
        value,
        condition: Condition::Always,
        ttl: NewTtl::Persist,
        get: false,
    };
    let mut ttl_given = false;
    while parse.remaining() > 0 {
        let option = parse.next_string()?.to_ascii_uppercase();
        match option.as_str() {
            "NX" | "XX" if args.condition == Condition::Always => {
                args.condition = if option == "NX" {
                    Condition::IfAbsent
                } else {
                    Condition::IfPresent
                };
            }
            "GET" if !args.get => args.get = true,
            "KEEPTTL" if !ttl_given => {
                ttl_given = true;
                args.ttl = NewTtl::Keep;
            }
            "EX" | "PX" | "EXAT" | "PXAT" if !ttl_given => {
                ttl_given = true;
                let amount = parse.next_bytes().map_err(|_| ParseError::Syntax)?;
                match value::set_expiry(&option, &amount, "set") {
                    Ok(at) => args.ttl = NewTtl::At(at),
                    Err(frame) => return Ok(frame),
                }
            }
            _ => return Err(ParseError::Syntax),
        }
    }
    Ok(set(cache, args))
}

fn set(cache: &Cache, args: SetArgs) -> Frame {
    if let Some(error) = value::too_large(cache, args.value.len()) {
        return error;
    }
    let SetArgs {
        key,
        value,
        condition,
        ttl,
        get,
    } = args;
    let outcome = cache.plain().update(&key, |found| {
        let old = match found {
            Some(f) if get && f.kind != Kind::String => return (Write::Keep, Outcome::WrongType),
            Some(f) if get => Some(Bytes::copy_from_slice(f.value)),
            _ => None,
        };
        let met = match condition {
            Condition::Always => true,
            Condition::IfAbsent => found.is_none(),
            Condition::IfPresent => found.is_some(),
        };
        if !met {
            return (Write::Keep, Outcome::NotMet(old));
        }
        let ttl = match ttl {
            NewTtl::Persist => TtlChange::Persist,
            NewTtl::Keep => TtlChange::Keep,
            NewTtl::At(Expiry::In(ms)) => TtlChange::In(ms),
            NewTtl::At(Expiry::Past) => return (Write::Remove, Outcome::Written(old)),
        };
        let write = Write::Value {
            kind: Kind::String,
            value: value.to_vec(),
            ttl,
        };
        (write, Outcome::Written(old))
    });
    match (outcome, get) {
        (Outcome::WrongType, _) => value::wrongtype(),
        (Outcome::Written(old) | Outcome::NotMet(old), true) => super::bulk_or_null_bytes(old),
        (Outcome::Written(_), false) => Frame::ok(),
        (Outcome::NotMet(_), false) => Frame::Null,
    }
}

/// `SETNX key value`: 1 when written, 0 when the key existed.
pub(super) fn setnx(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let value = parse.next_bytes()?;
    parse.finish()?;
    let args = SetArgs {
        key,
        value,
        condition: Condition::IfAbsent,
        ttl: NewTtl::Persist,
        get: false,
    };
    Ok(match set(cache, args) {
        Frame::Simple(_) => Frame::Integer(1),
        Frame::Null => Frame::Integer(0),
        other => other,
    })
}

/// `SETEX key seconds value` / `PSETEX key ms value`.
pub(super) fn setex(parse: &mut Parse, cache: &Cache, millis: bool) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let amount = parse.next_bytes()?;
    let value = parse.next_bytes()?;
    parse.finish()?;
    let (option, command) = if millis {
        ("PX", "psetex")
    } else {
        ("EX", "setex")
    };
    let at = match value::set_expiry(option, &amount, command) {
        Ok(at) => at,
        Err(frame) => return Ok(frame),
    };
    let args = SetArgs {
        key,
        value,
        condition: Condition::Always,
        ttl: NewTtl::At(at),
        get: false,
    };
    Ok(set(cache, args))
}

/// `GETSET key value`: `SET key value GET`.
pub(super) fn getset(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let value = parse.next_bytes()?;
    parse.finish()?;
    let args = SetArgs {
        key,
        value,
        condition: Condition::Always,
        ttl: NewTtl::Persist,
        get: true,
    };
    Ok(set(cache, args))
}
