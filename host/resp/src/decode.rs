//! Parsing client requests (RESP multibulk or inline commands) from a byte
//! buffer into argument lists.
//!
//! This file only looks at bytes already in memory: it must not do I/O, must
//! not interpret commands, and must never trust a declared length enough to
//! allocate for it before the bytes have actually arrived.

use bytes::{Buf, Bytes, BytesMut};

/// Length lines (`*N\r\n`, `$N\r\n`) longer than this can't hold a valid
/// number (`-9223372036854775808` is 20 bytes), so we stop scanning there.
const MAX_LEN_LINE: usize = 32;

/// Caps `Vec::with_capacity` for declared argument counts: a client saying
/// `*1000000` must send the arguments before we pay for them.
const MAX_PREALLOC_ARGS: usize = 1024;

/// Size limits applied while decoding requests.
///
/// They exist so a client (especially an unauthenticated one) can't make the
/// server buffer or allocate unbounded memory with one request.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest accepted bulk argument, in bytes (Redis `proto-max-bulk-len`).
    pub max_bulk_len: usize,
    /// Largest accepted argument count in one multibulk request.
    pub max_args: usize,
    /// Longest inline command line (and longest buffered data without a
    /// newline while reading one), in bytes.
    pub max_inline_len: usize,
}

impl Limits {
    /// Tighter limits for clients that have not authenticated yet (1 MiB
    /// bulk, 64 args, 16 KiB inline), like Redis's unauthenticated checks:
    /// enough for `AUTH`/`HELLO`, too little to exhaust memory.
    pub fn unauthenticated() -> Limits {
        Limits {
            max_bulk_len: 1024 * 1024,
            max_args: 64,
            max_inline_len: 16 * 1024,
        }
    }
}

impl Default for Limits {
    /// Redis defaults: 512 MiB bulk, 1 Mi args, 64 KiB inline.
    fn default() -> Limits {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_args: 1024 * 1024,
            max_inline_len: 64 * 1024,
        }
    }
}

/// A request that can't be parsed. The connection can't resynchronise after
/// one, so the caller replies `-ERR Protocol error: <text>` and closes.
///
/// Texts match Redis's where Redis has one, so clients and tests that look
/// at the message behave the same.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum ProtocolError {
    /// The `*N` count is not a number or exceeds [`Limits::max_args`].
    #[error("invalid multibulk length")]
    InvalidMultibulkLength,
    /// A `$N` length is not a number, negative, or exceeds [`Limits::max_bulk_len`].
    #[error("invalid bulk length")]
    InvalidBulkLength,
    /// Inside a multibulk request, an argument did not start with `$`.
    #[error("expected '$', got '{}'", show_byte(*.0))]
    ExpectedBulk(u8),
    /// An inline command line is longer than [`Limits::max_inline_len`].
    #[error("too big inline request")]
    TooBigInline,
    /// The `*N` line did not end where a number must.
    #[error("too big mbulk count string")]
    TooBigMbulkCount,
    /// A `$N` line did not end where a number must.
    #[error("too big bulk count string")]
    TooBigBulkCount,
    /// A length line's `\r` was not followed by `\n`.
    #[error("expected '\\r\\n' after length")]
    BadLineEnd,
    /// A bulk payload was not followed by `\r\n` (its length was wrong).
    #[error("expected '\\r\\n' after bulk payload")]
    MissingBulkCrlf,
    /// Inline command with an unterminated quote, or a closing quote not
    /// followed by a space.
    #[error("unbalanced quotes in request")]
    UnbalancedQuotes,
}

/// Shows an unexpected byte without ever emitting CR/LF into an error reply.
fn show_byte(b: u8) -> String {
    if b.is_ascii_graphic() || b == b' ' {
        (b as char).to_string()
    } else {
        format!("\\x{b:02x}")
    }
}

/// Outcome of one decoding attempt, with a hint for the connection.
pub(crate) enum Decoded {
    /// One command (possibly empty) was removed from the buffer.
    Command(Vec<Bytes>),
    /// More bytes are needed; retrying before the buffer holds at least this
    /// many bytes cannot succeed, so a large payload isn't re-scanned per read.
    Incomplete(usize),
}

/// Parses one command from the front of `buf` (either RESP multibulk
/// `*N\r\n$len\r\n...` or an inline command line `SET a b\r\n` / `\n`),
/// removing the consumed bytes on success.
///
/// `Ok(None)` = need more bytes (nothing consumed). `Ok(Some(args))` = one
/// command; an empty inline line (or `*0`/`*-1`) yields `Some(vec![])` — let
/// the caller skip it. Arguments are zero-copy slices of the consumed bytes.
/// On `Err` the buffer is left as is; the stream can't be resynchronised.
pub fn parse_command(
    buf: &mut BytesMut,
    limits: &Limits,
) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    match decode(buf, limits)? {
        Decoded::Command(args) => Ok(Some(args)),
        Decoded::Incomplete(_) => Ok(None),
    }
}

/// [`parse_command`] plus the "bytes needed" hint used by the connection.
pub(crate) fn decode(buf: &mut BytesMut, limits: &Limits) -> Result<Decoded, ProtocolError> {
    match buf.first() {
        None => Ok(Decoded::Incomplete(1)),
        Some(b'*') => decode_multibulk(buf, limits),
        Some(_) => decode_inline(buf, limits),
    }
}

fn decode_multibulk(buf: &mut BytesMut, limits: &Limits) -> Result<Decoded, ProtocolError> {
    let data: &[u8] = buf;
    let Some((count, mut pos)) = read_len_line(
        data,
        1,
        ProtocolError::TooBigMbulkCount,
        ProtocolError::InvalidMultibulkLength,
    )?
    else {
        return Ok(Decoded::Incomplete(data.len() + 1));
    };
    if count <= 0 {
        // Redis treats `*0` and `*-1` as an empty request.
        buf.advance(pos);
        return Ok(Decoded::Command(Vec::new()));
    }
    let n = usize::try_from(count).map_err(|_| ProtocolError::InvalidMultibulkLength)?;
    if n > limits.max_args {
        return Err(ProtocolError::InvalidMultibulkLength);
    }
    // (start, len) of each payload; turned into `Bytes` once all arrived.
    let mut spans: Vec<(usize, usize)> = Vec::with_capacity(n.min(MAX_PREALLOC_ARGS));
    for _ in 0..n {
        let Some(&tag) = data.get(pos) else {
            return Ok(Decoded::Incomplete(pos + 1));
        };
        if tag != b'$' {
            return Err(ProtocolError::ExpectedBulk(tag));
        }
        let Some((len, start)) = read_len_line(
            data,
            pos + 1,
            ProtocolError::TooBigBulkCount,
            ProtocolError::InvalidBulkLength,
        )?
        else {
            return Ok(Decoded::Incomplete(data.len() + 1));
        };
        let len = usize::try_from(len).map_err(|_| ProtocolError::InvalidBulkLength)?;
        if len > limits.max_bulk_len {
            return Err(ProtocolError::InvalidBulkLength);
        }
        let end = start
            .checked_add(len)
            .ok_or(ProtocolError::InvalidBulkLength)?;
        let after = end.checked_add(2).ok_or(ProtocolError::InvalidBulkLength)?;
        if data.len() < after {
            // Jump over the payload: nothing to look at until it's all here.
            return Ok(Decoded::Incomplete(after));
        }
        if &data[end..after] != b"\r\n" {
            return Err(ProtocolError::MissingBulkCrlf);
        }
        spans.push((start, len));
        pos = after;
    }
    let frame = buf.split_to(pos).freeze();
    Ok(Decoded::Command(
        spans
            .into_iter()
            .map(|(start, len)| frame.slice(start..start + len))
            .collect(),
    ))
}

/// Reads `<number>\r\n` starting at `start`. `Ok(None)` = incomplete.
/// Returns the number and the index just past `\n`.
fn read_len_line(
    data: &[u8],
    start: usize,
    too_long: ProtocolError,
    invalid: ProtocolError,
) -> Result<Option<(i64, usize)>, ProtocolError> {
    let window = data.get(start..).unwrap_or_default();
    let window = &window[..window.len().min(MAX_LEN_LINE)];
    match window.iter().position(|&b| b == b'\r') {
        None if window.len() >= MAX_LEN_LINE => Err(too_long),
        None => Ok(None),
        Some(i) => {
            let cr = start + i;
            match data.get(cr + 1) {
                None => Ok(None),
                Some(b'\n') => match parse_i64(&data[start..cr]) {
                    Some(v) => Ok(Some((v, cr + 2))),
                    None => Err(invalid),
                },
                Some(_) => Err(ProtocolError::BadLineEnd),
            }
        }
    }
}

/// Strict decimal parsing like Redis's `string2ll`: optional `-`, no `+`,
/// no spaces, no leading zeros (except `0` itself), no overflow.
pub(crate) fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let mag = parse_u64(digits)?;
    if neg {
        if mag == 0 {
            return None; // "-0" is rejected by Redis too
        }
        0i64.checked_sub_unsigned(mag)
    } else {
        i64::try_from(mag).ok()
    }
}

/// Strict unsigned decimal: digits only, no leading zeros except `0`.
pub(crate) fn parse_u64(s: &[u8]) -> Option<u64> {
    match s {
        [] => None,
        [b'0'] => Some(0),
        [b'0', ..] => None,
        _ => s.iter().try_fold(0u64, |acc, &c| {
            if c.is_ascii_digit() {
                acc.checked_mul(10)?.checked_add(u64::from(c - b'0'))
            } else {
                None
            }
        }),
    }
}

fn decode_inline(buf: &mut BytesMut, limits: &Limits) -> Result<Decoded, ProtocolError> {
    let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
        // A trailing '\r' may be the start of the line ending: don't count it.
        let pending = buf.strip_suffix(b"\r").unwrap_or(buf).len();
        if pending > limits.max_inline_len {
            return Err(ProtocolError::TooBigInline);
        }
        return Ok(Decoded::Incomplete(buf.len() + 1));
    };
    let mut line = &buf[..nl];
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    if line.len() > limits.max_inline_len {
        return Err(ProtocolError::TooBigInline);
    }
    let args = split_args(line)?;
    buf.advance(nl + 1);
    Ok(Decoded::Command(args))
}

fn is_space(c: u8) -> bool {
    // C isspace(): space, \t, \n, \v, \f, \r
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Splits an inline line the way Redis's `sdssplitargs` does, including its
/// quoting rules; a NUL byte ends the line as it does for the C string.
fn split_args(line: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    let line = match line.iter().position(|&b| b == 0) {
        Some(i) => &line[..i],
        None => line,
    };
    let at = |i: usize| line.get(i).copied();
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while at(p).is_some_and(is_space) {
            p += 1;
        }
        if p >= line.len() {
            return Ok(args);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            let c = at(p);
            if in_dq {
                match c {
                    None => return Err(ProtocolError::UnbalancedQuotes),
                    Some(b'\\') if at(p + 1) == Some(b'x') => {
                        match (at(p + 2).and_then(hex_val), at(p + 3).and_then(hex_val)) {
                            (Some(h), Some(l)) => {
                                cur.push(h * 16 + l);
                                p += 3;
                            }
                            _ => {
                                cur.push(b'x');
                                p += 1;
                            }
                        }
                    }
                    Some(b'\\') if at(p + 1).is_some() => {
                        p += 1;
                        cur.push(match at(p) {
                            Some(b'n') => b'\n',
                            Some(b'r') => b'\r',
                            Some(b't') => b'\t',
                            Some(b'b') => 0x08,
                            Some(b'a') => 0x07,
                            Some(other) => other,
                            None => b'\\',
                        });
                    }
                    Some(b'"') => {
                        if at(p + 1).is_some_and(|n| !is_space(n)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        p += 1;
                        break;
                    }
                    Some(other) => cur.push(other),
                }
            } else if in_sq {
                match c {
                    None => return Err(ProtocolError::UnbalancedQuotes),
                    Some(b'\\') if at(p + 1) == Some(b'\'') => {
                        p += 1;
                        cur.push(b'\'');
                    }
                    Some(b'\'') => {
                        if at(p + 1).is_some_and(|n| !is_space(n)) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        p += 1;
                        break;
                    }
                    Some(other) => cur.push(other),
                }
            } else {
                match c {
                    None => break,
                    Some(b' ' | b'\n' | b'\r' | b'\t') => {
                        p += 1;
                        break;
                    }
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(other) => cur.push(other),
                }
            }
            p += 1;
        }
        args.push(Bytes::from(cur));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(input: &[u8], limits: &Limits) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(cmd) = parse_command(&mut buf, limits)? {
            out.push(cmd.iter().map(|b| b.to_vec()).collect());
        }
        Ok(out)
    }

    fn one(input: &[u8]) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        let mut buf = BytesMut::from(input);
        Ok(parse_command(&mut buf, &Limits::default())?
            .map(|c| c.iter().map(|b| b.to_vec()).collect()))
    }

    fn v(args: &[&[u8]]) -> Vec<Vec<u8>> {
        args.iter().map(|a| a.to_vec()).collect()
    }

    fn encode_cmd(args: &[Vec<u8>], out: &mut Vec<u8>) {
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
    }

    #[test]
    fn multibulk_basic_and_pipelined() {
        let got = parse_all(
            b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$0\r\n\r\n*1\r\n$4\r\nPING\r\n",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(got, vec![v(&[b"SET", b"a", b""]), v(&[b"PING"])]);
    }

    #[test]
    fn multibulk_consumes_exactly_and_is_zero_copy() {
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n"[..]);
        let cmd = parse_command(&mut buf, &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(cmd, vec![Bytes::from("GET"), Bytes::from("k")]);
        assert_eq!(&buf[..], b"*1\r\n");
        assert_eq!(parse_command(&mut buf, &Limits::default()).unwrap(), None);
        assert_eq!(&buf[..], b"*1\r\n");
    }

    #[test]
    fn binary_safe_bulk() {
        let got = one(b"*2\r\n$3\r\nSET\r\n$6\r\na\r\n\0\r\n\r\n").unwrap();
        assert_eq!(got, Some(v(&[b"SET", b"a\r\n\0\r\n"])));
    }

    #[test]
    fn empty_multibulk() {
        assert_eq!(one(b"*0\r\n").unwrap(), Some(vec![]));
        assert_eq!(one(b"*-1\r\n").unwrap(), Some(vec![]));
        let mut buf = BytesMut::from(&b"*0\r\nPING\r\n"[..]);
        let l = Limits::default();
        assert_eq!(parse_command(&mut buf, &l).unwrap(), Some(vec![]));
        assert_eq!(
            parse_command(&mut buf, &l).unwrap(),
            Some(vec![Bytes::from("PING")])
        );
    }

    #[test]
    fn incomplete_consumes_nothing() {
        let full = b"*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n";
        for cut in 0..full.len() {
            let mut buf = BytesMut::from(&full[..cut]);
            assert_eq!(parse_command(&mut buf, &Limits::default()).unwrap(), None);
            assert_eq!(buf.len(), cut);
        }
    }

    #[test]
    fn incomplete_hint_jumps_over_payload() {
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$100000\r\nab"[..]);
        let got = decode(&mut buf, &Limits::default()).unwrap();
        assert!(matches!(got, Decoded::Incomplete(n) if n == 13 + 9 + 100_000 + 2));
    }

    #[test]
    fn inline_commands() {
        let got = parse_all(
            b"SET a b\r\nGET   a\n\r\n\n  PING  \r\n",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                v(&[b"SET", b"a", b"b"]),
                v(&[b"GET", b"a"]),
                vec![],
                vec![],
                v(&[b"PING"]),
            ]
        );
    }

    #[test]
    fn inline_quotes_and_escapes() {
        assert_eq!(
            one(b"SET \"a b\" 'c d'\r\n").unwrap(),
            Some(v(&[b"SET", b"a b", b"c d"]))
        );
        assert_eq!(
            one(b"X \"\\n\\r\\t\\b\\a\\\\\\\"\\x41\\x4a\\xzz\\q\"\n").unwrap(),
            Some(v(&[b"X", b"\n\r\t\x08\x07\\\"AJxzzq"]))
        );
        assert_eq!(
            one(b"X 'it\\'s' 'a\\nb'\n").unwrap(),
            Some(v(&[b"X", b"it's", b"a\\nb"]))
        );
        assert_eq!(one(b"X \"\" ''\n").unwrap(), Some(v(&[b"X", b"", b""])));
        // A quote inside a token opens quoting, like sdssplitargs.
        assert_eq!(one(b"X a\"b c\"\n").unwrap(), Some(v(&[b"X", b"ab c"])));
        // Tabs separate too.
        assert_eq!(one(b"A\tB\n").unwrap(), Some(v(&[b"A", b"B"])));
    }

    #[test]
    fn inline_unbalanced_quotes() {
        for bad in [
            &b"SET \"abc\n"[..],
            b"SET 'abc\n",
            b"SET \"a\"b\n",
            b"SET 'a'b\n",
            b"SET \"abc\\\"\r\n",
        ] {
            assert_eq!(one(bad), Err(ProtocolError::UnbalancedQuotes), "{bad:?}");
        }
    }

    #[test]
    fn malformed_multibulk() {
        use ProtocolError::*;
        let cases: &[(&[u8], ProtocolError)] = &[
            (b"*x\r\n", InvalidMultibulkLength),
            (b"*\r\n", InvalidMultibulkLength),
            (b"*+1\r\n", InvalidMultibulkLength),
            (b"*01\r\n", InvalidMultibulkLength),
            (b"* 1\r\n", InvalidMultibulkLength),
            (b"*99999999999999999999\r\n", InvalidMultibulkLength),
            (b"*1\r\n$-1\r\n", InvalidBulkLength),
            (b"*1\r\n$abc\r\n", InvalidBulkLength),
            (b"*1\r\n$\r\n", InvalidBulkLength),
            (b"*1\r\n$-0\r\n", InvalidBulkLength),
            (b"*1\r\n$3\r\nabcde\r\n", MissingBulkCrlf),
            (b"*1\r\n$3\r\nabc\n\r", MissingBulkCrlf),
            (b"*2\r\n$1\r\na\r\n:1\r\n", ExpectedBulk(b':')),
            (b"*1\r\n*1\r\n", ExpectedBulk(b'*')),
            (b"*1\r\nPING\r\n", ExpectedBulk(b'P')),
            (b"*1\rx", BadLineEnd),
            (b"*1\r\n$1\rxa\r\n", BadLineEnd),
            (&[b'*'; 40], TooBigMbulkCount),
            (
                b"*1\r\n$1111111111111111111111111111111111111",
                TooBigBulkCount,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                one(input).as_ref(),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn error_texts_match_redis() {
        assert_eq!(
            ProtocolError::ExpectedBulk(b'x').to_string(),
            "expected '$', got 'x'"
        );
        assert_eq!(
            ProtocolError::ExpectedBulk(b'\r').to_string(),
            "expected '$', got '\\x0d'"
        );
        assert_eq!(
            ProtocolError::InvalidMultibulkLength.to_string(),
            "invalid multibulk length"
        );
        assert_eq!(
            ProtocolError::InvalidBulkLength.to_string(),
            "invalid bulk length"
        );
        assert_eq!(
            ProtocolError::TooBigInline.to_string(),
            "too big inline request"
        );
        assert_eq!(
            ProtocolError::UnbalancedQuotes.to_string(),
            "unbalanced quotes in request"
        );
        for e in [ProtocolError::BadLineEnd, ProtocolError::MissingBulkCrlf] {
            assert!(!e.to_string().contains(['\r', '\n']));
        }
    }

    #[test]
    fn limits_bulk_rejected_from_header() {
        let l = Limits {
            max_bulk_len: 10,
            ..Limits::default()
        };
        // Payload hasn't arrived; the header alone is enough to reject.
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$11\r\n"[..]);
        assert_eq!(
            parse_command(&mut buf, &l),
            Err(ProtocolError::InvalidBulkLength)
        );
        let mut buf = BytesMut::from(&b"*1\r\n$10\r\n0123456789\r\n"[..]);
        assert!(parse_command(&mut buf, &l).unwrap().is_some());
        let mut buf = BytesMut::from(&b"*1\r\n$1048577\r\n"[..]);
        assert_eq!(
            parse_command(&mut buf, &Limits::unauthenticated()),
            Err(ProtocolError::InvalidBulkLength)
        );
        let mut buf = BytesMut::from(&b"*1\r\n$536870913\r\n"[..]);
        assert_eq!(
            parse_command(&mut buf, &Limits::default()),
            Err(ProtocolError::InvalidBulkLength)
        );
    }

    #[test]
    fn limits_args() {
        let l = Limits::unauthenticated();
        let mut buf = BytesMut::from(&b"*65\r\n"[..]);
        assert_eq!(
            parse_command(&mut buf, &l),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        let mut buf = BytesMut::from(&b"*64\r\n"[..]);
        assert_eq!(parse_command(&mut buf, &l), Ok(None));
        let mut buf = BytesMut::from(&b"*1048577\r\n"[..]);
        assert_eq!(
            parse_command(&mut buf, &Limits::default()),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        // A huge declared count doesn't allocate up front.
        let mut buf = BytesMut::from(&b"*1048576\r\n$1\r\na\r\n"[..]);
        assert_eq!(parse_command(&mut buf, &Limits::default()), Ok(None));
    }

    #[test]
    fn limits_inline() {
        let l = Limits {
            max_inline_len: 8,
            ..Limits::default()
        };
        let mut buf = BytesMut::from(&b"GET abcd"[..]);
        assert_eq!(parse_command(&mut buf, &l), Ok(None));
        // No newline yet, but already over the limit.
        let mut buf = BytesMut::from(&b"GET abcde"[..]);
        assert_eq!(
            parse_command(&mut buf, &l),
            Err(ProtocolError::TooBigInline)
        );
        let mut buf = BytesMut::from(&b"GET abcdefgh\r\n"[..]);
        assert_eq!(
            parse_command(&mut buf, &l),
            Err(ProtocolError::TooBigInline)
        );
        let mut buf = BytesMut::from(&b"GET abcd\r"[..]);
        assert_eq!(parse_command(&mut buf, &l), Ok(None));
        buf.extend_from_slice(b"\n");
        assert!(parse_command(&mut buf, &l).unwrap().is_some());
    }

    #[test]
    fn number_parsing() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b"007"), None);
        assert_eq!(parse_i64(b"1 "), None);
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
    }

    fn arb_multibulk() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6)
    }

    fn arb_inline() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(b'!'..=b'&', 1..8), 1..4)
            .prop_map(|args| {
                // '"' and '\'' have quoting meaning; keep inline args plain.
                args.into_iter()
                    .map(|a| {
                        a.into_iter()
                            .filter(|c| *c != b'"' && *c != b'\'')
                            .collect::<Vec<u8>>()
                    })
                    .filter(|a: &Vec<u8>| !a.is_empty())
                    .collect()
            })
            .prop_filter("non-empty", |a: &Vec<Vec<u8>>| !a.is_empty())
    }

    proptest! {
        #[test]
        fn split_stream_roundtrip(
            cmds in prop::collection::vec(
                prop_oneof![
                    4 => arb_multibulk().prop_map(|a| (false, a)),
                    1 => arb_inline().prop_map(|a| (true, a)),
                ],
                1..20,
            ),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let mut stream = Vec::new();
            for (inline, args) in &cmds {
                if *inline {
                    stream.extend_from_slice(&args.join(&b' '));
                    stream.extend_from_slice(b"\r\n");
                } else {
                    encode_cmd(args, &mut stream);
                }
            }
            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
            points.push(0);
            points.push(stream.len());
            points.sort_unstable();
            points.dedup();
            let limits = Limits::default();
            let mut buf = BytesMut::new();
            let mut got: Vec<Vec<Vec<u8>>> = Vec::new();
            for w in points.windows(2) {
                buf.extend_from_slice(&stream[w[0]..w[1]]);
                while let Some(cmd) = parse_command(&mut buf, &limits).unwrap() {
                    got.push(cmd.iter().map(|b| b.to_vec()).collect());
                }
            }
            prop_assert!(buf.is_empty());
            let want: Vec<Vec<Vec<u8>>> = cmds.into_iter().map(|(_, a)| a).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn never_panics(data in prop::collection::vec(any::<u8>(), 0..256)) {
            let limits = Limits { max_bulk_len: 64, max_args: 8, max_inline_len: 64 };
            let mut buf = BytesMut::from(&data[..]);
            for _ in 0..64 {
                match parse_command(&mut buf, &limits) {
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }

        #[test]
        fn never_panics_structured(
            prefix in prop::sample::select(vec![&b"*"[..], b"*2\r\n$", b"*1\r\n$3\r\n", b"\"", b"'"]),
            data in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut input = prefix.to_vec();
            input.extend_from_slice(&data);
            let mut buf = BytesMut::from(&input[..]);
            let _ = parse_command(&mut buf, &Limits::default());
        }
    }
}
