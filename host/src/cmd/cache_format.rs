//! `CACHE.FORMAT [JSON|MSGPACK]`: how this connection sends and receives
//! definition values. JSON text is the default; MessagePack skips the
//! conversion and is binary-safe. With no argument, shows the current one.

use super::Session;
use crate::cache::transcode::ValueFormat;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, session: &mut Session) -> Result<Frame, ParseError> {
    if parse.remaining() == 0 {
        return Ok(Frame::bulk(match session.format {
            ValueFormat::Json => "json",
            ValueFormat::MsgPack => "msgpack",
        }));
    }
    let format = parse.next_string()?.to_ascii_uppercase();
    parse.finish()?;
    session.format = match format.as_str() {
        "JSON" => ValueFormat::Json,
        "MSGPACK" | "MESSAGEPACK" => ValueFormat::MsgPack,
        _ => return Ok(Frame::error("ERR format must be JSON or MSGPACK")),
    };
    Ok(Frame::ok())
}
