//! `COMMAND [COUNT|DOCS|INFO ...]`: just enough for `redis-cli` and
//! `redis-benchmark` to start cleanly. hoard does not publish command tables.

use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse) -> Result<Frame, ParseError> {
    let sub = if parse.remaining() > 0 {
        parse.next_string()?.to_ascii_uppercase()
    } else {
        String::new()
    };
    let _ = parse.rest();
    Ok(match sub.as_str() {
        "COUNT" => Frame::Integer(0),
        "DOCS" => Frame::Map(vec![]),
        _ => Frame::Array(vec![]),
    })
}
