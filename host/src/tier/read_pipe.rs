//! A pipelined connection for the hottest L2 command, `GET` on a standalone
//! Redis, beside the `redis` crate's connection that does everything else.
//!
//! Why: through the general client an L2 read went through the reconnecting
//! manager's shared future, two boxed futures, a channel to the multiplexer
//! task, its own response timer, a combinator parser and a `Value` — about
//! 11% of the CPU of an L2 hit (perf, `bench/tiers.sh l2`). Here a read
//! appends its request bytes under a lock and waits on a oneshot; one writer
//! task writes whatever gathered in one syscall; one reader task parses the
//! bulk replies and hands them to the waiting reads in order (Redis answers
//! in order on one connection).
//!
//! Rules:
//! - The caller bounds the wait (the tier's hard timeout and breaker). A
//!   reply that comes after its reader gave up is parsed and dropped, so the
//!   order stays right after a hung Redis wakes up.
//! - When the link fails (closed, reset, a reply that is not a bulk string,
//!   too many reads waiting), every waiting read fails at once and the pipe
//!   stays broken: its [`PipeSlot`] opens a new one in the background (with
//!   backoff) and reads go through the `redis` crate meanwhile.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use bytes::{Buf, BytesMut};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, oneshot};

/// Reads waiting for a reply beyond which the link counts as failed (a
/// Redis that stopped answering, with the breaker not open yet).
const MAX_WAITING: usize = 65_536;

/// Why a read through the pipe failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PipeError {
    /// The link is gone (or could not be opened); the read was not answered.
    #[error("L2 read link: {0}")]
    Broken(String),
    /// Redis answered with an error.
    #[error("L2: {0}")]
    Reply(String),
}

/// The state of a store's read pipe, for `INFO l2`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PipeLink {
    /// No pipe: a Cluster, a Unix socket or TLS (reads use the `redis` crate).
    #[default]
    Off,
    /// Reads go through it.
    Up,
    /// Broken or not connected yet: reads use the `redis` crate meanwhile.
    Down,
}

impl PipeLink {
    /// As `INFO` shows it.
    pub fn name(self) -> &'static str {
        match self {
            PipeLink::Off => "off",
            PipeLink::Up => "up",
            PipeLink::Down => "down",
        }
    }
}

/// What the read pipe did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipeStats {
    /// Its state now.
    pub link: PipeLink,
    /// Reads it answered (hits, misses and Redis errors).
    pub reads: u64,
    /// Times it was (re)opened.
    pub opens: u64,
}

/// Where and how to connect: a plain TCP address and the handshake the URL asks for.
#[derive(Debug, Clone)]
pub struct Target {
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<String>,
    db: i64,
}

impl Target {
    /// The target of a `redis://` URL; `None` for addresses the pipe does not
    /// speak (Unix sockets, TLS): reads then stay on the `redis` crate.
    pub fn from_url(url: &str) -> Option<Target> {
        let info: redis::ConnectionInfo = url.parse().ok()?;
        match info.addr {
            redis::ConnectionAddr::Tcp(host, port) => Some(Target {
                host,
                port,
                username: info.redis.username,
                password: info.redis.password,
                db: info.redis.db,
            }),
            _ => None,
        }
    }
}

type Answer = Result<Option<Vec<u8>>, PipeError>;

struct State {
    /// Request bytes not handed to the writer yet.
    out: Vec<u8>,
    /// One per request written or queued, oldest first.
    waiting: VecDeque<oneshot::Sender<Answer>>,
    /// Why the link failed, once it has.
    broken: Option<String>,
}

struct Shared {
    state: Mutex<State>,
    wake_writer: Notify,
}

impl Shared {
    fn fail(&self, why: &str) {
        let waiting = {
            let mut state = self.state.lock();
            if state.broken.is_none() {
                state.broken = Some(why.to_owned());
            }
            state.out.clear();
            std::mem::take(&mut state.waiting)
        };
        for waiter in waiting {
            let _ = waiter.send(Err(PipeError::Broken(why.to_owned())));
        }
        // The writer may be waiting for work: let it see the link is gone.
        self.wake_writer.notify_one();
    }
}

/// One pipelined connection for reads.
pub struct ReadPipe {
    shared: Arc<Shared>,
    tasks: [tokio::task::AbortHandle; 2],
    /// Reads answered (shared with the slot, across reopenings).
    reads: Arc<AtomicU64>,
}

impl Drop for ReadPipe {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl ReadPipe {
    /// Connects, authenticates and selects the database the URL names. The
    /// caller bounds the time it may take.
    pub async fn connect(target: &Target, reads: Arc<AtomicU64>) -> Result<ReadPipe, PipeError> {
        let broken = |e: std::io::Error| PipeError::Broken(e.to_string());
        let mut stream = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(broken)?;
        stream.set_nodelay(true).map_err(broken)?;
        let mut hello = Vec::new();
        let mut replies = 0;
        if let Some(password) = &target.password {
            match &target.username {
                Some(user) => {
                    push_command(&mut hello, &[b"AUTH", user.as_bytes(), password.as_bytes()])
                }
                None => push_command(&mut hello, &[b"AUTH", password.as_bytes()]),
            }
            replies += 1;
        }
        if target.db != 0 {
            push_command(&mut hello, &[b"SELECT", target.db.to_string().as_bytes()]);
            replies += 1;
        }
        if replies > 0 {
            stream.write_all(&hello).await.map_err(broken)?;
            let mut buf = BytesMut::new();
            while replies > 0 {
                match parse(&buf).map_err(PipeError::Broken)? {
                    Some((Reply::Error(e), _)) => return Err(PipeError::Reply(e)),
                    Some((_, used)) => {
                        buf.advance(used);
                        replies -= 1;
                    }
                    None => {
                        if stream.read_buf(&mut buf).await.map_err(broken)? == 0 {
                            return Err(PipeError::Broken("closed during the handshake".into()));
                        }
                    }
                }
            }
        }
        let (read, write) = stream.into_split();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                out: Vec::with_capacity(16 * 1024),
                waiting: VecDeque::new(),
                broken: None,
            }),
            wake_writer: Notify::new(),
        });
        let writer = tokio::spawn(write_loop(Arc::clone(&shared), write)).abort_handle();
        let reader = tokio::spawn(read_loop(Arc::clone(&shared), read)).abort_handle();
        Ok(ReadPipe {
            shared,
            tasks: [writer, reader],
            reads,
        })
    }

    /// Whether the link has failed (a new pipe is needed).
    pub fn is_broken(&self) -> bool {
        self.shared.state.lock().broken.is_some()
    }

    /// `GET key`: the value, or `None` when Redis has no such key.
    pub async fn get(&self, key: &[u8]) -> Answer {
        let (tx, rx) = oneshot::channel();
        let wake = {
            let mut state = self.shared.state.lock();
            if let Some(why) = &state.broken {
                return Err(PipeError::Broken(why.clone()));
            }
            if state.waiting.len() >= MAX_WAITING {
                drop(state);
                self.shared.fail("too many reads waiting for Redis");
                return Err(PipeError::Broken("too many reads waiting for Redis".into()));
            }
            let was_empty = state.out.is_empty();
            push_command(&mut state.out, &[b"GET", key]);
            state.waiting.push_back(tx);
            was_empty
        };
        if wake {
            self.shared.wake_writer.notify_one();
        }
        let answer = rx
            .await
            .unwrap_or_else(|_| Err(PipeError::Broken("link closed".into())));
        if !matches!(answer, Err(PipeError::Broken(_))) {
            self.reads.fetch_add(1, Ordering::Relaxed);
        }
        answer
    }
}

/// A store's read pipe: opened in the background once the URL is known
/// (only a plain TCP one), and again, with backoff, whenever it breaks.
#[derive(Default)]
pub struct PipeSlot {
    pipe: Arc<ArcSwapOption<ReadPipe>>,
    target: OnceLock<(Target, Duration)>,
    opening: Arc<AtomicBool>,
    reads: Arc<AtomicU64>,
    opens: Arc<AtomicU64>,
}

impl PipeSlot {
    /// Starts opening a pipe to `url`, each attempt bounded by `timeout`;
    /// nothing for a URL the pipe does not speak.
    pub fn start(&self, url: &str, timeout: Duration) {
        if let Some(target) = Target::from_url(url) {
            let _ = self.target.set((target, timeout));
            self.open();
        }
    }

    /// The pipe, if it is up; otherwise it is (re)opened in the background
    /// and the caller reads another way meanwhile.
    pub fn up(&self) -> Option<Arc<ReadPipe>> {
        if let Some(pipe) = self.pipe.load_full()
            && !pipe.is_broken()
        {
            return Some(pipe);
        }
        self.open();
        None
    }

    /// Its state and counts.
    pub fn stats(&self) -> PipeStats {
        let link = if self.target.get().is_none() {
            PipeLink::Off
        } else if self.pipe.load().as_ref().is_some_and(|p| !p.is_broken()) {
            PipeLink::Up
        } else {
            PipeLink::Down
        };
        PipeStats {
            link,
            reads: self.reads.load(Ordering::Relaxed),
            opens: self.opens.load(Ordering::Relaxed),
        }
    }

    /// Opens a pipe in a background task (one at a time), retrying with
    /// backoff until one is up.
    fn open(&self) {
        // Called by every read while the pipe is down: only the first one
        // past the `opening` flag pays for more than an atomic swap.
        let (Some(target), Ok(runtime)) =
            (self.target.get(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        if self.opening.swap(true, Ordering::AcqRel) {
            return;
        }
        let (target, timeout) = target.clone();
        let (slot, opening, opens, reads) = (
            Arc::clone(&self.pipe),
            Arc::clone(&self.opening),
            Arc::clone(&self.opens),
            Arc::clone(&self.reads),
        );
        runtime.spawn(async move {
            let mut failures = 0u32;
            loop {
                let connect = ReadPipe::connect(&target, Arc::clone(&reads));
                let timed_out = || PipeError::Broken("connect timed out".into());
                match crate::timeout::within(timeout, timed_out, connect).await {
                    Ok(pipe) => {
                        slot.store(Some(Arc::new(pipe)));
                        opens.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!("L2 read pipe connected");
                        break;
                    }
                    Err(error) => tracing::debug!(%error, "L2 read pipe: not connected yet"),
                }
                super::store::reconnect_pause(&mut failures).await;
            }
            opening.store(false, Ordering::Release);
        });
    }
}

async fn write_loop(shared: Arc<Shared>, mut write: OwnedWriteHalf) {
    let mut batch = Vec::with_capacity(16 * 1024);
    loop {
        shared.wake_writer.notified().await;
        // Let the other tasks this worker is about to run add their reads
        // first: one write per batch instead of one per read (fewer
        // syscalls here, and fewer reads for Redis).
        tokio::task::yield_now().await;
        loop {
            {
                let mut state = shared.state.lock();
                if state.broken.is_some() {
                    return;
                }
                if state.out.is_empty() {
                    break;
                }
                std::mem::swap(&mut state.out, &mut batch);
            }
            if let Err(error) = write.write_all(&batch).await {
                shared.fail(&error.to_string());
                return;
            }
            batch.clear();
        }
    }
}

async fn read_loop(shared: Arc<Shared>, mut read: OwnedReadHalf) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut answers = Vec::new();
    let why = 'link: loop {
        match read.read_buf(&mut buf).await {
            Ok(0) => break 'link "closed by Redis".to_owned(),
            Ok(_) => {}
            Err(error) => break 'link error.to_string(),
        }
        loop {
            match parse(&buf) {
                Ok(Some((reply, used))) => {
                    buf.advance(used);
                    answers.push(match reply {
                        Reply::Bulk(value) => Ok(value),
                        Reply::Error(e) => Err(PipeError::Reply(e)),
                        Reply::Simple(s) => {
                            break 'link format!("unexpected reply +{s} to a GET");
                        }
                    });
                }
                Ok(None) => break,
                Err(error) => break 'link error,
            }
        }
        if answers.is_empty() {
            continue;
        }
        let waiters: Vec<_> = {
            let mut state = shared.state.lock();
            let n = answers.len().min(state.waiting.len());
            state.waiting.drain(..n).collect()
        };
        if waiters.len() < answers.len() {
            break 'link "a reply nobody asked for".to_owned();
        }
        for (waiter, answer) in waiters.into_iter().zip(answers.drain(..)) {
            let _ = waiter.send(answer);
        }
    };
    shared.fail(&why);
}

/// Appends one command as a RESP array of bulk strings.
fn push_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "*{}\r\n", args.len());
    for arg in args {
        let _ = write!(out, "${}\r\n", arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// A reply the pipe understands.
#[derive(Debug, PartialEq)]
enum Reply {
    Bulk(Option<Vec<u8>>),
    Simple(String),
    Error(String),
}

/// One reply from the front of `buf` and the bytes it took; `None` when it
/// is not complete yet.
fn parse(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    let Some(eol) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let line = buf.get(1..eol).unwrap_or_default();
    let text = || String::from_utf8_lossy(line).into_owned();
    match kind {
        b'+' => Ok(Some((Reply::Simple(text()), eol + 2))),
        b'-' => Ok(Some((Reply::Error(text()), eol + 2))),
        b'_' => Ok(Some((Reply::Bulk(None), eol + 2))),
        b'$' => {
            let len: i64 = std::str::from_utf8(line)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("bad bulk length {:?}", text()))?;
            if len < 0 {
                return Ok(Some((Reply::Bulk(None), eol + 2)));
            }
            let len = usize::try_from(len).map_err(|e| e.to_string())?;
            let start = eol + 2;
            let end = start.saturating_add(len);
            if buf.len() < end.saturating_add(2) {
                return Ok(None);
            }
            if buf.get(end..end + 2) != Some(b"\r\n") {
                return Err("bulk string without its CRLF".into());
            }
            Ok(Some((
                Reply::Bulk(buf.get(start..end).map(<[u8]>::to_vec)),
                end + 2,
            )))
        }
        other => Err(format!("unexpected reply type {:?}", other as char)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_parse_whole_or_wait_for_more() {
        assert_eq!(parse(b"").unwrap(), None);
        assert_eq!(parse(b"$5\r\nhel").unwrap(), None);
        assert_eq!(parse(b"$5\r\nhello\r").unwrap(), None);
        assert_eq!(
            parse(b"$5\r\nhello\r\n$-1\r\n").unwrap(),
            Some((Reply::Bulk(Some(b"hello".to_vec())), 11))
        );
        assert_eq!(parse(b"$-1\r\n").unwrap(), Some((Reply::Bulk(None), 5)));
        assert_eq!(parse(b"_\r\n").unwrap(), Some((Reply::Bulk(None), 3)));
        // Binary values, CRLF inside included.
        assert_eq!(
            parse(b"$4\r\n\r\n\0\xff\r\n").unwrap(),
            Some((Reply::Bulk(Some(b"\r\n\0\xff".to_vec())), 10))
        );
        assert_eq!(
            parse(b"-WRONGTYPE no\r\n").unwrap(),
            Some((Reply::Error("WRONGTYPE no".into()), 15))
        );
        assert_eq!(
            parse(b"+OK\r\n").unwrap(),
            Some((Reply::Simple("OK".into()), 5))
        );
    }

    #[test]
    fn malformed_replies_are_errors() {
        assert!(parse(b"$x\r\n").is_err());
        assert!(parse(b"$2\r\nabXY").is_err());
        assert!(parse(b":1\r\n").is_err());
    }

    #[test]
    fn commands_are_resp_arrays() {
        let mut out = Vec::new();
        push_command(&mut out, &[b"GET", b"k:1"]);
        assert_eq!(out, b"*2\r\n$3\r\nGET\r\n$3\r\nk:1\r\n");
    }

    #[test]
    fn only_plain_tcp_urls_get_a_pipe() {
        let t = Target::from_url("redis://:secret@127.0.0.1:6380/2").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.db), ("127.0.0.1", 6380, 2));
        assert_eq!(t.password.as_deref(), Some("secret"));
        assert!(Target::from_url("redis+unix:///tmp/redis.sock").is_none());
    }
}
