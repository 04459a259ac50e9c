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

mod append;
mod auth;
mod cache_del;
mod cache_dlq;
mod cache_event;
mod cache_format;
mod cache_get;
mod cache_info;
mod cache_key;
mod cache_lease;
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
mod hash;
mod hello;
mod incr;
mod info;
pub mod keyspace;
mod long_double;
mod mget;
mod mset;
mod multi;
mod ping;
mod plugin_list;
mod plugin_load;
mod plugin_reload;
mod plugin_unload;
mod rename;
mod scan;
mod set;
mod tracking_cmd;
mod ttl;
mod value;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::cache::Cache;
use crate::cache::error::CacheError;
use crate::cache::outcome::Outcome;
use crate::cache::transcode::{self, ValueFormat};
use crate::server::clients::{ClientEntry, ClientState};
use crate::server::tracking::{self, Invalidation};
use crate::tenant::{Seat, Tenant, Tenants};
use hoard_resp::{Frame, Parse, ParseError, Protocol};
use keyspace::{Keyspace, Keyspaces, WatchSet};
use multi::Multi;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tracking_cmd::SessionTracking;

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
    /// The transaction being queued, between `MULTI` and `EXEC`/`DISCARD`.
    pub(crate) multi: Option<Multi>,
    /// The keys `WATCH`ed for the next `EXEC`.
    pub(crate) watch: Option<WatchSet>,
    /// The plain-keyspace state of the session's tenant, looked up once per tenant.
    pub(crate) keyspace: Option<Arc<Keyspace>>,
    /// `CLIENT SETINFO LIB-NAME` / `LIB-VER`.
    pub(crate) lib_name: Option<String>,
    pub(crate) lib_ver: Option<String>,
    /// `CLIENT TRACKING ON …` settings.
    pub(crate) tracking: Option<SessionTracking>,
    /// `CLIENT CACHING YES|NO`, for the next command only.
    pub(crate) caching: Option<bool>,
    /// Subscribed to `__redis__:invalidate`.
    pub(crate) subscribed: bool,
    /// Where invalidations for this connection are sent, created on first use; the
    /// connection loop drains [`Session::take_pushes`].
    push_tx: Option<UnboundedSender<Invalidation>>,
    push_rx: Option<UnboundedReceiver<Invalidation>>,
    /// Peer and local address and descriptor, for `CLIENT LIST` / `CLIENT KILL ADDR`.
    socket: Option<(String, String, i64)>,
    /// This connection in its tenant's registry (`CLIENT LIST`), once it has a tenant.
    entry: Option<Arc<ClientEntry>>,
    /// Notified by `CLIENT KILL`: the connection loop closes the connection.
    kill: Arc<tokio::sync::Notify>,
    /// Write-behind writes of the command being run whose fsync the reply
    /// must wait for (taken into [`Reply::durable`]).
    pub(crate) durable: parking_lot::Mutex<Vec<crate::cache::write_behind::Ack>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(keyspace) = &self.keyspace {
            keyspace.clients.unregister(self.id);
            if self.tracking.is_some() {
                keyspace.tracking.disable(self.id);
            }
            if self.subscribed {
                keyspace.tracking.unsubscribe(self.id);
            }
        }
    }
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
            multi: None,
            watch: None,
            keyspace: None,
            lib_name: None,
            lib_ver: None,
            tracking: None,
            caching: None,
            subscribed: false,
            push_tx: None,
            push_rx: None,
            socket: None,
            entry: None,
            kill: Arc::new(tokio::sync::Notify::new()),
            durable: parking_lot::Mutex::new(Vec::new()),
        }
    }

    /// Records the connection's peer and local address and descriptor (`CLIENT LIST`).
    pub fn set_socket(&mut self, addr: String, laddr: String, fd: i64) {
        self.socket = Some((addr, laddr, fd));
    }

    /// What `CLIENT KILL` notifies; the connection loop closes the connection when it fires.
    pub fn kill_signal(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.kill)
    }

    /// This connection's `CLIENT LIST` fields as of now, with `cmd` as its last command.
    pub(crate) fn client_state(&self, cmd: &str) -> ClientState {
        let mut state = ClientState {
            cmd: cmd.to_owned(),
            last_at: Some(Instant::now()),
            ..ClientState::default()
        };
        self.fill(&mut state);
        state
    }

    /// Copies the session's listed fields (all but `cmd` and `last_at`) into `state`, reusing
    /// its buffers.
    fn fill(&self, state: &mut ClientState) {
        state.resp = match self.protocol {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        };
        state.multi = self.multi.as_ref().map_or(-1, |m| m.len() as i64);
        state.watch = self.watch.as_ref().map_or(0, |w| w.keys().len());
        state.subscribed = self.subscribed;
        state.flags.clear();
        if self.subscribed {
            state.flags.push('P');
        }
        if self.multi.is_some() {
            state.flags.push('x');
        }
        if self.tracking.is_some() {
            state.flags.push('t');
        }
        state.redirect = self
            .tracking
            .as_ref()
            .and_then(|t| t.mode.redirect)
            .map_or(-1, |r| r as i64);
        if state.name != self.name {
            state.name.clone_from(&self.name);
        }
        if state.lib_name != self.lib_name {
            state.lib_name.clone_from(&self.lib_name);
        }
        if state.lib_ver != self.lib_ver {
            state.lib_ver.clone_from(&self.lib_ver);
        }
    }

    /// This connection's registry entry, built from the socket facts and `tenant`.
    fn new_entry(&self, tenant: &str) -> Arc<ClientEntry> {
        let (addr, laddr, fd) = self
            .socket
            .clone()
            .unwrap_or_else(|| (String::new(), String::new(), -1));
        Arc::new(ClientEntry {
            id: self.id,
            addr,
            laddr,
            fd,
            started: self.started,
            // Redis's name for the user of a server without ACLs; here the default tenant.
            user: if tenant.is_empty() {
                "default".to_owned()
            } else {
                tenant.to_owned()
            },
            state: parking_lot::Mutex::new(self.client_state("")),
            kill: Arc::clone(&self.kill),
        })
    }

    /// Copies what other connections may see into the registry after a command (`head`: its
    /// name and first argument, for `cmd`).
    fn publish(&self, head: (Option<Bytes>, Option<Bytes>)) {
        let Some(entry) = &self.entry else {
            return;
        };
        let mut state = entry.state.lock();
        let (name, sub) = head;
        state.cmd.clear();
        // Lower-cased into the entry's own buffer: no allocation per command.
        let mut push_lower = |text: &[u8]| {
            if text.is_ascii() {
                state
                    .cmd
                    .extend(text.iter().map(|b| char::from(b.to_ascii_lowercase())));
            } else {
                for c in String::from_utf8_lossy(text).chars() {
                    state.cmd.push(c.to_ascii_lowercase());
                }
            }
        };
        if let Some(name) = &name {
            push_lower(name);
            let container = ["client", "config", "command", "debug"]
                .iter()
                .any(|c| name.eq_ignore_ascii_case(c.as_bytes()));
            if container && let Some(sub) = &sub {
                push_lower(b"|");
                push_lower(sub);
            }
        }
        state.last_at = Some(Instant::now());
        self.fill(&mut state);
    }

    /// The sender of this connection's invalidations, creating the channel on first use.
    pub(crate) fn pushes(&mut self) -> &UnboundedSender<Invalidation> {
        if self.push_tx.is_none() {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            self.push_rx = Some(rx);
            self.push_tx = Some(tx);
        }
        self.push_tx
            .get_or_insert_with(|| tokio::sync::mpsc::unbounded_channel().0)
    }

    /// Waits for the next invalidation to write; pending forever when there is none to wait
    /// for, so the connection loop can always `select!` on it. The loop calls
    /// [`Pushed::written`] once the frame is flushed.
    pub async fn next_push(&mut self) -> Pushed {
        let Some(rx) = self.push_rx.as_mut() else {
            return std::future::pending().await;
        };
        match rx.recv().await {
            Some(mut invalidation) => Pushed {
                ack: invalidation.written.take(),
                frame: push_frame(invalidation),
            },
            None => std::future::pending().await,
        }
    }

    /// The keyspace state of `tenant`, cached in the session.
    fn keyspace_of(&mut self, ctx: &Context, tenant: &Tenant) -> Arc<Keyspace> {
        match &self.keyspace {
            Some(k) if k.tenant == tenant.name => Arc::clone(k),
            old => {
                // A new tenant (after AUTH): stop hearing the old one's keys, and be listed
                // among the new one's connections only.
                if let Some(old) = old {
                    old.tracking.disable(self.id);
                    old.tracking.unsubscribe(self.id);
                    old.clients.unregister(self.id);
                }
                self.tracking = None;
                self.subscribed = false;
                let k = ctx.keyspaces.of(tenant);
                self.keyspace = Some(Arc::clone(&k));
                let entry = self.new_entry(&tenant.name);
                k.clients.register(Arc::clone(&entry));
                self.entry = Some(entry);
                k
            }
        }
    }
}

/// An invalidation ready to write.
#[derive(Debug)]
pub struct Pushed {
    /// The push (RESP3) or pub/sub message (redirect).
    pub frame: Frame,
    ack: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Pushed {
    /// Tells the writing command, which holds its reply until then, that the push is out.
    pub fn written(self) {
        if let Some(ack) = self.ack {
            let _ = ack.send(());
        }
    }
}

/// How long a write waits for the invalidations it caused to be written out before replying
/// anyway (a tracking connection that does not read must not stall writers).
const ACK_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

/// Awaits the invalidations the command just run caused (see `tracking::take_acks`).
async fn await_invalidations(acks: Vec<tokio::sync::oneshot::Receiver<()>>) {
    if acks.is_empty() {
        return;
    }
    let all = async {
        for ack in acks {
            let _ = ack.await;
        }
    };
    // Boxed: the timer is large, and this future is part of every command's.
    let _ = Box::pin(tokio::time::timeout(ACK_WAIT, all)).await;
}

/// What the connection does after a command.
#[derive(Debug)]
pub struct Reply {
    /// The frame to send.
    pub frame: Frame,
    /// Close the connection after sending it (`QUIT`).
    pub close: bool,
    /// Writes the reply must not be sent before: a write-behind `CACHE.SET`
    /// is answered after its fsync. The connection keeps running the
    /// commands a client pipelined meanwhile (their writes share the
    /// fsync), and sends every reply in order (see `server::run`).
    pub durable: Vec<crate::cache::write_behind::Ack>,
}

impl From<Frame> for Reply {
    fn from(frame: Frame) -> Self {
        Reply {
            frame,
            close: false,
            durable: Vec::new(),
        }
    }
}

impl Reply {
    /// The frame to send once every write it waits for is on disk: its own,
    /// or the error of the first write that could not be made durable.
    pub async fn settled_frame(self) -> Frame {
        for ack in self.durable {
            if let Err(error) = ack.wait().await {
                return error_frame(&error);
            }
        }
        self.frame
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
    /// The admin credential for `PLUGIN.*` in single-tenant mode; `None`
    /// disables those commands there.
    pub admin_credential: Option<std::sync::Arc<crate::credential::Credential>>,
    /// Each tenant's transaction lock, `WATCH` registry and tracking table.
    pub keyspaces: Keyspaces,
    /// Counters `INFO` reports.
    pub counters: Counters,
}

/// Server-wide command counters for `INFO stats`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Commands run (`total_commands_processed`).
    pub commands: std::sync::atomic::AtomicU64,
    /// Commands refused before running: unknown, wrong arity, not authenticated
    /// (`rejected_calls`).
    pub rejected: std::sync::atomic::AtomicU64,
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
/// plugin thread) is the [`Cache`]'s decision, not the command's. Plain
/// commands run inline, holding the tenant's keyspace lock shared (or
/// exclusive for multi-key writes) so that `EXEC` runs as one unit. When
/// metrics or tracing are on, `observe` times and traces it.
pub async fn dispatch(ctx: &Context, session: &mut Session, args: Vec<Bytes>) -> Reply {
    let probe = crate::observe::CommandProbe::start(&args);
    // One `run` future awaited in place: each call site of it would be a
    // field of this future of its own, and the future is moved per command.
    // A traced command (sampled) takes the boxed one.
    let mut reply = match probe
        .as_ref()
        .and_then(crate::observe::CommandProbe::context)
    {
        Some(span) => Box::pin(crate::observe::trace::scope(span, run(ctx, session, args))).await,
        None => run(ctx, session, args).await,
    };
    if let Some(probe) = probe {
        probe.finish(
            &reply.frame,
            session.tenant.as_ref().map(|t| t.name.as_str()),
        );
    }
    reply.durable = std::mem::take(&mut *session.durable.lock());
    reply
}

/// Counts the command for `INFO stats` around [`dispatch_inner`].
async fn run(ctx: &Context, session: &mut Session, args: Vec<Bytes>) -> Reply {
    use std::sync::atomic::Ordering::Relaxed;
    ctx.counters.commands.fetch_add(1, Relaxed);
    let head = (args.first().cloned(), args.get(1).cloned());
    let reply = dispatch_inner(ctx, session, args).await;
    session.publish(head);
    if let Frame::Error(text) = &reply.frame
        && (text.starts_with("ERR unknown command")
            || text.starts_with("ERR wrong number of arguments")
            || text.starts_with("NOAUTH"))
    {
        ctx.counters.rejected.fetch_add(1, Relaxed);
    }
    reply
}

async fn dispatch_inner(ctx: &Context, session: &mut Session, args: Vec<Bytes>) -> Reply {
    let name = args
        .first()
        .map(|n| String::from_utf8_lossy(n).to_ascii_uppercase())
        .unwrap_or_default();
    // What works before authentication.
    match name.as_str() {
        "AUTH" => return reply(Box::pin(auth::run(&mut Parse::new(args), session, ctx)).await),
        "HELLO" => return reply(Box::pin(hello::run(&mut Parse::new(args), session, ctx)).await),
        "QUIT" => {
            return Reply {
                frame: Frame::ok(),
                close: true,
                durable: Vec::new(),
            };
        }
        _ => {}
    }
    let Some(tenant) = session.tenant.as_ref().map(Seat::tenant) else {
        return Frame::error("NOAUTH Authentication required.").into();
    };
    let keyspace = session.keyspace_of(ctx, &tenant);
    if session.subscribed
        && session.protocol == Protocol::Resp2
        && !matches!(
            name.as_str(),
            "SUBSCRIBE" | "UNSUBSCRIBE" | "PSUBSCRIBE" | "PUNSUBSCRIBE" | "PING" | "RESET"
        )
    {
        return Frame::error(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            name.to_ascii_lowercase()
        ))
        .into();
    }
    match name.as_str() {
        "SUBSCRIBE" if session.multi.is_none() => {
            return tracking_cmd::subscribe(args, session, &keyspace).into();
        }
        "UNSUBSCRIBE" if session.multi.is_none() => {
            return tracking_cmd::unsubscribe(session, &keyspace).into();
        }
        "MULTI" => return multi::multi(session).into(),
        "EXEC" => {
            let frame = multi::exec(ctx, session, &tenant, &keyspace);
            await_invalidations(tracking::take_acks()).await;
            return frame.into();
        }
        "DISCARD" => return multi::discard(session).into(),
        "WATCH" => return multi::watch(&mut Parse::new(args), session, &keyspace).into(),
        "UNWATCH" if session.multi.is_none() => return multi::unwatch(session).into(),
        "RESET" => return reset(session, &keyspace).into(),
        _ if session.multi.is_some() => return multi::queue(session, args).into(),
        _ => {}
    }
    let tracks_reads = tracks_reads(session);
    // Remembered before the read runs, so a change racing with it is announced (the reply
    // is written before the push) instead of leaving the client's copy untracked.
    if tracks_reads && let Some(keys) = plain_reads(&name, &args) {
        keyspace.tracking.read(session.id, &keys);
    }
    let mut parse = Parse::new(args);
    let done = {
        let exclusive = matches!(name.as_str(), "MSET" | "MSETNX" | "RENAME");
        let _shared = (!exclusive).then(|| keyspace.exclusive.read());
        let _unit = exclusive.then(|| keyspace.exclusive.write());
        run_sync(&name, &mut parse, ctx, session, &tenant, &keyspace)
    };
    await_invalidations(tracking::take_acks()).await;
    if name != "CLIENT" {
        session.caching = None;
    }
    if let Some(result) = done {
        return reply(result);
    }
    let cache = &tenant.cache;
    let id = session.id;
    let track = |cache_name: &str, key: &str| {
        if tracks_reads {
            let key = keyspace::entry_key(cache_name, key.as_bytes());
            keyspace.tracking.read(id, &[key]);
        }
    };
    // The frequent commands are awaited in place; the others are boxed, so
    // that every command's future (moved on each call) is not as large as
    // the largest of theirs. Pinned here and lent to `run_as`, so the
    // command's state is not moved into it (its future would hold a second copy).
    let command = std::pin::pin!(async {
        match name.as_str() {
            "CACHE.SET" => cache_set::run(&mut parse, cache, session, false).await,
            "CACHE.PSETEX" => cache_set::run(&mut parse, cache, session, true).await,
            "CACHE.GET" => cache_get::run(&mut parse, cache, session, track).await,
            "CACHE.GETMETA" => cache_get::run_meta(&mut parse, cache, session, track).await,
            "CACHE.DEL" => cache_del::run(&mut parse, cache).await,
            "CACHE.KEY" => cache_key::run(&mut parse, cache).await,
            "CACHE.TTL" => cache_ttl::run(&mut parse, cache).await,
            "CACHE.LEASE" => Box::pin(cache_lease::lease(&mut parse, cache, session)).await,
            "CACHE.FILL" => Box::pin(cache_lease::fill(&mut parse, cache, session)).await,
            "CACHE.DLQ" => Box::pin(cache_dlq::run(&mut parse, cache)).await,
            "CACHE.VALIDATE" => Box::pin(cache_validate::run(&mut parse, cache, session)).await,
            "CACHE.PLAN" => Box::pin(cache_plan::run(&mut parse, cache, session)).await,
            "CACHE.EVENT" => Box::pin(cache_event::run(&mut parse, cache, session)).await,
            "PLUGIN.LOAD" | "PLUGIN.RELOAD" | "PLUGIN.UNLOAD" | "PLUGIN.LIST"
                if !may_manage_plugins(ctx, session) =>
            {
                Ok(admin_required(ctx))
            }
            "PLUGIN.LOAD" => Box::pin(plugin_load::run(&mut parse, &tenant, ctx)).await,
            "PLUGIN.RELOAD" => Box::pin(plugin_reload::run(&mut parse, &tenant)).await,
            "PLUGIN.UNLOAD" => Box::pin(plugin_unload::run(&mut parse, &tenant)).await,
            "PLUGIN.LIST" => plugin_list::run(&mut parse, &tenant),
            _ => Ok(unknown_command(&name, &parse.rest())),
        }
    });
    // Definition entries it changes are announced as this connection's writes.
    let (result, acks) = tracking::run_as(id, command).await;
    await_invalidations(acks).await;
    reply(result)
}

/// Runs a command that never awaits (plain keyspace, connection, server), or `None` when
/// `name` is not one. The caller holds the keyspace lock; `EXEC` calls it for each queued
/// command.
fn run_sync(
    name: &str,
    parse: &mut Parse,
    ctx: &Context,
    session: &mut Session,
    tenant: &Arc<Tenant>,
    keyspace: &Arc<Keyspace>,
) -> Option<Result<Frame, ParseError>> {
    let cache = &tenant.cache;
    let facts = &ctx.facts;
    let _writer = tracking::writing_as(session.id);
    Some(match name {
        "PING" => ping::run(parse),
        "ECHO" => echo::run(parse),
        "GET" => get::run(parse, cache),
        "GETDEL" => get::getdel(parse, cache),
        "GETEX" => get::getex(parse, cache),
        "SET" => set::run(parse, cache),
        "SETNX" => set::setnx(parse, cache),
        "SETEX" => set::setex(parse, cache, false),
        "PSETEX" => set::setex(parse, cache, true),
        "GETSET" => set::getset(parse, cache),
        "MGET" => mget::run(parse, cache),
        "MSET" => mset::run(parse, cache),
        "MSETNX" => mset::msetnx(parse, cache),
        "INCR" => incr::run(parse, cache, Some(1), false),
        "DECR" => incr::run(parse, cache, Some(1), true),
        "INCRBY" => incr::run(parse, cache, None, false),
        "DECRBY" => incr::run(parse, cache, None, true),
        "INCRBYFLOAT" => incr::incrbyfloat(parse, cache),
        "APPEND" => append::run(parse, cache),
        "STRLEN" => append::strlen(parse, cache),
        "DEL" | "UNLINK" => del::run(parse, cache),
        "EXISTS" => exists::run(parse, cache),
        "EXPIRE" => expire::run(parse, cache, expire::Unit::Seconds),
        "PEXPIRE" => expire::run(parse, cache, expire::Unit::Millis),
        "EXPIREAT" => expire::run(parse, cache, expire::Unit::UnixSeconds),
        "PEXPIREAT" => expire::run(parse, cache, expire::Unit::UnixMillis),
        "PERSIST" => expire::persist(parse, cache),
        "TTL" => ttl::run(parse, cache, ttl::Unit::Seconds),
        "PTTL" => ttl::run(parse, cache, ttl::Unit::Millis),
        "EXPIRETIME" => ttl::run(parse, cache, ttl::Unit::UnixSeconds),
        "PEXPIRETIME" => ttl::run(parse, cache, ttl::Unit::UnixMillis),
        "SCAN" => scan::run(parse, cache),
        "KEYS" => scan::keys(parse, cache),
        "RANDOMKEY" => scan::randomkey(parse, cache),
        "TYPE" => scan::key_type(parse, cache),
        "RENAME" => rename::run(parse, cache),
        "TOUCH" => rename::touch(parse, cache),
        "HSET" => hash::hset(parse, cache, false),
        "HMSET" => hash::hset(parse, cache, true),
        "HSETNX" => hash::hsetnx(parse, cache),
        "HGET" => hash::hget(parse, cache),
        "HMGET" => hash::hmget(parse, cache),
        "HGETALL" => hash::list(parse, cache, hash::Listing::All),
        "HKEYS" => hash::list(parse, cache, hash::Listing::Keys),
        "HVALS" => hash::list(parse, cache, hash::Listing::Values),
        "HDEL" => hash::hdel(parse, cache),
        "HEXISTS" => hash::hexists(parse, cache),
        "HLEN" => hash::hlen(parse, cache),
        "HINCRBY" => hash::hincrby(parse, cache),
        "DBSIZE" => dbsize::run(parse, cache),
        "DEBUG" => debug::run(parse, cache),
        "FLUSHALL" | "FLUSHDB" => flushall::run(parse, cache),
        "INFO" => info::run(parse, cache, facts, &ctx.counters, keyspace),
        "COMMAND" => command::run(parse),
        "CLIENT" => client::run(parse, session, keyspace),
        "CONFIG" => config_get::run(parse, cache, keyspace),
        "SELECT" => select(parse),
        "UNWATCH" => Ok(multi::unwatch(session)),
        "CACHE.INFO" => cache_info::run(parse, cache),
        "CACHE.LIST" => cache_list::run(parse, cache),
        "CACHE.FORMAT" => cache_format::run(parse, session),
        _ => return None,
    })
}

/// Whether this command's reads are remembered for the session (default-mode tracking, and
/// `OPTIN`/`OPTOUT` as `CLIENT CACHING` says): Redis remembers them so it can tell the
/// connection when they change.
fn tracks_reads(session: &Session) -> bool {
    let Some(tracking) = session.tracking.as_ref() else {
        return false;
    };
    if tracking.mode.bcast {
        false
    } else if tracking.optin {
        session.caching == Some(true)
    } else if tracking.optout {
        session.caching != Some(false)
    } else {
        true
    }
}

/// The plain keys a read command reads (`None` for writes and keyless commands).
fn plain_reads(name: &str, args: &[Bytes]) -> Option<Vec<Bytes>> {
    let spec = command::lookup(name)?;
    let keys = command::keys_of(spec, args);
    (command::is_read(spec) && !keys.is_empty()).then_some(keys)
}

/// An invalidation as the frame the connection writes.
fn push_frame(invalidation: Invalidation) -> Frame {
    let keys = invalidation.keys.map_or(Frame::Null, |keys| {
        Frame::Array(keys.into_iter().map(Frame::Bulk).collect())
    });
    if invalidation.as_message {
        Frame::Push(vec![
            Frame::bulk("message"),
            Frame::bulk(tracking_cmd::INVALIDATE_CHANNEL),
            keys,
        ])
    } else {
        Frame::Push(vec![Frame::bulk("invalidate"), keys])
    }
}

/// `RESET`: back to a fresh connection's state (keeping its tenant), as Redis does.
fn reset(session: &mut Session, keyspace: &Keyspace) -> Frame {
    keyspace.tracking.disable(session.id);
    keyspace.tracking.unsubscribe(session.id);
    session.tracking = None;
    session.caching = None;
    session.subscribed = false;
    session.multi = None;
    session.watch = None;
    session.protocol = Protocol::Resp2;
    session.format = ValueFormat::Json;
    session.name = None;
    Frame::Simple("RESET".into())
}

/// Redis's reply to a command it does not know.
pub(crate) fn unknown_command(name: &str, args: &[Bytes]) -> Frame {
    Frame::error(format!(
        "ERR unknown command '{}', with args beginning with: {}",
        printable(&name.to_ascii_lowercase(), 128),
        args.iter()
            .take(8)
            .map(|a| format!("'{}'", printable(&String::from_utf8_lossy(a), 128)))
            .collect::<Vec<_>>()
            .join(" ")
    ))
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
    if ctx.admin_credential.is_some() {
        Frame::error("NOPERM PLUGIN commands need AUTH admin <password> first")
    } else {
        Frame::error("NOPERM PLUGIN commands are disabled: set [admin] password_hash in the config")
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

/// A value as MessagePack and the key parts after it, or the error reply to send.
pub(crate) type ValueAndParts = Result<(Vec<u8>, Vec<String>), Frame>;

/// A value argument then the key parts (`CACHE.SET`, `CACHE.FILL`).
pub(crate) fn value_and_parts(
    parse: &mut Parse,
    cache: &Cache,
    session: &Session,
) -> Result<ValueAndParts, ParseError> {
    let value = parse.next_bytes()?;
    let parts = key_parts(parse)?;
    Ok(value_msgpack(cache, session, &value).map(|msgpack| (msgpack, parts)))
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

/// A bulk reply from shared bytes, or null.
pub(crate) fn bulk_or_null_bytes(value: Option<Bytes>) -> Frame {
    value.map_or(Frame::Null, Frame::Bulk)
}

/// Shared shape of the invalidation reply: outcome, count, per-cache counts, failures, and
/// the caches cleared because the work ran over its budget (`fallback`, usually empty).
pub(crate) fn invalidation_frame(outcome: &Outcome) -> Frame {
    let (count, per_cache, failures, cleared) = match outcome {
        Outcome::Invalidated { count, per_cache } => (*count, per_cache, &[][..], &[][..]),
        Outcome::PartiallyInvalidated {
            count,
            per_cache,
            failures,
        } => (*count, per_cache, &failures[..], &[][..]),
        Outcome::Fallback {
            count,
            per_cache,
            failures,
            cleared,
        } => (*count, per_cache, &failures[..], &cleared[..]),
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
        (
            Frame::bulk("fallback"),
            Frame::Array(cleared.iter().map(|c| Frame::bulk(c.clone())).collect()),
        ),
    ])
}
