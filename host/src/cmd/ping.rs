//! `PING [message]`: liveness check; echoes the message if one is given.

use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse) -> Result<Frame, ParseError> {
    let reply = match parse.remaining() {
        0 => Frame::Simple("PONG".into()),
        _ => Frame::Bulk(parse.next_bytes()?),
    };
    parse.finish()?;
    Ok(reply)
}
