//! `ECHO message`: returns the message, for clients that test round trips.

use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse) -> Result<Frame, ParseError> {
    let message = parse.next_bytes()?;
    parse.finish()?;
    Ok(Frame::Bulk(message))
}
