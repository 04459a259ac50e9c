//! `CLIENT SETNAME|GETNAME|ID|SETINFO|INFO|LIST|NO-EVICT|NO-TOUCH`: the parts
//! clients send on connect. Anything else is a clear error.

use super::Session;
use hoard_resp::{Frame, Parse, ParseError};

pub(super) fn run(parse: &mut Parse, session: &mut Session) -> Result<Frame, ParseError> {
    let sub = parse.next_string()?.to_ascii_uppercase();
    let frame = match sub.as_str() {
        "SETNAME" => {
            let name = parse.next_string()?;
            if name.contains(' ') {
                return Ok(Frame::error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            session.name = (!name.is_empty()).then_some(name);
            Frame::ok()
        }
        "GETNAME" => session.name.clone().map_or(Frame::Null, Frame::bulk),
        "ID" => Frame::Integer(session.id as i64),
        "SETINFO" | "NO-EVICT" | "NO-TOUCH" => {
            let _ = parse.rest();
            Frame::ok()
        }
        "INFO" | "LIST" => Frame::bulk(format!(
            "id={} name={} age={} resp={}\n",
            session.id,
            session.name.as_deref().unwrap_or(""),
            session.started.elapsed().as_secs(),
            match session.protocol {
                hoard_resp::Protocol::Resp2 => 2,
                hoard_resp::Protocol::Resp3 => 3,
            }
        )),
        other => Frame::error(format!(
            "ERR unknown subcommand '{}'",
            other.to_ascii_lowercase()
        )),
    };
    parse.finish()?;
    Ok(frame)
}
