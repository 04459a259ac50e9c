//! The connections of one tenant, for `CLIENT LIST` and `CLIENT KILL`: what each last did,
//! in the fields Redis's `CLIENT LIST` line shows, and a signal that closes it.
//!
//! A connection's own session is the truth about it; after each command it copies the few
//! fields another connection may ask about into its [`ClientEntry`] (one uncontended lock).
//! The registry is per tenant, so a tenant never lists or kills another's connections.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// What `CLIENT LIST` shows of a connection other than the caller.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientState {
    /// `CLIENT SETNAME`.
    pub(crate) name: Option<String>,
    /// `CLIENT SETINFO LIB-NAME` / `LIB-VER`.
    pub(crate) lib_name: Option<String>,
    pub(crate) lib_ver: Option<String>,
    /// 2 or 3.
    pub(crate) resp: u8,
    /// The last command, lower case (`client|list` for a subcommand).
    pub(crate) cmd: String,
    /// When the last command ran (`idle`).
    pub(crate) last_at: Option<Instant>,
    /// Redis's flag letters (`N`, `x`, `t`, `P`).
    pub(crate) flags: String,
    /// Queued commands in `MULTI`, or -1.
    pub(crate) multi: i64,
    /// Keys `WATCH`ed.
    pub(crate) watch: usize,
    /// Subscribed to `__redis__:invalidate`.
    pub(crate) subscribed: bool,
    /// `CLIENT TRACKING … REDIRECT id`, or -1.
    pub(crate) redirect: i64,
}

/// One connection as its tenant's other connections see it.
#[derive(Debug)]
pub(crate) struct ClientEntry {
    /// `CLIENT ID`.
    pub(crate) id: u64,
    /// Peer address (`addr`).
    pub(crate) addr: String,
    /// Local address (`laddr`).
    pub(crate) laddr: String,
    /// The socket's descriptor (`fd`).
    pub(crate) fd: i64,
    /// When the connection was accepted (`age`).
    pub(crate) started: Instant,
    /// The tenant it acts for (`user`).
    pub(crate) user: String,
    /// Refreshed after every command.
    pub(crate) state: Mutex<ClientState>,
    /// Wakes the connection loop, which then closes the connection.
    pub(crate) kill: Arc<Notify>,
}

impl ClientEntry {
    /// The `CLIENT LIST` line of this connection, from `state`.
    pub(crate) fn line(&self, state: &ClientState, now: Instant) -> String {
        let idle = state
            .last_at
            .map_or(0, |at| now.saturating_duration_since(at).as_secs());
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={idle} flags={} db=0 sub={} psub=0 ssub=0 multi={} watch={} events=r cmd={} user={} redir={} resp={} lib-name={} lib-ver={}\n",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            state.name.as_deref().unwrap_or(""),
            now.saturating_duration_since(self.started).as_secs(),
            if state.flags.is_empty() {
                "N"
            } else {
                &state.flags
            },
            i64::from(state.subscribed),
            state.multi,
            state.watch,
            if state.cmd.is_empty() {
                "NULL"
            } else {
                &state.cmd
            },
            self.user,
            state.redirect,
            state.resp,
            state.lib_name.as_deref().unwrap_or(""),
            state.lib_ver.as_deref().unwrap_or(""),
        )
    }
}

/// One tenant's connections, by id.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    by_id: Mutex<BTreeMap<u64, Arc<ClientEntry>>>,
}

impl Clients {
    /// Lists `entry` (a connection that authenticated as this tenant).
    pub(crate) fn register(&self, entry: Arc<ClientEntry>) {
        self.by_id.lock().insert(entry.id, entry);
    }

    /// Forgets connection `id` (closed, or now acting for another tenant).
    pub(crate) fn unregister(&self, id: u64) {
        self.by_id.lock().remove(&id);
    }

    /// How many connections the tenant has (`connected_clients`).
    pub(crate) fn len(&self) -> usize {
        self.by_id.lock().len()
    }

    /// Every connection, in id order.
    pub(crate) fn all(&self) -> Vec<Arc<ClientEntry>> {
        self.by_id.lock().values().cloned().collect()
    }
}
