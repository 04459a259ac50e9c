//! `CACHE.DLQ LIST [COUNT n] | RETRY <id>... | RETRY ALL | DROP <id>... |
//! DROP ALL`: the tenant's dead letters of write-behind (writes the
//! flusher gave up on). A tenant sees and touches only its own; another
//! tenant's id is answered as if it did not exist.
//!
//! `LIST` answers one map per letter (id, cache, key, origin, sequence,
//! attempts, reason, buried-ms-ago, request); `RETRY` puts letters back in
//! the queue (due now, attempts reset, same sequence, so a newer write of
//! the key still wins at the origin) and `DROP` deletes them; both answer
//! how many they handled, or an error naming the ids they could not.

use crate::cache::Cache;
use crate::origin::OriginRequest;
use crate::write_behind::DeadLetter;
use crate::write_behind::queue::now_ms;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(parse: &mut Parse, cache: &Cache) -> Result<Frame, ParseError> {
    let sub = parse.next_string()?.to_ascii_uppercase();
    match sub.as_str() {
        "LIST" => {
            let mut count = 100usize;
            while parse.remaining() > 0 {
                let option = parse.next_string()?;
                if !option.eq_ignore_ascii_case("COUNT") {
                    return Ok(Frame::error(format!("ERR unknown option `{option}`")));
                }
                match usize::try_from(parse.next_i64()?) {
                    Ok(n) if n > 0 => count = n,
                    _ => return Ok(Frame::error("ERR COUNT must be positive")),
                }
            }
            Ok(super::answer(cache.dead_letters(count).await, |letters| {
                Frame::Array(letters.iter().map(letter_frame).collect())
            }))
        }
        "RETRY" | "DROP" => {
            let ids = match ids(parse)? {
                Ids::All => None,
                Ids::Listed(ids) => Some(ids),
                Ids::Bad(frame) => return Ok(frame),
            };
            let done = if sub == "RETRY" {
                cache.retry_dead(ids).await
            } else {
                cache.drop_dead(ids).await
            };
            Ok(super::answer(done, |(n, errors)| {
                if errors.is_empty() {
                    Frame::Integer(i64::try_from(n).unwrap_or(i64::MAX))
                } else {
                    Frame::error(format!(
                        "ERR {n} done; {}",
                        super::printable(&errors.join("; "), 2048)
                    ))
                }
            }))
        }
        _ => Ok(Frame::error(format!(
            "ERR unknown subcommand `{}` of CACHE.DLQ (LIST, RETRY, DROP)",
            super::printable(&sub, 64)
        ))),
    }
}

/// The letters a `RETRY` or `DROP` names.
enum Ids {
    /// `ALL`.
    All,
    /// One or more numeric ids.
    Listed(Vec<u64>),
    /// An argument that is neither: the error to answer.
    Bad(Frame),
}

/// `ALL` or one or more numeric ids.
fn ids(parse: &mut Parse) -> Result<Ids, ParseError> {
    let first = parse.next_string()?;
    if first.eq_ignore_ascii_case("ALL") {
        return Ok(Ids::All);
    }
    let mut ids = Vec::new();
    let mut next = Some(first);
    while let Some(text) = next {
        match text.parse::<u64>() {
            Ok(id) => ids.push(id),
            Err(_) => {
                return Ok(Ids::Bad(Frame::error(format!(
                    "ERR `{}` is not a dead letter id (or ALL)",
                    super::printable(&text, 64)
                ))));
            }
        }
        next = if parse.remaining() > 0 {
            Some(parse.next_string()?)
        } else {
            None
        };
    }
    Ok(Ids::Listed(ids))
}

fn letter_frame(letter: &DeadLetter) -> Frame {
    let w = &letter.write;
    let int = |n: u64| Frame::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    let request = match &w.request {
        OriginRequest::Sql { statement, params } => {
            format!("sql {statement} ({} parameters)", params.len())
        }
        OriginRequest::Http { method, path, .. } => format!("http {} {path}", method.as_str()),
    };
    Frame::Map(
        [
            ("id", Frame::bulk(letter.id.to_string())),
            ("cache", Frame::bulk(w.slot.cache.clone())),
            ("key", Frame::bulk(w.slot.key.clone())),
            ("origin", Frame::bulk(w.origin.clone())),
            ("sequence", Frame::bulk(w.sequence.to_string())),
            ("attempts", int(u64::from(w.attempts))),
            (
                "attempt-times-ms",
                Frame::Array(w.attempted_ms.iter().map(|t| int(*t)).collect()),
            ),
            ("reason", Frame::bulk(letter.reason.clone())),
            (
                "buried-ms-ago",
                int(now_ms().saturating_sub(letter.buried_ms)),
            ),
            ("request", Frame::bulk(request)),
        ]
        .into_iter()
        .map(|(k, v)| (Frame::bulk(k), v))
        .collect(),
    )
}
