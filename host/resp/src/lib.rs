//! The Redis wire protocol (RESP2 and RESP3) for hoard: turning bytes from a
//! client into commands, replies into bytes, and moving both over a socket.
//!
//! Split like tokio's mini-redis so each piece stays testable on its own:
//! [`frame`] encodes replies (no I/O), [`decode`] parses requests (no I/O),
//! [`parse`] walks a command's arguments, and [`connection`] owns the socket
//! and its buffers. This module must not know about commands' meaning,
//! storage or authentication policy; it only enforces wire-level limits.

pub mod connection;
pub mod decode;
pub mod frame;
pub mod parse;

pub use connection::{Connection, ConnectionError};
pub use decode::{Limits, ProtocolError, parse_command};
pub use frame::{Frame, Protocol};
pub use parse::{Parse, ParseError};
