//! `CLIENT TRACKING|CACHING|TRACKINGINFO|GETREDIR` and the minimal `SUBSCRIBE`/`UNSUBSCRIBE`
//! (channel `__redis__:invalidate` only) that RESP2 clients use as a redirect target. The
//! tracking table itself is `server/tracking.rs`.

use std::sync::Arc;

use bytes::Bytes;

use super::Session;
use super::keyspace::Keyspace;
use crate::server::tracking::Mode;
use hoard_resp::{Frame, Parse, ParseError};

/// The only channel hoard publishes.
pub(crate) const INVALIDATE_CHANNEL: &str = "__redis__:invalidate";

/// A session's tracking settings.
#[derive(Clone, Debug)]
pub(crate) struct SessionTracking {
    pub(crate) mode: Mode,
    pub(crate) optin: bool,
    pub(crate) optout: bool,
}

/// `CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p]... [BCAST] [OPTIN] [OPTOUT] [NOLOOP]`.
pub(super) fn tracking(
    parse: &mut Parse,
    session: &mut Session,
    keyspace: &Arc<Keyspace>,
) -> Frame {
    match parse_tracking(parse) {
        Ok(None) => {
            keyspace.tracking.disable(session.id);
            session.tracking = None;
            Frame::ok()
        }
        Ok(Some(wanted)) => {
            let tx = session.pushes().clone();
            match keyspace
                .tracking
                .enable(session.id, wanted.mode.clone(), tx)
            {
                Ok(()) => {
                    session.tracking = Some(wanted);
                    session.caching = None;
                    Frame::ok()
                }
                Err(text) => Frame::error(text),
            }
        }
        Err(frame) => frame,
    }
}

fn parse_tracking(parse: &mut Parse) -> Result<Option<SessionTracking>, Frame> {
    let syntax = |e: ParseError| Frame::error(format!("ERR {e}"));
    let on = match parse
        .next_string()
        .map_err(syntax)?
        .to_ascii_uppercase()
        .as_str()
    {
        "ON" => true,
        "OFF" => false,
        _ => return Err(Frame::error("ERR syntax error")),
    };
    let mut mode = Mode {
        bcast: false,
        prefixes: Vec::new(),
        noloop: false,
        redirect: None,
    };
    let (mut optin, mut optout) = (false, false);
    while parse.remaining() > 0 {
        match parse
            .next_string()
            .map_err(syntax)?
            .to_ascii_uppercase()
            .as_str()
        {
            "BCAST" => mode.bcast = true,
            "NOLOOP" => mode.noloop = true,
            "OPTIN" => optin = true,
            "OPTOUT" => optout = true,
            "PREFIX" => mode.prefixes.push(
                parse
                    .next_bytes()
                    .map_err(|_| Frame::error("ERR syntax error"))?,
            ),
            "REDIRECT" => {
                let id = parse
                    .next_bytes()
                    .map_err(|_| Frame::error("ERR syntax error"))?;
                let id = super::value::arg_i64(&id)?;
                mode.redirect = u64::try_from(id).ok().filter(|id| *id > 0);
            }
            _ => return Err(Frame::error("ERR syntax error")),
        }
    }
    if !on {
        return Ok(None);
    }
    if !mode.bcast && !mode.prefixes.is_empty() {
        return Err(Frame::error(
            "ERR PREFIX option requires BCAST mode to be enabled",
        ));
    }
    if optin && optout {
        return Err(Frame::error(
            "ERR You can't use OPTIN and OPTOUT at the same time",
        ));
    }
    if mode.bcast && (optin || optout) {
        return Err(Frame::error(
            "ERR OPTIN and OPTOUT are not compatible with BCAST",
        ));
    }
    Ok(Some(SessionTracking {
        mode,
        optin,
        optout,
    }))
}

/// `CLIENT CACHING YES|NO`: whether the next command's reads are tracked (OPTIN / OPTOUT).
pub(super) fn caching(parse: &mut Parse, session: &mut Session) -> Frame {
    let Ok(answer) = parse.next_string() else {
        return Frame::error("ERR wrong number of arguments for 'client|caching' command");
    };
    let yes = match answer.to_ascii_uppercase().as_str() {
        "YES" => true,
        "NO" => false,
        _ => return Frame::error("ERR syntax error"),
    };
    match &session.tracking {
        Some(t) if yes && t.optin => {}
        Some(t) if !yes && t.optout => {}
        Some(_) if yes => {
            return Frame::error(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            );
        }
        Some(_) => {
            return Frame::error(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            );
        }
        None => {
            return Frame::error(
                "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
            );
        }
    }
    session.caching = Some(yes);
    Frame::ok()
}

/// `CLIENT TRACKINGINFO`.
pub(super) fn info(session: &Session) -> Frame {
    let (flags, redirect, prefixes) = match &session.tracking {
        None => (vec!["off"], -1, vec![]),
        Some(t) => {
            let mut flags = vec!["on"];
            if t.mode.bcast {
                flags.push("bcast");
            }
            if t.optin {
                flags.push("optin");
            }
            if t.optout {
                flags.push("optout");
            }
            if t.mode.noloop {
                flags.push("noloop");
            }
            let redirect = t.mode.redirect.map_or(0, |r| r as i64);
            (flags, redirect, t.mode.prefixes.clone())
        }
    };
    Frame::Map(vec![
        (
            Frame::bulk("flags"),
            Frame::Set(flags.into_iter().map(Frame::bulk).collect()),
        ),
        (Frame::bulk("redirect"), Frame::Integer(redirect)),
        (
            Frame::bulk("prefixes"),
            Frame::Array(prefixes.into_iter().map(Frame::Bulk).collect()),
        ),
    ])
}

/// `CLIENT GETREDIR`: -1 when not tracking, 0 when tracking without redirect.
pub(super) fn redirect_of(session: &Session) -> i64 {
    match &session.tracking {
        None => -1,
        Some(t) => t.mode.redirect.map_or(0, |r| r as i64),
    }
}

/// `SUBSCRIBE __redis__:invalidate`: the redirect target of RESP2 tracking clients.
pub(super) fn subscribe(
    args: Vec<Bytes>,
    session: &mut Session,
    keyspace: &Arc<Keyspace>,
) -> Frame {
    let channels = args.get(1..).unwrap_or(&[]);
    if channels.is_empty() {
        return Frame::error("ERR wrong number of arguments for 'subscribe' command");
    }
    if channels
        .iter()
        .any(|c| c.as_ref() != INVALIDATE_CHANNEL.as_bytes())
    {
        return Frame::error(format!(
            "ERR hoard supports SUBSCRIBE only to {INVALIDATE_CHANNEL} (client-side caching)"
        ));
    }
    let tx = session.pushes().clone();
    keyspace.tracking.subscribe(session.id, tx);
    session.subscribed = true;
    Frame::Push(vec![
        Frame::bulk("subscribe"),
        Frame::bulk(INVALIDATE_CHANNEL),
        Frame::Integer(1),
    ])
}

/// `UNSUBSCRIBE [channel ...]`.
pub(super) fn unsubscribe(session: &mut Session, keyspace: &Arc<Keyspace>) -> Frame {
    keyspace.tracking.unsubscribe(session.id);
    let was = std::mem::take(&mut session.subscribed);
    Frame::Push(vec![
        Frame::bulk("unsubscribe"),
        if was {
            Frame::bulk(INVALIDATE_CHANNEL)
        } else {
            Frame::Null
        },
        Frame::Integer(0),
    ])
}
