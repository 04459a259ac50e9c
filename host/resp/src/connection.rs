//! Buffered RESP I/O over one client's TCP stream: read commands, queue
//! encoded replies, flush them in batches.
//!
//! This file owns the socket and its two buffers. It must not execute
//! commands, decide authentication (the caller swaps [`Limits`]), or flush
//! on its own: the caller decides when (see [`Connection::has_buffered_command`]).

use std::io;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::decode::{self, Decoded, Limits, ProtocolError};
use super::frame::{Frame, Protocol};

/// Initial read buffer; grows only as bytes actually arrive.
const INITIAL_READ: usize = 16 * 1024;
/// Largest single growth step of the read buffer, so a declared-but-unsent
/// 512 MiB bulk costs at most this much beyond what was received.
const MAX_READ_STEP: usize = 1024 * 1024;
/// Buffers above this are replaced by fresh small ones once empty, so one
/// big request or reply doesn't pin memory for the connection's lifetime.
const SHRINK_ABOVE: usize = 256 * 1024;
/// When this many reply bytes are queued, [`Connection::has_buffered_command`]
/// answers false so the caller flushes, bounding memory under pipelining.
const FLUSH_AT: usize = 64 * 1024;

/// Why a connection can't continue.
#[derive(thiserror::Error, Debug)]
pub enum ConnectionError {
    /// The client sent bytes that aren't RESP. Reply
    /// `-ERR Protocol error: ...` (this Display text), flush, then close.
    #[error("Protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// The socket failed, or the peer closed it in the middle of a request
    /// (`ErrorKind::UnexpectedEof`).
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// One client connection: a TCP stream plus read and write buffers.
///
/// Replies are only encoded into memory by [`Connection::queue`]; nothing
/// reaches the socket until [`Connection::flush`], so a pipelined batch of
/// commands is answered with one write.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    rbuf: BytesMut,
    wbuf: BytesMut,
    limits: Limits,
    protocol: Protocol,
    peer: Option<SocketAddr>,
    /// A command parsed ahead by `has_buffered_command`, returned next.
    pending: Option<Vec<Bytes>>,
    /// A decode error found ahead by `has_buffered_command`, returned next.
    pending_err: Option<ProtocolError>,
    /// Decoding can't succeed before `rbuf` holds this many bytes.
    need: usize,
}

impl Connection {
    /// Wraps an accepted stream. Starts in RESP2 with `limits` (typically
    /// [`Limits::unauthenticated`] until the client authenticates). Sets
    /// `TCP_NODELAY`, as Redis does, so small replies aren't delayed.
    pub fn new(stream: TcpStream, limits: Limits) -> Connection {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let peer = stream.peer_addr().ok();
        Connection {
            stream,
            rbuf: BytesMut::with_capacity(INITIAL_READ),
            wbuf: BytesMut::with_capacity(INITIAL_READ),
            limits,
            protocol: Protocol::Resp2,
            peer,
            pending: None,
            pending_err: None,
            need: 1,
        }
    }

    /// Next command; Ok(None) on clean EOF between commands. Empty inline
    /// lines (and `*0`) are skipped. EOF in the middle of a frame is an
    /// `Io(UnexpectedEof)` error. Cancel-safe: usable in `tokio::select!`,
    /// since partial input stays buffered in `self`.
    pub async fn read_command(&mut self) -> Result<Option<Vec<Bytes>>, ConnectionError> {
        loop {
            if let Some(cmd) = self.pending.take() {
                return Ok(Some(cmd));
            }
            if let Some(e) = self.pending_err.take() {
                return Err(e.into());
            }
            if self.try_decode()? {
                continue;
            }
            self.reserve_for_read();
            let n = self.stream.read_buf(&mut self.rbuf).await?;
            if n == 0 {
                if self.rbuf.is_empty() {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed in the middle of a request",
                )
                .into());
            }
        }
    }

    /// True when another complete command is already buffered, so the caller
    /// can delay flushing (pipelining: one write for a batch of replies).
    ///
    /// May parse ahead; the command (or a protocol error) is kept and handed
    /// out by the next [`Connection::read_command`], in order. Also true when
    /// a protocol error is waiting to be returned. Returns false once 64 KiB
    /// of replies are queued, so the usual
    /// `if !conn.has_buffered_command() { conn.flush().await? }` loop keeps
    /// the write buffer bounded even for endless pipelines.
    pub fn has_buffered_command(&mut self) -> bool {
        if self.wbuf.len() >= FLUSH_AT {
            return false;
        }
        loop {
            if self.pending.is_some() || self.pending_err.is_some() {
                return true;
            }
            match self.try_decode() {
                Ok(true) => continue,
                Ok(false) => return false,
                Err(e) => self.pending_err = Some(e),
            }
        }
    }

    /// Decodes into `pending` if possible. Ok(true) = made progress (a
    /// command was stored or an empty one skipped); Ok(false) = need bytes.
    fn try_decode(&mut self) -> Result<bool, ProtocolError> {
        if self.rbuf.len() < self.need {
            return Ok(false);
        }
        match decode::decode(&mut self.rbuf, &self.limits)? {
            Decoded::Command(args) => {
                self.need = 1;
                if !args.is_empty() {
                    self.pending = Some(args);
                }
                if self.rbuf.is_empty() && self.rbuf.capacity() > SHRINK_ABOVE {
                    self.rbuf = BytesMut::with_capacity(INITIAL_READ);
                }
                Ok(true)
            }
            Decoded::Incomplete(need) => {
                self.need = need.max(self.rbuf.len() + 1);
                Ok(false)
            }
        }
    }

    /// Makes room for the next read, growing with what has arrived (roughly
    /// doubling, capped per step) rather than with what was declared.
    fn reserve_for_read(&mut self) {
        let spare = self.rbuf.capacity() - self.rbuf.len();
        if spare >= 4096 {
            return;
        }
        let missing = self.need.saturating_sub(self.rbuf.len());
        let step = self
            .rbuf
            .len()
            .clamp(INITIAL_READ, MAX_READ_STEP)
            .min(missing.max(INITIAL_READ));
        self.rbuf.reserve(step);
    }

    /// Encodes `frame` with the current protocol into the write buffer.
    /// Nothing is sent until [`Connection::flush`].
    pub fn queue(&mut self, frame: &Frame) {
        frame.encode(self.protocol, &mut self.wbuf);
    }

    /// Writes all queued replies to the socket.
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        self.stream.write_all(&self.wbuf).await?;
        self.wbuf.clear();
        if self.wbuf.capacity() > SHRINK_ABOVE {
            self.wbuf = BytesMut::with_capacity(INITIAL_READ);
        }
        Ok(())
    }

    /// The dialect replies are encoded in.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Switches dialect (after `HELLO 2|3`); affects frames queued afterwards.
    pub fn set_protocol(&mut self, p: Protocol) {
        self.protocol = p;
    }

    /// Replaces the decoding limits, e.g. looser after `AUTH`. Applies from
    /// the next command decoded (a command already parsed ahead is kept).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
        self.need = 1;
    }

    /// The client's address, if the OS could tell (for logs and `CLIENT LIST`).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use tokio::net::TcpListener;

    async fn pair(limits: Limits) -> (Connection, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (Connection::new(server, limits), client)
    }

    fn strs(cmd: &[Bytes]) -> Vec<&str> {
        cmd.iter()
            .map(|b| std::str::from_utf8(b).unwrap())
            .collect()
    }

    async fn read_exact_n(client: &mut TcpStream, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut out))
            .await
            .unwrap()
            .unwrap();
        out
    }

    #[tokio::test]
    async fn pipelined_batch_one_flush() {
        let (mut conn, mut client) = pair(Limits::default()).await;
        assert_eq!(conn.peer_addr(), client.local_addr().ok());
        client
            .write_all(b"*1\r\n$4\r\nPING\r\n\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nECHO \"a b\"\r\n")
            .await
            .unwrap();
        let mut seen = Vec::new();
        loop {
            let cmd = conn.read_command().await.unwrap().unwrap();
            seen.push(strs(&cmd).join(" "));
            conn.queue(&Frame::bulk(cmd[0].clone()));
            if !conn.has_buffered_command() {
                conn.flush().await.unwrap();
                if seen.len() == 3 {
                    break;
                }
            }
        }
        assert_eq!(seen, vec!["PING", "GET k", "ECHO a b"]);
        let replies = read_exact_n(&mut client, 29).await;
        assert_eq!(replies, b"$4\r\nPING\r\n$3\r\nGET\r\n$4\r\nECHO\r\n");
        drop(client);
        assert!(conn.read_command().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn has_buffered_keeps_order() {
        let (mut conn, mut client) = pair(Limits::default()).await;
        client.write_all(b"A\r\nB\r\nC\r\n").await.unwrap();
        let first = conn.read_command().await.unwrap().unwrap();
        assert_eq!(strs(&first), ["A"]);
        assert!(conn.has_buffered_command());
        assert!(conn.has_buffered_command());
        assert_eq!(strs(&conn.read_command().await.unwrap().unwrap()), ["B"]);
        assert!(conn.has_buffered_command());
        assert_eq!(strs(&conn.read_command().await.unwrap().unwrap()), ["C"]);
        assert!(!conn.has_buffered_command());
    }

    #[tokio::test]
    async fn frame_split_across_writes() {
        let (mut conn, mut client) = pair(Limits::default()).await;
        let big = vec![b'x'; 200_000];
        let mut req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$200000\r\n".to_vec();
        req.extend_from_slice(&big);
        req.extend_from_slice(b"\r\n");
        let writer = tokio::spawn(async move {
            for chunk in req.chunks(7001) {
                client.write_all(chunk).await.unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            client
        });
        let cmd = conn.read_command().await.unwrap().unwrap();
        assert_eq!(strs(&cmd[..2]), ["SET", "k"]);
        assert_eq!(cmd[2].len(), 200_000);
        assert!(cmd[2].iter().all(|&b| b == b'x'));
        let mut client = writer.await.unwrap();
        // RESP3 replies after switching protocol.
        conn.set_protocol(Protocol::Resp3);
        assert_eq!(conn.protocol(), Protocol::Resp3);
        conn.queue(&Frame::Null);
        conn.queue(&Frame::ok());
        conn.flush().await.unwrap();
        assert_eq!(read_exact_n(&mut client, 8).await, b"_\r\n+OK\r\n");
    }

    #[tokio::test]
    async fn eof_mid_frame_is_error() {
        let (mut conn, mut client) = pair(Limits::default()).await;
        client.write_all(b"*2\r\n$3\r\nGET\r\n").await.unwrap();
        drop(client);
        let got = conn.read_command().await;
        assert!(
            matches!(&got, Err(ConnectionError::Io(e)) if e.kind() == io::ErrorKind::UnexpectedEof),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn protocol_error_and_limits() {
        let (mut conn, mut client) = pair(Limits::unauthenticated()).await;
        client.write_all(b"*100\r\n").await.unwrap();
        let e = conn.read_command().await.unwrap_err();
        assert_eq!(e.to_string(), "Protocol error: invalid multibulk length");

        let (mut conn, mut client) = pair(Limits::unauthenticated()).await;
        client.write_all(b"AUTH x\r\n*100\r\n").await.unwrap();
        assert_eq!(
            strs(&conn.read_command().await.unwrap().unwrap()),
            ["AUTH", "x"]
        );
        conn.set_limits(Limits::default());
        let mut rest = Vec::new();
        for i in 0..100 {
            let a = i.to_string();
            rest.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        client.write_all(&rest).await.unwrap();
        assert_eq!(conn.read_command().await.unwrap().unwrap().len(), 100);
    }

    #[tokio::test]
    async fn has_buffered_surfaces_error_in_order() {
        let (mut conn, mut client) = pair(Limits::default()).await;
        client.write_all(b"PING\r\n*1\r\n:1\r\n").await.unwrap();
        assert_eq!(strs(&conn.read_command().await.unwrap().unwrap()), ["PING"]);
        // Give the error bytes time to land, then peek.
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(conn.has_buffered_command());
        assert!(matches!(
            conn.read_command().await,
            Err(ConnectionError::Protocol(ProtocolError::ExpectedBulk(b':')))
        ));
    }
}
