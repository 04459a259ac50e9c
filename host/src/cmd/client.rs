//! `CLIENT SETNAME|GETNAME|ID|SETINFO|INFO|LIST|NO-EVICT|NO-TOUCH|TRACKING|CACHING|
//! TRACKINGINFO|GETREDIR`: what clients send on connect, and client-side caching. Anything
//! else is a clear error.

use super::{Session, tracking_cmd};
use crate::cmd::keyspace::Keyspace;
use hoard_resp::{Frame, Parse, ParseError, Protocol};
use std::sync::Arc;

/// Names Redis accepts for clients and libraries: printable, no spaces.
fn valid_name(name: &str) -> bool {
    name.bytes().all(|b| (b'!'..=b'~').contains(&b))
}

pub(super) fn run(
    parse: &mut Parse,
    session: &mut Session,
    keyspace: &Arc<Keyspace>,
) -> Result<Frame, ParseError> {
    let sub = parse.next_string()?.to_ascii_uppercase();
    let frame = match sub.as_str() {
        "SETNAME" => {
            let name = parse.next_string()?;
            if !valid_name(&name) {
                return Ok(Frame::error(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            session.name = (!name.is_empty()).then_some(name);
            Frame::ok()
        }
        "GETNAME" => session.name.clone().map_or(Frame::Null, Frame::bulk),
        "ID" => Frame::Integer(session.id as i64),
        "SETINFO" => {
            let attr = parse.next_string()?;
            let value = parse.next_string()?;
            let slot = match attr.to_ascii_uppercase().as_str() {
                "LIB-NAME" => &mut session.lib_name,
                "LIB-VER" => &mut session.lib_ver,
                _ => {
                    let _ = parse.rest();
                    return Ok(Frame::error(format!("ERR Unrecognized option '{attr}'")));
                }
            };
            if !valid_name(&value) {
                return Ok(Frame::error(format!(
                    "ERR {} cannot contain spaces, newlines or special characters.",
                    attr.to_ascii_lowercase()
                )));
            }
            *slot = (!value.is_empty()).then_some(value);
            Frame::ok()
        }
        "NO-EVICT" | "NO-TOUCH" => {
            let mode = parse.next_string()?.to_ascii_uppercase();
            if mode != "ON" && mode != "OFF" {
                return Err(ParseError::Syntax);
            }
            Frame::ok()
        }
        "INFO" => Frame::Verbatim(info_line(session)),
        "LIST" => Frame::Verbatim(info_line(session)),
        "TRACKING" => return Ok(tracking_cmd::tracking(parse, session, keyspace)),
        "CACHING" => return Ok(tracking_cmd::caching(parse, session)),
        "TRACKINGINFO" => tracking_cmd::info(session),
        "GETREDIR" => Frame::Integer(tracking_cmd::redirect_of(session)),
        other => Frame::error(format!(
            "ERR unknown subcommand '{}'. Try CLIENT HELP.",
            other.to_ascii_lowercase()
        )),
    };
    parse.finish()?;
    Ok(frame)
}

/// One `CLIENT INFO` line, with Redis's field names for what hoard knows.
fn info_line(session: &Session) -> String {
    let multi = session.multi.as_ref().map_or(-1, |m| m.len() as i64);
    let mut flags = String::new();
    if session.multi.is_some() {
        flags.push('x');
    }
    if session.tracking.is_some() {
        flags.push('t');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    format!(
        "id={} name={} age={} idle=0 flags={flags} db=0 sub={} psub=0 ssub=0 multi={multi} watch={} resp={} lib-name={} lib-ver={}\n",
        session.id,
        session.name.as_deref().unwrap_or(""),
        session.started.elapsed().as_secs(),
        i64::from(session.subscribed),
        session.watch.as_ref().map_or(0, |w| w.keys().len()),
        match session.protocol {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        },
        session.lib_name.as_deref().unwrap_or(""),
        session.lib_ver.as_deref().unwrap_or(""),
    )
}
