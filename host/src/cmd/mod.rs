//! One file per command, as in mini-redis: each parses its arguments from a
//! [`Parse`] cursor, calls the [`Cache`], and turns the result into a
//! [`Frame`]. Commands never touch L1 tables of definitions or plugins
//! directly; the plain keyspace is reached through `Cache::plain`.
//!
//! Error replies use stable prefixes so clients can branch on them:
//! `ERR` (syntax, arity, bad values), `NOCACHE` (unknown definition),
//! `BADKEY` (the plugin refused the key parts), `BADEVENT` (the plugin
//! refused the event), `INVALID` (the value was rejected), `PLUGIN` (the
//! plugin failed: trap, timeout, limit), `BUSY` (the definition's plugin
//! calls are all taken and its queue is full: retry later).

mod auth;
mod cache_del;
mod cache_event;
mod cache_format;
mod cache_get;
mod cache_info;
mod cache_key;
mod cache_list;
mod cache_plan;
mod cache_set;
mod cache_ttl;
mod cache_validate;
mod client;
mod command;
mod config_get;
mod dbsize;
mod debug;
mod del;
mod echo;
mod exists;
mod expire;
mod flushall;
mod get;
mod hello;
mod info;
mod ping;
mod plugin_list;
mod plugin_load;
mod plugin_reload;
mod plugin_unload;
mod set;
mod ttl;

use std::time::Instant;

use bytes::Bytes;

use crate::cache::Cache;
use crate::cache::error::CacheError;
use crate::cache::outcome::Outcome;
use crate::cache::transcode::{self, ValueFormat};
use crate::tenant::{Seat, Tenants};
use hoard_resp::{Frame, Parse, ParseError, Protocol};

/// Per-connection state a command may read or change.
#[derive(Debug)]
pub struct Session {
    /// Connection id, for `CLIENT ID`.
    pub id: u64,
    /// RESP2 until `HELLO 3`.
    pub protocol: Protocol,
    /// JSON until `CACHE.FORMAT MSGPACK`.
    pub format: ValueFormat,
    /// Set by `CLIENT SETNAME`.
    pub name: Option<String>,
    /// When the connection was accepted.
    pub started: Instant,
    /// Authenticated as the admin (`AUTH admin <password>`).
    pub admin: bool,
    /// The tenant this connection acts for; `None` until `AUTH` when tenants
    /// are configured.
    pub tenant: Option<Seat>,
}

impl Session {
    /// A fresh RESP2 / JSON session holding `tenant`'s seat, if any.
    pub fn new(id: u64, tenant: Option<Seat>) -> Self {
        Self {
            id,
            protocol: Protocol::Resp2,
            format: ValueFormat::Json,
            name: None,
            started: Instant::now(),
            admin: false,
            tenant,
        }
    }
}

/// What the connection does after a command.
#[derive(Debug)]
pub struct Reply {
    /// The frame to send.
    pub frame: Frame,
    /// Close the connection after sending it (`QUIT`).
    pub close: bool,
}

impl From<Frame> for Reply {
    fn from(frame: Frame) -> Self {
        Reply {
            frame,
            close: false,
        }
    }
}

/// What commands can reach: the tenants (each a cache and a plugin
/// lifecycle), server facts and the admin credential. One per server, shared
/// by every connection; a command only ever touches its session's tenant.
pub struct Context {
    /// The tenants (or the one default tenant).
    pub tenants: Tenants,
    /// Facts for `INFO` and `HELLO`.
    pub facts: ServerFacts,
    /// SHA-256 (hex) of the admin password for `PLUGIN.*` in single-tenant
    /// mode; `None` disables those commands there.
    pub admin_password_sha256: Option<String>,
}

/// Server-wide facts commands report (`INFO`, `HELLO`).
#[derive(Debug, Clone)]
pub struct ServerFacts {
    /// When the server started.
    pub started: Instant,
    /// The TCP port it listens on.
    pub port: u16,
}

/// Runs one command. Where its work runs (inline, or a plugin call on a
/// plugin thread) is the [`Cache`]'s decision, not the command's.
pub async fn dispatch(ctx: &Context, session: &mut Session, args: Vec<Bytes>) -> Reply {
    let facts = &ctx.facts;
    let mut parse = Parse::new(args);
    let name = parse.command_name();
    // What works before authentication.
    match name.as_str() {
        "AUTH" => return reply(auth::run(&mut parse, session, ctx)),
        "HELLO" => return reply(hello::run(&mut parse, session, ctx)),
        "QUIT" => {
            return Reply {
                frame: Frame::ok(),
                close: true,
            };
        }
        _ => {}
    }
    let Some(tenant) = session.tenant.as_ref().map(Seat::tenant) else {
        return Frame::error("NOAUTH Authentication required.").into();
    };
    let cache = &tenant.cache;
    let result = match name.as_str() {
        "PING" => ping::run(&mut parse),
        "ECHO" => echo::run(&mut parse),
        "GET" => get::run(&mut parse, cache),
        "SET" => set::run(&mut parse, cache),
        "DEL" | "UNLINK" => del::run(&mut parse, cache),
        "EXISTS" => exists::run(&mut parse, cache),
        "EXPIRE" => expire::run(&mut parse, cache, expire::Unit::Seconds),
        "PEXPIRE" => expire::run(&mut parse, cache, expire::Unit::Millis),
        "PERSIST" => expire::persist(&mut parse, cache),
        "TTL" => ttl::run(&mut parse, cache, ttl::Unit::Seconds),
        "PTTL" => ttl::run(&mut parse, cache, ttl::Unit::Millis),
        "DBSIZE" => dbsize::run(&mut parse, cache),
        "DEBUG" => debug::run(&mut parse, cache),
        "FLUSHALL" | "FLUSHDB" => flushall::run(&mut parse, cache),
        "INFO" => info::run(&mut parse, cache, facts),
        "COMMAND" => command::run(&mut parse),
        "CLIENT" => client::run(&mut parse, session),
        "CONFIG" => config_get::run(&mut parse, cache),
        "SELECT" => select(&mut parse),
        "CACHE.SET" => cache_set::run(&mut parse, cache, session, false).await,
        "CACHE.PSETEX" => cache_set::run(&mut parse, cache, session, true).await,
        "CACHE.GET" => cache_get::run(&mut parse, cache, session).await,
        "CACHE.GETMETA" => cache_get::run_meta(&mut parse, cache, session).await,
        "CACHE.DEL" => cache_del::run(&mut parse, cache).await,
        "CACHE.KEY" => cache_key::run(&mut parse, cache).await,
        "CACHE.TTL" => cache_ttl::run(&mut parse, cache).await,
        "CACHE.VALIDATE" => cache_validate::run(&mut parse, cache, session).await,
        "CACHE.PLAN" => cache_plan::run(&mut parse, cache, session).await,
        "CACHE.EVENT" => cache_event::run(&mut parse, cache, session).await,
        "CACHE.INFO" => cache_info::run(&mut parse, cache),
        "CACHE.LIST" => cache_list::run(&mut parse, cache),
        "CACHE.FORMAT" => cache_format::run(&mut parse, session),
        "PLUGIN.LOAD" | "PLUGIN.RELOAD" | "PLUGIN.UNLOAD" | "PLUGIN.LIST"
            if !may_manage_plugins(ctx, session) =>
        {
            Ok(admin_required(ctx))
        }
        "PLUGIN.LOAD" => plugin_load::run(&mut parse, &tenant, ctx).await,
        "PLUGIN.RELOAD" => plugin_reload::run(&mut parse, &tenant).await,
        "PLUGIN.UNLOAD" => plugin_unload::run(&mut parse, &tenant).await,
        "PLUGIN.LIST" => plugin_list::run(&mut parse, &tenant),
        _ => Ok(Frame::error(format!(
            "ERR unknown command '{}', with args beginning with: {}",
            printable(&name.to_ascii_lowercase(), 128),
            parse
                .rest()
                .iter()
                .take(8)
                .map(|a| format!("'{}'", printable(&String::from_utf8_lossy(a), 128)))
                .collect::<Vec<_>>()
                .join(" ")
        ))),
    };
    reply(result)
}

fn reply(result: Result<Frame, ParseError>) -> Reply {
    match result {
        Ok(frame) => frame.into(),
        Err(error) => Frame::error(format!("ERR {error}")).into(),
    }
}

/// Who may run `PLUGIN.*`: the admin in single-tenant mode; with tenants,
/// each authenticated tenant for its own plugins (and `PLUGIN.LOAD` only
/// from its own plugin directory).
fn may_manage_plugins(ctx: &Context, session: &Session) -> bool {
    match ctx.tenants {
        Tenants::Single(_) => session.admin,
        Tenants::Many(_) => session.tenant.is_some(),
    }
}

/// The refusal of an admin command on a connection that is not admin.
fn admin_required(ctx: &Context) -> Frame {
    if ctx.admin_password_sha256.is_some() {
        Frame::error("NOPERM PLUGIN commands need AUTH admin <password> first")
    } else {
        Frame::error(
            "NOPERM PLUGIN commands are disabled: set [admin] password_sha256 in the config",
        )
    }
}

/// `SELECT 0` is accepted (clients send it); hoard has one database.
fn select(parse: &mut Parse) -> Result<Frame, ParseError> {
    let db = parse.next_i64()?;
    parse.finish()?;
    Ok(if db == 0 {
        Frame::ok()
    } else {
        Frame::error("ERR DB index is out of range")
    })
}

/// Keeps error messages on one printable line and at most `max` characters.
fn printable(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The RESP error for a failed cache operation.
pub(crate) fn error_frame(error: &CacheError) -> Frame {
    Frame::error(format!(
        "{} {}",
        error.prefix(),
        printable(&error.to_string(), 2048)
    ))
}

/// The reply for a value the definition refused.
pub(crate) fn rejected_frame(errors: &[String]) -> Frame {
    Frame::error(format!("INVALID {}", printable(&errors.join("; "), 2048)))
}

/// A client's value or payload as MessagePack: within the size limit, then
/// converted from the connection's format. `Err` is the reply to send.
pub(crate) fn value_msgpack(
    cache: &Cache,
    session: &Session,
    value: &[u8],
) -> Result<Vec<u8>, Frame> {
    if value.len() > cache.max_value_bytes() {
        return Err(error_frame(&CacheError::TooLarge {
            size: value.len(),
            limit: cache.max_value_bytes(),
        }));
    }
    transcode::to_msgpack(session.format, value).map_err(|e| error_frame(&e.into()))
}

/// The reply for a cache operation: its value's frame, or its error's.
pub(crate) fn answer<T>(result: Result<T, CacheError>, frame: impl FnOnce(T) -> Frame) -> Frame {
    match result {
        Ok(value) => frame(value),
        Err(error) => error_frame(&error),
    }
}

/// Reads the remaining arguments as key parts (UTF-8 strings), at least one.
pub(crate) fn key_parts(parse: &mut Parse) -> Result<Vec<String>, ParseError> {
    let mut parts = Vec::with_capacity(parse.remaining());
    while parse.remaining() > 0 {
        parts.push(parse.next_string()?);
    }
    if parts.is_empty() {
        return Err(ParseError::WrongArity(
            parse.command_name().to_ascii_lowercase(),
        ));
    }
    Ok(parts)
}

/// A bulk reply from bytes, or null.
pub(crate) fn bulk_or_null(value: Option<Vec<u8>>) -> Frame {
    match value {
        Some(v) => Frame::Bulk(Bytes::from(v)),
        None => Frame::Null,
    }
}

/// Shared shape of the invalidation reply: outcome, count, per-cache counts, failures.
pub(crate) fn invalidation_frame(outcome: &Outcome) -> Frame {
    let (count, per_cache, failures) = match outcome {
        Outcome::Invalidated { count, per_cache } => (*count, per_cache, &[][..]),
        Outcome::PartiallyInvalidated {
            count,
            per_cache,
            failures,
        } => (*count, per_cache, &failures[..]),
    };
    let caches = per_cache
        .iter()
        .map(|(name, n)| (Frame::bulk(name.clone()), Frame::Integer(*n as i64)))
        .collect();
    let failed = failures
        .iter()
        .map(|(name, why)| (Frame::bulk(name.clone()), Frame::bulk(why.clone())))
        .collect();
    Frame::Map(vec![
        (Frame::bulk("outcome"), Frame::bulk(outcome.code())),
        (Frame::bulk("count"), Frame::Integer(count as i64)),
        (Frame::bulk("caches"), Frame::Map(caches)),
        (Frame::bulk("failures"), Frame::Map(failed)),
    ])
}
