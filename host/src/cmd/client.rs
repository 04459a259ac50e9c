//! `CLIENT SETNAME|GETNAME|ID|SETINFO|INFO|LIST|KILL|NO-EVICT|NO-TOUCH|TRACKING|CACHING|
//! TRACKINGINFO|GETREDIR`: what clients send on connect, the tenant's connections, and
//! client-side caching. Anything else is a clear error. `LIST` and `KILL` see only the
//! caller's tenant (`server/clients.rs`).

use super::{Session, tracking_cmd};
use crate::cmd::keyspace::Keyspace;
use hoard_resp::{Frame, Parse, ParseError};
use std::sync::Arc;
use std::time::Instant;

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
        "INFO" => Frame::Verbatim(own_line(session, "client|info")),
        "LIST" => return Ok(list(parse, session, keyspace)),
        "KILL" => return Ok(kill(parse, session, keyspace)),
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

/// The caller's own line, fresh from its session.
fn own_line(session: &Session, cmd: &str) -> String {
    let state = session.client_state(cmd);
    match &session.entry {
        Some(entry) => entry.line(&state, Instant::now()),
        None => String::new(),
    }
}

/// `CLIENT LIST [TYPE normal|pubsub] [ID id ...]`: the tenant's connections, one line each.
fn list(parse: &mut Parse, session: &Session, keyspace: &Arc<Keyspace>) -> Frame {
    let mut kind: Option<String> = None;
    let mut ids: Option<Vec<u64>> = None;
    while parse.remaining() > 0 {
        let Ok(option) = parse.next_string() else {
            return Frame::error("ERR syntax error");
        };
        match option.to_ascii_uppercase().as_str() {
            "TYPE" => match parse.next_string().map(|t| t.to_ascii_lowercase()) {
                Ok(t) if matches!(t.as_str(), "normal" | "pubsub" | "master" | "replica") => {
                    kind = Some(t);
                }
                Ok(t) => return Frame::error(format!("ERR Unknown client type '{t}'")),
                Err(_) => return Frame::error("ERR syntax error"),
            },
            "ID" => {
                let mut wanted = Vec::new();
                while parse.remaining() > 0 {
                    // Redis reads the id as a signed 64-bit integer.
                    let id = parse
                        .next_string()
                        .ok()
                        .and_then(|id| id.parse::<i64>().ok());
                    match id.and_then(|id| u64::try_from(id).ok()) {
                        Some(id) if id > 0 => wanted.push(id),
                        _ => return Frame::error("ERR Invalid client ID"),
                    }
                }
                if wanted.is_empty() {
                    return Frame::error("ERR syntax error");
                }
                ids = Some(wanted);
            }
            _ => return Frame::error("ERR syntax error"),
        }
    }
    let now = Instant::now();
    let mut text = String::new();
    for entry in keyspace.clients.all() {
        if ids.as_ref().is_some_and(|ids| !ids.contains(&entry.id)) {
            continue;
        }
        let state = if entry.id == session.id {
            session.client_state("client|list")
        } else {
            entry.state.lock().clone()
        };
        let pubsub = state.subscribed;
        match kind.as_deref() {
            Some("normal") if pubsub => continue,
            Some("pubsub") if !pubsub => continue,
            Some("master" | "replica") => continue,
            _ => {}
        }
        text.push_str(&entry.line(&state, now));
    }
    Frame::Verbatim(text)
}

/// `CLIENT KILL addr:port` (old form: `OK` or an error) or `CLIENT KILL <filter> <value> ...`
/// with `ID`, `ADDR`, `LADDR`, `USER`, `TYPE`, `SKIPME`, `MAXAGE` (new form: how many were
/// killed),
/// over the caller's tenant's connections only.
fn kill(parse: &mut Parse, session: &Session, keyspace: &Arc<Keyspace>) -> Frame {
    let args = parse.rest();
    let text = |b: &bytes::Bytes| String::from_utf8_lossy(b).into_owned();
    if args.is_empty() {
        return Frame::error("ERR wrong number of arguments for 'client|kill' command");
    }
    let clients = keyspace.clients.all();
    if let [addr] = args.as_slice() {
        let addr = text(addr);
        return match clients.iter().find(|c| c.addr == addr) {
            Some(victim) => {
                victim.kill.notify_one();
                Frame::ok()
            }
            None => Frame::error("ERR No such client"),
        };
    }
    if !args.len().is_multiple_of(2) {
        return Frame::error("ERR syntax error");
    }
    let (mut id, mut addr, mut laddr, mut user, mut max_age) = (None, None, None, None, None);
    // `TYPE pubsub`: subscribed connections; `normal`: the others; `master`/`replica`: none.
    let mut pubsub: Option<Option<bool>> = None;
    let mut skip_me = true;
    for pair in args.chunks_exact(2) {
        let [option, value] = pair else {
            return Frame::error("ERR syntax error");
        };
        let value = text(value);
        match text(option).to_ascii_uppercase().as_str() {
            "ID" => match value.parse::<i64>() {
                Ok(n) if n > 0 => id = Some(n as u64),
                _ => return Frame::error("ERR client-id should be greater than 0"),
            },
            "ADDR" => addr = Some(value),
            "LADDR" => laddr = Some(value),
            "USER" => user = Some(value),
            "TYPE" => match value.to_ascii_lowercase().as_str() {
                "normal" => pubsub = Some(Some(false)),
                "pubsub" => pubsub = Some(Some(true)),
                "master" | "replica" | "slave" => pubsub = Some(None),
                _ => return Frame::error(format!("ERR Unknown client type '{value}'")),
            },
            "MAXAGE" => match value.parse::<u64>() {
                Ok(n) => max_age = Some(n),
                Err(_) => return Frame::error("ERR value is not an integer or out of range"),
            },
            "SKIPME" => match value.to_ascii_lowercase().as_str() {
                "yes" => skip_me = true,
                "no" => skip_me = false,
                _ => return Frame::error("ERR syntax error"),
            },
            _ => return Frame::error("ERR syntax error"),
        }
    }
    let now = Instant::now();
    let mut killed = 0;
    for victim in clients {
        let matches = id.is_none_or(|id| victim.id == id)
            && addr.as_ref().is_none_or(|a| victim.addr == *a)
            && laddr.as_ref().is_none_or(|a| victim.laddr == *a)
            && user.as_ref().is_none_or(|u| victim.user == *u)
            && pubsub.is_none_or(|wanted| wanted == Some(victim.state.lock().subscribed))
            && max_age
                .is_none_or(|age| now.saturating_duration_since(victim.started).as_secs() >= age)
            && !(skip_me && victim.id == session.id);
        if matches {
            victim.kill.notify_one();
            killed += 1;
        }
    }
    Frame::Integer(killed)
}
