//! Reply frames and their encoding into RESP2 or RESP3 bytes.
//!
//! This file only turns a [`Frame`] into bytes appended to a buffer. It must
//! not do I/O, must not parse client input (see `decode.rs`), and must not
//! know what any command means.

use bytes::{BufMut, Bytes, BytesMut};

/// Which RESP dialect a connection speaks.
///
/// Every connection starts in [`Protocol::Resp2`] (what all Redis clients
/// expect) and switches to [`Protocol::Resp3`] only after `HELLO 3`. The
/// same [`Frame`] is encoded differently in each, so the command layer can
/// build replies once without caring which dialect the client chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// RESP2: the original protocol; richer types are downgraded.
    Resp2,
    /// RESP3: native maps, sets, doubles, booleans, verbatim strings and null.
    Resp3,
}

/// One reply value, independent of the wire dialect.
///
/// Commands build `Frame`s; [`Frame::encode`] decides the bytes for the
/// connection's [`Protocol`], so RESP3-only types degrade to their RESP2
/// equivalents exactly as Redis does.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// Status reply such as `OK` or `PONG` (`+...`). CR/LF are replaced by spaces.
    Simple(String),
    /// Error reply (`-...`); the text should start with a code such as `ERR`
    /// or `WRONGTYPE`. CR/LF are replaced by spaces when encoding.
    Error(String),
    /// Signed 64-bit integer (`:...`).
    Integer(i64),
    /// Binary-safe string (`$len`).
    Bulk(Bytes),
    /// Missing value: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// Ordered list (`*n`).
    Array(Vec<Frame>),
    /// Key/value pairs: `%n` in RESP3, a flat `k,v,k,v` array in RESP2.
    Map(Vec<(Frame, Frame)>),
    /// Unordered collection: `~n` in RESP3, an array in RESP2.
    Set(Vec<Frame>),
    /// Floating point: `,` in RESP3, a bulk string of the same text in RESP2.
    Double(f64),
    /// Boolean: `#t`/`#f` in RESP3, integer 1/0 in RESP2.
    Boolean(bool),
    /// Human-readable text (`=len\r\ntxt:...`) in RESP3, a bulk string in RESP2.
    Verbatim(String),
    /// Missing array (e.g. a timed-out `BLPOP`): `*-1` in RESP2, `_` in RESP3.
    NullArray,
    /// Out-of-band data (`invalidate`, pub/sub messages): `>n` in RESP3, an
    /// array in RESP2, where pub/sub messages are plain arrays.
    Push(Vec<Frame>),
}

impl Frame {
    /// The ubiquitous `+OK` reply, so commands don't allocate it by hand.
    pub fn ok() -> Frame {
        Frame::Simple("OK".to_string())
    }

    /// A bulk string reply from anything byte-like (`&'static str`,
    /// `Vec<u8>`, `Bytes`, ...), avoiding a copy when given `Bytes`.
    pub fn bulk(data: impl Into<Bytes>) -> Frame {
        Frame::Bulk(data.into())
    }

    /// An error reply. Pass the full text including its code, e.g.
    /// `Frame::error("ERR unknown command 'FOO'")`; nothing is prefixed.
    pub fn error(msg: impl Into<String>) -> Frame {
        Frame::Error(msg.into())
    }

    /// Appends this frame's bytes in `protocol`'s dialect to `out`.
    ///
    /// Never fails: every frame has a valid encoding in both dialects, and
    /// line-oriented texts are sanitised so a reply can't break framing.
    pub fn encode(&self, protocol: Protocol, out: &mut BytesMut) {
        let resp3 = protocol == Protocol::Resp3;
        match self {
            Frame::Simple(s) => put_line(out, b'+', s.as_bytes()),
            Frame::Error(s) => put_line(out, b'-', s.as_bytes()),
            Frame::Integer(n) => {
                out.put_u8(b':');
                put_i64(out, *n);
                out.put_slice(b"\r\n");
            }
            Frame::Bulk(b) => put_bulk(out, b'$', b),
            Frame::Null => {
                if resp3 {
                    out.put_slice(b"_\r\n");
                } else {
                    out.put_slice(b"$-1\r\n");
                }
            }
            Frame::NullArray => {
                if resp3 {
                    out.put_slice(b"_\r\n");
                } else {
                    out.put_slice(b"*-1\r\n");
                }
            }
            Frame::Array(items) => {
                put_header(out, b'*', items.len());
                for item in items {
                    item.encode(protocol, out);
                }
            }
            Frame::Push(items) => {
                put_header(out, if resp3 { b'>' } else { b'*' }, items.len());
                for item in items {
                    item.encode(protocol, out);
                }
            }
            Frame::Set(items) => {
                put_header(out, if resp3 { b'~' } else { b'*' }, items.len());
                for item in items {
                    item.encode(protocol, out);
                }
            }
            Frame::Map(pairs) => {
                if resp3 {
                    put_header(out, b'%', pairs.len());
                } else {
                    put_header(out, b'*', pairs.len().saturating_mul(2));
                }
                for (k, v) in pairs {
                    k.encode(protocol, out);
                    v.encode(protocol, out);
                }
            }
            Frame::Double(d) => {
                let text = format_double(*d);
                if resp3 {
                    put_line(out, b',', text.as_bytes());
                } else {
                    put_bulk(out, b'$', text.as_bytes());
                }
            }
            Frame::Boolean(b) => {
                if resp3 {
                    out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" });
                } else {
                    out.put_slice(if *b { b":1\r\n" } else { b":0\r\n" });
                }
            }
            Frame::Verbatim(s) => {
                if resp3 {
                    put_header(out, b'=', s.len() + 4);
                    out.put_slice(b"txt:");
                    out.put_slice(s.as_bytes());
                    out.put_slice(b"\r\n");
                } else {
                    put_bulk(out, b'$', s.as_bytes());
                }
            }
        }
    }
}

/// Formats a double the way Redis prints it: `inf`, `-inf`, `nan`, integral
/// values without `.0`, the shortest text that round-trips, and `%g`-style
/// exponents (`1e+20`, `1e-05`) outside `[1e-4, 1e17)`.
pub(crate) fn format_double(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // `{:e}` gives the shortest round-trip digits with an exact exponent.
    let sci = format!("{v:e}");
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => return sci,
    };
    if (-4..17).contains(&exp) {
        format!("{v}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    }
}

/// `<prefix><text>\r\n`, with CR/LF in `text` turned into spaces so the line
/// can't be split or inject a second reply.
fn put_line(out: &mut BytesMut, prefix: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    if text.iter().any(|&c| c == b'\r' || c == b'\n') {
        out.extend(
            text.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
    } else {
        out.put_slice(text);
    }
    out.put_slice(b"\r\n");
}

/// `<prefix><len>\r\n<data>\r\n`: binary safe, so no sanitising.
fn put_bulk(out: &mut BytesMut, prefix: u8, data: &[u8]) {
    out.reserve(data.len() + 16);
    put_header(out, prefix, data.len());
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// `<prefix><n>\r\n` for aggregate and bulk headers.
fn put_header(out: &mut BytesMut, prefix: u8, n: usize) {
    out.put_u8(prefix);
    put_u64(out, n as u64);
    out.put_slice(b"\r\n");
}

fn put_i64(out: &mut BytesMut, v: i64) {
    if v < 0 {
        out.put_u8(b'-');
    }
    put_u64(out, v.unsigned_abs());
}

/// Decimal digits without going through `fmt` (this runs for every reply).
fn put_u64(out: &mut BytesMut, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&tmp[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: &Frame, p: Protocol) -> Vec<u8> {
        let mut out = BytesMut::new();
        f.encode(p, &mut out);
        out.to_vec()
    }

    fn both(f: &Frame) -> (Vec<u8>, Vec<u8>) {
        (enc(f, Protocol::Resp2), enc(f, Protocol::Resp3))
    }

    #[test]
    fn scalars_same_in_both() {
        let cases: Vec<(Frame, &[u8])> = vec![
            (Frame::ok(), b"+OK\r\n"),
            (Frame::Simple("PONG".into()), b"+PONG\r\n"),
            (Frame::error("ERR bad"), b"-ERR bad\r\n"),
            (Frame::Integer(0), b":0\r\n"),
            (Frame::Integer(-42), b":-42\r\n"),
            (Frame::Integer(i64::MIN), b":-9223372036854775808\r\n"),
            (Frame::Integer(i64::MAX), b":9223372036854775807\r\n"),
            (Frame::bulk("hello"), b"$5\r\nhello\r\n"),
            (Frame::bulk(""), b"$0\r\n\r\n"),
            (Frame::bulk(&b"a\r\nb\0"[..]), b"$5\r\na\r\nb\0\r\n"),
            (Frame::Array(vec![]), b"*0\r\n"),
        ];
        for (f, want) in cases {
            let (r2, r3) = both(&f);
            assert_eq!(r2, want, "{f:?}");
            assert_eq!(r3, want, "{f:?}");
        }
    }

    #[test]
    fn nulls() {
        assert_eq!(both(&Frame::Null), (b"$-1\r\n".to_vec(), b"_\r\n".to_vec()));
        assert_eq!(
            both(&Frame::NullArray),
            (b"*-1\r\n".to_vec(), b"_\r\n".to_vec())
        );
    }

    #[test]
    fn pushes() {
        assert_eq!(
            both(&Frame::Push(vec![Frame::bulk("invalidate"), Frame::Null])),
            (
                b"*2\r\n$10\r\ninvalidate\r\n$-1\r\n".to_vec(),
                b">2\r\n$10\r\ninvalidate\r\n_\r\n".to_vec()
            )
        );
    }

    #[test]
    fn error_and_simple_are_sanitised() {
        let (r2, r3) = both(&Frame::error("ERR a\r\nb\nc"));
        assert_eq!(r2, b"-ERR a  b c\r\n");
        assert_eq!(r3, r2);
        assert_eq!(
            enc(&Frame::Simple("x\ry".into()), Protocol::Resp2),
            b"+x y\r\n"
        );
    }

    #[test]
    fn booleans() {
        assert_eq!(
            both(&Frame::Boolean(true)),
            (b":1\r\n".to_vec(), b"#t\r\n".to_vec())
        );
        assert_eq!(
            both(&Frame::Boolean(false)),
            (b":0\r\n".to_vec(), b"#f\r\n".to_vec())
        );
    }

    #[test]
    fn doubles() {
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (3.0, "3"),
            (-2.0, "-2"),
            (0.0, "0"),
            (-0.0, "-0"),
            (0.1, "0.1"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (1e20, "1e+20"),
            (1.25e-7, "1.25e-07"),
            (0.0001, "0.0001"),
            (123456789.0, "123456789"),
        ];
        for (v, text) in cases {
            let (r2, r3) = both(&Frame::Double(*v));
            assert_eq!(
                String::from_utf8(r2).unwrap(),
                format!("${}\r\n{text}\r\n", text.len())
            );
            assert_eq!(String::from_utf8(r3).unwrap(), format!(",{text}\r\n"));
        }
    }

    #[test]
    fn verbatim() {
        let (r2, r3) = both(&Frame::Verbatim("hi\r\nthere".into()));
        assert_eq!(r2, b"$9\r\nhi\r\nthere\r\n");
        assert_eq!(r3, b"=13\r\ntxt:hi\r\nthere\r\n");
    }

    #[test]
    fn map_and_set() {
        let m = Frame::Map(vec![
            (Frame::bulk("a"), Frame::Integer(1)),
            (Frame::Simple("b".into()), Frame::Null),
        ]);
        let (r2, r3) = both(&m);
        assert_eq!(r2, b"*4\r\n$1\r\na\r\n:1\r\n+b\r\n$-1\r\n");
        assert_eq!(r3, b"%2\r\n$1\r\na\r\n:1\r\n+b\r\n_\r\n");
        let s = Frame::Set(vec![Frame::bulk("x"), Frame::Boolean(true)]);
        let (r2, r3) = both(&s);
        assert_eq!(r2, b"*2\r\n$1\r\nx\r\n:1\r\n");
        assert_eq!(r3, b"~2\r\n$1\r\nx\r\n#t\r\n");
        let (r2, r3) = both(&Frame::Map(vec![]));
        assert_eq!((r2, r3), (b"*0\r\n".to_vec(), b"%0\r\n".to_vec()));
    }

    #[test]
    fn nested() {
        let f = Frame::Array(vec![
            Frame::Map(vec![(
                Frame::bulk("k"),
                Frame::Set(vec![Frame::Double(2.5), Frame::NullArray]),
            )]),
            Frame::Array(vec![Frame::Verbatim("v".into()), Frame::error("E x")]),
        ]);
        let (r2, r3) = both(&f);
        assert_eq!(
            r2,
            b"*2\r\n*2\r\n$1\r\nk\r\n*2\r\n$3\r\n2.5\r\n*-1\r\n*2\r\n$1\r\nv\r\n-E x\r\n"
        );
        assert_eq!(
            r3,
            b"*2\r\n%1\r\n$1\r\nk\r\n~2\r\n,2.5\r\n_\r\n*2\r\n=5\r\ntxt:v\r\n-E x\r\n"
        );
    }
}
