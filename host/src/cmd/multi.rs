//! `MULTI`, `EXEC`, `DISCARD`, `WATCH`, `UNWATCH`: Redis transactions. Commands are checked
//! (known, right arity) and queued; `EXEC` runs them as one unit under the tenant's exclusive
//! keyspace lock, unless a queueing error happened (`EXECABORT`) or a watched key changed
//! (null reply). Only plain-keyspace and connection commands can be queued: `CACHE.*` and
//! `PLUGIN.*` may call a plugin, which must never happen under that lock.

use bytes::Bytes;

use super::keyspace::{Keyspace, WatchSet};
use super::{Context, Session, command};
use crate::tenant::Tenant;
use hoard_resp::{Frame, Parse};
use std::sync::Arc;

/// A transaction being queued.
#[derive(Debug, Default)]
pub(crate) struct Multi {
    queued: Vec<Vec<Bytes>>,
    /// A command was refused while queueing: `EXEC` answers `EXECABORT`.
    failed: bool,
}

impl Multi {
    /// Number of queued commands (`CLIENT INFO`'s `multi=`).
    pub(crate) fn len(&self) -> usize {
        self.queued.len()
    }
}

/// Commands that cannot be queued, and why.
fn refused_in_multi(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    if upper.starts_with("CACHE.") || upper.starts_with("PLUGIN.") {
        return Some("ERR CACHE.* and PLUGIN.* commands cannot run inside MULTI");
    }
    match upper.as_str() {
        "AUTH" | "HELLO" | "SUBSCRIBE" | "UNSUBSCRIBE" | "QUIT" => {
            Some("ERR Command not allowed inside a transaction")
        }
        _ => None,
    }
}

/// `MULTI`.
pub(super) fn multi(session: &mut Session) -> Frame {
    if session.multi.is_some() {
        return Frame::error("ERR MULTI calls can not be nested");
    }
    session.multi = Some(Multi::default());
    Frame::ok()
}

/// Any command while in `MULTI`: `QUEUED`, or an error that dooms the transaction.
pub(super) fn queue(session: &mut Session, args: Vec<Bytes>) -> Frame {
    let Some(multi) = session.multi.as_mut() else {
        return Frame::error("ERR not in a transaction");
    };
    let name = args
        .first()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let error = match command::lookup(&name) {
        None => Some(super::unknown_command(&name, args.get(1..).unwrap_or(&[]))),
        Some(spec) if !command::arity_ok(spec, args.len()) => Some(Frame::error(format!(
            "ERR wrong number of arguments for '{}' command",
            spec.name
        ))),
        Some(_) => refused_in_multi(&name).map(Frame::error),
    };
    if let Some(error) = error {
        multi.failed = true;
        return error;
    }
    multi.queued.push(args);
    Frame::Simple("QUEUED".into())
}

/// `DISCARD`.
pub(super) fn discard(session: &mut Session) -> Frame {
    if session.multi.take().is_none() {
        return Frame::error("ERR DISCARD without MULTI");
    }
    session.watch = None;
    Frame::ok()
}

/// `WATCH key [key ...]`.
pub(super) fn watch(parse: &mut Parse, session: &mut Session, keyspace: &Arc<Keyspace>) -> Frame {
    if session.multi.is_some() {
        return Frame::error("ERR WATCH inside MULTI is not allowed");
    }
    let keys = parse.rest();
    if keys.is_empty() {
        return Frame::error("ERR wrong number of arguments for 'watch' command");
    }
    let stale = session
        .watch
        .as_ref()
        .is_some_and(|w| !Arc::ptr_eq(w.keyspace(), keyspace));
    if stale {
        session.watch = None;
    }
    let set = session
        .watch
        .get_or_insert_with(|| WatchSet::new(Arc::clone(keyspace), session.id));
    for key in keys {
        set.add(key);
    }
    Frame::ok()
}

/// `UNWATCH`.
pub(super) fn unwatch(session: &mut Session) -> Frame {
    session.watch = None;
    Frame::ok()
}

/// `EXEC`: the queued commands' replies as one array, run under the exclusive lock.
pub(super) fn exec(
    ctx: &Context,
    session: &mut Session,
    tenant: &Arc<Tenant>,
    keyspace: &Arc<Keyspace>,
) -> Frame {
    let Some(multi) = session.multi.take() else {
        return Frame::error("ERR EXEC without MULTI");
    };
    let watch = session.watch.take();
    if multi.failed {
        return Frame::error("EXECABORT Transaction discarded because of previous errors.");
    }
    let _unit = keyspace.exclusive.write();
    if let Some(watch) = &watch {
        // A watched key that expired since counts as changed (Redis 7): looking it up
        // reclaims it, which the observer reports.
        for key in watch.keys() {
            let _ = tenant.cache.plain().contains(key);
        }
        if watch.is_dirty() {
            return Frame::NullArray;
        }
    }
    drop(watch);
    // `CLIENT CACHING` before `MULTI` covers the whole transaction, as in Redis.
    let tracks_reads = super::tracks_reads(session);
    session.caching = None;
    let replies = multi
        .queued
        .into_iter()
        .map(|args| {
            if tracks_reads {
                let name = args
                    .first()
                    .map(|n| String::from_utf8_lossy(n).to_ascii_uppercase())
                    .unwrap_or_default();
                if let Some(keys) = super::plain_reads(&name, &args) {
                    keyspace.tracking.read(session.id, &keys);
                }
            }
            let mut parse = Parse::new(args);
            let name = parse.command_name();
            match super::run_sync(&name, &mut parse, ctx, session, tenant, keyspace) {
                Some(result) => super::reply(result).frame,
                None => Frame::error("ERR command cannot run inside MULTI"),
            }
        })
        .collect();
    Frame::Array(replies)
}
