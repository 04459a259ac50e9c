//! A minimal RESP2/RESP3 client that keeps every reply exactly as sent (error texts, null
//! kinds, maps, pushes), for tests that compare wire replies with Redis's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Result, bail};

/// One reply, as it came over the wire.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+...`
    Simple(String),
    /// `-...`, full text including the code.
    Error(String),
    /// `:...`
    Int(i64),
    /// `$...`; `None` for `$-1`.
    Bulk(Option<Vec<u8>>),
    /// `*...`; `None` for `*-1`.
    Array(Option<Vec<Reply>>),
    /// `%...`
    Map(Vec<(Reply, Reply)>),
    /// `~...`
    Set(Vec<Reply>),
    /// `>...`
    Push(Vec<Reply>),
    /// `_`
    Null,
    /// `,...` as text.
    Double(String),
    /// `#t` / `#f`
    Bool(bool),
    /// `=...` without its format prefix.
    Verbatim(String),
}

impl Reply {
    /// A bulk string reply from text.
    pub fn bulk(text: &str) -> Reply {
        Reply::Bulk(Some(text.as_bytes().to_vec()))
    }

    /// The error text, if this is an error.
    pub fn error(&self) -> Option<&str> {
        match self {
            Reply::Error(e) => Some(e),
            _ => None,
        }
    }
}

/// A connection that sends commands and reads raw replies.
pub struct RawClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl RawClient {
    /// Connects to `127.0.0.1:port`.
    pub fn connect(port: u16) -> Result<RawClient> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(RawClient {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    /// Sends one command without reading.
    pub fn send(&mut self, args: &[&[u8]]) -> Result<()> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out)?;
        Ok(())
    }

    /// Sends one command and reads its reply.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Result<Reply> {
        self.send(args)?;
        self.read()
    }

    /// Sends one command given as text words.
    pub fn cmd_str(&mut self, args: &[&str]) -> Result<Reply> {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.cmd(&bytes)
    }

    /// Sets how long [`RawClient::read`] waits.
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.writer.set_read_timeout(Some(timeout))?;
        Ok(())
    }

    /// Reads one reply (or push).
    pub fn read(&mut self) -> Result<Reply> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            bail!("connection closed");
        }
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1.min(line.len()));
        let count = || rest.parse::<i64>();
        Ok(match kind {
            "+" => Reply::Simple(rest.to_owned()),
            "-" => Reply::Error(rest.to_owned()),
            ":" => Reply::Int(rest.parse()?),
            "_" => Reply::Null,
            "," => Reply::Double(rest.to_owned()),
            "#" => Reply::Bool(rest == "t"),
            "$" | "=" => {
                let n = count()?;
                if n < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let mut buf = vec![0u8; n as usize + 2];
                self.reader.read_exact(&mut buf)?;
                buf.truncate(n as usize);
                if kind == "=" {
                    Reply::Verbatim(String::from_utf8_lossy(buf.get(4..).unwrap_or(&[])).into())
                } else {
                    Reply::Bulk(Some(buf))
                }
            }
            "*" | "~" | ">" => {
                let n = count()?;
                if n < 0 {
                    return Ok(Reply::Array(None));
                }
                let items = (0..n).map(|_| self.read()).collect::<Result<Vec<_>>>()?;
                match kind {
                    "*" => Reply::Array(Some(items)),
                    "~" => Reply::Set(items),
                    _ => Reply::Push(items),
                }
            }
            "%" => {
                let n = count()?;
                let mut pairs = Vec::new();
                for _ in 0..n {
                    pairs.push((self.read()?, self.read()?));
                }
                Reply::Map(pairs)
            }
            other => bail!("unexpected reply type {other:?} in {line:?}"),
        })
    }
}
