//! The accept loop: one task per connection, a cap on connections, and a
//! graceful drain on shutdown. Each connection reads a command, runs it,
//! queues the reply, and flushes only when no further command is already
//! buffered, so a pipelined batch costs one write. Background chores (expiry
//! sweep, quotas) are in `housekeeping.rs`, on a thread of their own.

pub mod housekeeping;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

pub(crate) mod clients;
pub(crate) mod tracking;

use crate::cmd::{self, Session};
use hoard_resp::{Connection, ConnectionError, Frame, Limits};

/// What every connection needs to know about the server.
#[derive(Clone)]
pub struct ServerContext {
    /// What commands reach: cache, lifecycle, facts, admin credential.
    pub commands: Arc<cmd::Context>,
    /// RESP parser limits.
    pub limits: Limits,
    /// Connections served at once.
    pub max_clients: usize,
}

/// Replies a connection holds back while write-behind fsyncs are pending,
/// at most: past it, the connection waits for them before reading on.
const MAX_HELD_REPLIES: usize = 1024;

/// Serves `listener` until `shutdown` resolves, then stops accepting and
/// gives open connections a moment to finish.
pub async fn run(
    listener: TcpListener,
    context: ServerContext,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(context.max_clients.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let next_id = AtomicU64::new(1);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(error) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                let context = context.clone();
                let stop = stop_rx.clone();
                match Arc::clone(&permits).try_acquire_owned() {
                    Ok(permit) => {
                        connections.spawn(async move {
                            tracing::debug!(id, %peer, "connection opened");
                            handle(stream, id, &context, stop).await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        connections.spawn(refuse(stream, context.limits.clone()));
                    }
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let _ = stop_tx.send(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), drain)
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 5 s; closing them");
        connections.abort_all();
    }
}

async fn refuse(stream: TcpStream, limits: Limits) {
    let mut connection = Connection::new(stream, limits);
    connection.queue(&Frame::error("ERR max number of clients reached"));
    let _ = connection.flush().await;
}

async fn handle(
    stream: TcpStream,
    id: u64,
    context: &ServerContext,
    mut stop: watch::Receiver<bool>,
) {
    let mut session = Session::new(id, context.commands.tenants.initial_seat());
    {
        use std::os::fd::AsRawFd;
        let addr = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let laddr = stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        session.set_socket(addr, laddr, i64::from(stream.as_raw_fd()));
    }
    let kill = session.kill_signal();
    // Before AUTH a client gets Redis's tighter limits: a stranger cannot make
    // the server buffer a 512 MiB argument.
    let mut authenticated = session.tenant.is_some();
    let limits = if authenticated {
        context.limits.clone()
    } else {
        Limits::unauthenticated()
    };
    let mut connection = Connection::new(stream, limits);
    let mut held: std::collections::VecDeque<cmd::Reply> = std::collections::VecDeque::new();
    // Made once per connection, not once per command: a fresh `notified()`
    // or `changed()` locks the notifier's waiter list to enter it and again
    // to leave it, about 2% of the CPU of a plain GET.
    let mut killed = std::pin::pin!(kill.notified());
    let mut stopped = std::pin::pin!(stop.changed());
    loop {
        // Never wait for the client with replies held back.
        if !held.is_empty()
            && !connection.has_buffered_command()
            && let Err(error) = send_held(&mut connection, &mut held).await
        {
            tracing::debug!(id, %error, "write failed");
            break;
        }
        // Biased: a kill or shutdown wins over a command already buffered, and an
        // invalidation goes out before the next command is read.
        let command = tokio::select! {
            biased;
            () = &mut killed => {
                // `CLIENT KILL`: whatever reply is queued goes out, then the connection closes.
                let _ = connection.flush().await;
                break;
            }
            _ = &mut stopped => break,
            push = session.next_push() => {
                // A client-side-caching invalidation: written at once, between replies.
                connection.set_protocol(session.protocol);
                connection.queue(&push.frame);
                if let Err(error) = connection.flush().await {
                    tracing::debug!(id, %error, "write failed");
                    break;
                }
                push.written();
                continue;
            }
            command = connection.read_command() => command,
        };
        let args = match command {
            Ok(Some(args)) => args,
            Ok(None) => break,
            Err(ConnectionError::Protocol(error)) => {
                // As Redis does: say what was wrong, then close, because the
                // stream can no longer be trusted to be in step.
                connection.queue(&Frame::error(format!("ERR Protocol error: {error}")));
                let _ = connection.flush().await;
                break;
            }
            Err(ConnectionError::Io(error)) => {
                tracing::debug!(id, %error, "connection closed by I/O error");
                break;
            }
        };
        if args.is_empty() {
            continue;
        }
        let reply = cmd::dispatch(&context.commands, &mut session, args).await;
        connection.set_protocol(session.protocol);
        if !authenticated && session.tenant.is_some() {
            authenticated = true;
            connection.set_limits(context.limits.clone());
        }
        let close = reply.close;
        // A reply waiting for a write-behind fsync holds back the replies
        // after it (they go in order), but not the commands after it: those
        // the client already pipelined run now, so their writes join the
        // same group commit.
        if reply.durable.is_empty() && held.is_empty() {
            connection.queue(&reply.frame);
        } else {
            held.push_back(reply);
        }
        if (close || !connection.has_buffered_command() || held.len() >= MAX_HELD_REPLIES)
            && let Err(error) = send_held(&mut connection, &mut held).await
        {
            tracing::debug!(id, %error, "write failed");
            break;
        }
        if close {
            break;
        }
    }
    tracing::debug!(id, "connection closed");
}

/// Queues the held replies in order, each once its writes are on disk, then
/// flushes everything queued.
async fn send_held(
    connection: &mut Connection,
    held: &mut std::collections::VecDeque<cmd::Reply>,
) -> std::io::Result<()> {
    while let Some(reply) = held.pop_front() {
        connection.queue(&reply.settled_frame().await);
    }
    connection.flush().await
}
