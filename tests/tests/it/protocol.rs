//! The wire itself: pipelining, inline commands, split frames, and malformed
//! input answered with a protocol error and a closed connection.

use std::io::{Read, Write};
use std::time::Duration;

use anyhow::Result;
use hoard_tests::Server;

fn read_until_closed(stream: &mut std::net::TcpStream) -> Result<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn read_exactly(stream: &mut std::net::TcpStream, want: usize) -> Result<String> {
    let mut out = vec![0u8; want];
    stream.read_exact(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn pipelined_and_split_commands_are_answered_in_order() -> Result<()> {
    let server = Server::start()?;
    let mut tcp = server.tcp()?;
    tcp.write_all(
        b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\n",
    )?;
    assert_eq!(
        read_exactly(&mut tcp, 5 + 7 + 7)?,
        "+OK\r\n$1\r\n1\r\n+PONG\r\n"
    );
    // One command split across writes, mid-length and mid-payload.
    for chunk in [&b"*2\r\n$4\r\nEC"[..], b"HO\r\n$5\r\nhel", b"lo\r\n"] {
        tcp.write_all(chunk)?;
        tcp.flush()?;
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(read_exactly(&mut tcp, 11)?, "$5\r\nhello\r\n");
    // Inline command with quotes.
    tcp.write_all(b"ECHO \"two words\"\r\n")?;
    assert_eq!(read_exactly(&mut tcp, 15)?, "$9\r\ntwo words\r\n");
    Ok(())
}

#[test]
fn malformed_frames_get_a_protocol_error_and_the_connection_closes() -> Result<()> {
    let server = Server::start()?;
    for bad in [
        &b"*2\r\n$3\r\nGET\r\n:1\r\n"[..],
        b"*1\r\n$-5\r\n",
        b"*x\r\n",
        b"*1\r\n$3\r\nGETX\r\n",
        b"ECHO \"unterminated\r\n",
    ] {
        let mut tcp = server.tcp()?;
        tcp.write_all(bad)?;
        let reply = read_until_closed(&mut tcp)?;
        assert!(
            reply.starts_with("-ERR Protocol error:"),
            "{:?} -> {reply:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // Other clients are unaffected.
    let mut con = server.client()?;
    let pong: String = redis::cmd("PING").query(&mut con)?;
    assert_eq!(pong, "PONG");
    Ok(())
}

#[test]
fn oversized_declarations_are_refused_before_the_bytes_arrive() -> Result<()> {
    let server = Server::start()?;
    let mut tcp = server.tcp()?;
    // Declares a 4 GiB bulk: refused from the header alone.
    tcp.write_all(b"*2\r\n$4\r\nECHO\r\n$4294967296\r\n")?;
    let reply = read_until_closed(&mut tcp)?;
    assert!(reply.contains("invalid bulk length"), "{reply:?}");

    let mut tcp = server.tcp()?;
    tcp.write_all(b"*99999999999\r\n")?;
    let reply = read_until_closed(&mut tcp)?;
    assert!(reply.starts_with("-ERR Protocol error"), "{reply:?}");

    // An inline line longer than 64 KiB without a newline.
    let mut tcp = server.tcp()?;
    let long = vec![b'a'; 70 * 1024];
    let _ = tcp.write_all(&long);
    let reply = read_until_closed(&mut tcp)?;
    assert!(reply.contains("too big inline request"), "{reply:?}");
    Ok(())
}

#[test]
fn values_over_the_configured_limit_are_refused_without_losing_the_connection() -> Result<()> {
    let server = hoard_tests::Server::start_with(hoard_tests::ServerOptions {
        config: Some("max_value_bytes = 1024\n".into()),
        ..Default::default()
    })?;
    let mut con = server.connect()?;
    let big = vec![b'x'; 2048];
    let err = redis::cmd("SET")
        .arg("k")
        .arg(&big)
        .query::<()>(&mut con)
        .unwrap_err();
    assert!(err.to_string().contains("exceeds the limit"), "{err}");
    let json = format!(
        r#"{{"id":"u1","email":"a@b.io","name":"{}"}}"#,
        "x".repeat(2048)
    );
    let err = con.cache_set("UserCache", json, &["u1"]).unwrap_err();
    assert!(err.to_string().contains("exceeds the limit"), "{err}");
    let pong: String = redis::cmd("PING").query(&mut con)?;
    assert_eq!(pong, "PONG");
    Ok(())
}
