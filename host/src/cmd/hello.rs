//! `HELLO [protover [AUTH user pass] [SETNAME name]]`: protocol negotiation.
//! `HELLO 3` switches the connection to RESP3; the reply is sent in the new
//! protocol, as Redis does.

use super::{Context, Session};
use hoard_resp::{Frame, Parse, ParseError, Protocol};

pub(super) async fn run(
    parse: &mut Parse,
    session: &mut Session,
    ctx: &Context,
) -> Result<Frame, ParseError> {
    if parse.remaining() > 0 {
        let version = match parse.next_i64() {
            Ok(v) => v,
            Err(_) => {
                return Ok(Frame::error(
                    "ERR Protocol version is not an integer or out of range",
                ));
            }
        };
        let protocol = match version {
            2 => Protocol::Resp2,
            3 => Protocol::Resp3,
            _ => return Ok(Frame::error("NOPROTO unsupported protocol version")),
        };
        while parse.remaining() > 0 {
            match parse.next_string()?.to_ascii_uppercase().as_str() {
                "AUTH" => {
                    let user = parse.next_string()?;
                    let password = parse.next_bytes()?;
                    let reply =
                        super::auth::authenticate(Some(&user), &password, session, ctx).await;
                    if matches!(reply, Frame::Error(_)) {
                        return Ok(reply);
                    }
                }
                "SETNAME" => session.name = Some(parse.next_string()?),
                _ => return Err(ParseError::Syntax),
            }
        }
        session.protocol = protocol;
    }
    let proto = match session.protocol {
        Protocol::Resp2 => 2,
        Protocol::Resp3 => 3,
    };
    // `server`/`version` name the Redis API level hoard speaks, as other compatible servers
    // do: clients gate features on them (redis-py's client-side cache wants "redis" >= 7.4).
    // hoard's own version is `hoard_version`.
    Ok(Frame::Map(vec![
        (Frame::bulk("server"), Frame::bulk("redis")),
        (
            Frame::bulk("version"),
            Frame::bulk(super::info::REDIS_VERSION),
        ),
        (
            Frame::bulk("hoard_version"),
            Frame::bulk(env!("CARGO_PKG_VERSION")),
        ),
        (Frame::bulk("proto"), Frame::Integer(proto)),
        (Frame::bulk("id"), Frame::Integer(session.id as i64)),
        (Frame::bulk("mode"), Frame::bulk("standalone")),
        (Frame::bulk("role"), Frame::bulk("master")),
        (Frame::bulk("modules"), Frame::Array(vec![])),
    ]))
}
