//! `SET key value [EX seconds | PX milliseconds] [NX | XX] [GET]` on the plain keyspace.

use bytes::Bytes;

use crate::cache::Cache;
use hoard_l1::{InsertResult, SetCondition};
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let key = parse.next_bytes()?;
    let value = parse.next_bytes()?;
    let mut ttl_ms: Option<u64> = None;
    let mut condition = SetCondition::Always;
    let mut return_old = false;
    while parse.remaining() > 0 {
        let option = parse.next_string()?.to_ascii_uppercase();
        match option.as_str() {
            "EX" | "PX" if ttl_ms.is_none() => {
                let amount = parse.next_i64()?;
                let Some(ms) = positive_ms(amount, option == "EX") else {
                    return Ok(Frame::error("ERR invalid expire time in 'set' command"));
                };
                ttl_ms = Some(ms);
            }
            "NX" if matches!(condition, SetCondition::Always) => condition = SetCondition::IfAbsent,
            "XX" if matches!(condition, SetCondition::Always) => {
                condition = SetCondition::IfPresent
            }
            "GET" => return_old = true,
            _ => return Err(ParseError::Syntax),
        }
    }
    if value.len() > cache.max_value_bytes() {
        return Ok(Frame::error(format!(
            "QUOTA value of {} bytes exceeds the limit of {} bytes",
            value.len(),
            cache.max_value_bytes()
        )));
    }
    let table = cache.plain();
    let old = if return_old { table.get(&key) } else { None };
    let result = table.insert(&key, &value, ttl_ms, condition);
    Ok(match (return_old, result) {
        (true, _) => old.map_or(Frame::Null, |v| Frame::Bulk(Bytes::from(v))),
        (false, InsertResult::ConditionNotMet) => Frame::Null,
        (false, _) => Frame::ok(),
    })
}

/// Seconds or milliseconds to milliseconds; `None` for zero, negative or overflowing.
pub(super) fn positive_ms(amount: i64, seconds: bool) -> Option<u64> {
    let amount = u64::try_from(amount).ok().filter(|a| *a > 0)?;
    if seconds {
        amount.checked_mul(1000)
    } else {
        Some(amount)
    }
}
