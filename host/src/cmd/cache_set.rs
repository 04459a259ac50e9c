//! `CACHE.SET <cache> <value> <part> [<part> ...]` and
//! `CACHE.PSETEX <cache> <ttl-ms> <value> <part> [<part> ...]`: validate a
//! value with the definition's plugin and store it under the generated key.
//! The value is JSON text, or MessagePack after `CACHE.FORMAT MSGPACK`.

use super::Session;
use crate::cache::Cache;
use crate::cache::outcome::Stored;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) async fn run(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
    with_ttl: bool,
) -> Result<Frame, ParseError> {
    let name = parse.next_string()?;
    let ttl_ms = if with_ttl {
        let ttl = parse.next_i64()?;
        match u64::try_from(ttl) {
            Ok(ms) if ms > 0 => Some(ms),
            _ => {
                return Ok(Frame::error(
                    "ERR invalid expire time in 'cache.psetex' command",
                ));
            }
        }
    } else {
        None
    };
    let (msgpack, parts) = match super::value_and_parts(parse, cache, session)? {
        Ok(read) => read,
        Err(frame) => return Ok(frame),
    };
    let stored = cache
        .set_durable_later(&name, msgpack, parts, ttl_ms)
        .await
        .map(|(stored, ack)| {
            // The reply waits for the fsync; the connection meanwhile runs
            // what the client pipelined (see `Reply::durable`).
            if let Some(ack) = ack {
                session.durable.lock().push(ack);
            }
            stored
        });
    Ok(super::answer(stored, |stored| match stored {
        Stored::Stored => Frame::ok(),
        // Kept in L1 and queued for L2: a distinct reply a client can branch on.
        Stored::Partial { .. } => Frame::Simple("PARTIAL".to_owned()),
        Stored::Rejected { errors } => super::rejected_frame(&errors),
    }))
}
