//! A client's JSON text as MessagePack, written straight from the bytes.
//!
//! Why: every JSON `CACHE.SET` converts its value, and the serde path
//! (`serde_json` driving `rmp_serde` through `serde_transcode`'s visitor
//! layers, then [`msgpack_strict::check`](super::msgpack_strict::check)
//! walking the result again) was ~4% of a `CACHE.SET`'s CPU (perf). This
//! writer covers what clients send most — objects, arrays, strings without
//! escapes, numbers, booleans, null — and gives up (`None`) on anything
//! else: an escape, nesting past [`MAX_DEPTH`], an object with more than
//! [`MAX_KEYS`] keys or a repeated key, and every syntax error. The caller
//! then takes the serde path, which either converts the value or refuses it
//! with its usual message, so what a client sees never depends on which
//! path ran.
//!
//! When it answers, the bytes are exactly the serde path's (a differential
//! test checks it) and already meet hoard's MessagePack rules: one value,
//! at most [`MAX_DEPTH`] levels, UTF-8 strings, unique string keys.

use super::msgpack_strict;

/// Deepest nesting taken here, the same bound the strict check applies.
const MAX_DEPTH: usize = msgpack_strict::MAX_DEPTH;

/// Keys of one object compared pairwise for repeats; a larger object takes
/// the serde path (and the strict check's hash set).
const MAX_KEYS: usize = 32;

/// `json` as MessagePack that passes the strict check, or `None` when this
/// writer leaves the value to the serde path.
pub fn to_msgpack(json: &[u8]) -> Option<Vec<u8>> {
    let mut writer = Writer {
        json,
        at: 0,
        out: Vec::with_capacity(json.len()),
        keys: Vec::new(),
    };
    writer.value(0)?;
    writer.skip_space();
    (writer.at == json.len()).then_some(writer.out)
}

struct Writer<'a> {
    json: &'a [u8],
    at: usize,
    out: Vec<u8>,
    /// The keys of every object being written, innermost last.
    keys: Vec<&'a [u8]>,
}

impl<'a> Writer<'a> {
    fn peek(&self) -> Option<u8> {
        self.json.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// The next non-space byte, consumed.
    fn next_token(&mut self) -> Option<u8> {
        self.skip_space();
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        match self.next_token()? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => {
                let text = self.string()?;
                write_str(&mut self.out, text);
                Some(())
            }
            b'n' => self.literal(b"ull", 0xc0),
            b't' => self.literal(b"rue", 0xc3),
            b'f' => self.literal(b"alse", 0xc2),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, rest: &[u8], byte: u8) -> Option<()> {
        let end = self.at.checked_add(rest.len())?;
        if self.json.get(self.at..end)? != rest {
            return None;
        }
        self.at = end;
        self.out.push(byte);
        Some(())
    }

    /// A number whose first byte was consumed. An integer is written as
    /// the smallest integer form, as serde_json hands it over (`u64` when
    /// non-negative, `i64` when negative); anything else that is a JSON
    /// number (a fraction, an exponent, `-0`, beyond 64 bits) is parsed by
    /// serde_json itself, so the float is the very one the serde path gets.
    fn number(&mut self) -> Option<()> {
        let start = self.at - 1;
        let rest = self.json.get(start..)?;
        let len = rest
            .iter()
            .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .unwrap_or(rest.len());
        let token = rest.get(..len)?;
        self.at = start + len;
        match integer(token) {
            Some(Integer::Unsigned(n)) => write_uint(&mut self.out, n),
            Some(Integer::Negative(n)) => write_negative(&mut self.out, n),
            None => {
                let float: f64 = serde_json::from_slice(token).ok()?;
                tagged(&mut self.out, 0xcb, &float.to_be_bytes());
            }
        }
        Some(())
    }

    /// The text of a string whose opening quote was consumed: no escapes,
    /// no control characters, UTF-8.
    fn string(&mut self) -> Option<&'a str> {
        let rest = self.json.get(self.at..)?;
        let len = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        let text = std::str::from_utf8(rest.get(..len)?).ok()?;
        self.at += len + 1;
        Some(text)
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        self.container(depth, b']', [0x90, 0xdc, 0xdd], |w| w.value(depth))
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        let first_key = self.keys.len();
        let written = self.container(depth, b'}', [0x80, 0xde, 0xdf], |w| {
            w.entry(first_key, depth)
        });
        self.keys.truncate(first_key);
        written
    }

    /// An array or object whose opening bracket was consumed: `item` writes
    /// each element (or entry) until `close`; the header is set after.
    fn container(
        &mut self,
        depth: usize,
        close: u8,
        kinds: [u8; 3],
        mut item: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let header = self.out.len();
        self.out.push(kinds[0]);
        let mut count = 0usize;
        self.skip_space();
        if self.peek() == Some(close) {
            self.at += 1;
        } else {
            loop {
                item(self)?;
                count += 1;
                match self.next_token()? {
                    b',' => {}
                    byte if byte == close => break,
                    _ => return None,
                }
            }
        }
        set_len(&mut self.out, header, count, kinds)
    }

    /// One `"key": value` of the object whose keys start at `first_key`.
    fn entry(&mut self, first_key: usize, depth: usize) -> Option<()> {
        if self.next_token()? != b'"' {
            return None;
        }
        let key = self.string()?;
        let seen = self.keys.get(first_key..)?;
        if seen.len() >= MAX_KEYS || seen.contains(&key.as_bytes()) {
            return None;
        }
        self.keys.push(key.as_bytes());
        write_str(&mut self.out, key);
        if self.next_token()? != b':' {
            return None;
        }
        self.value(depth)
    }
}

/// A JSON integer serde_json reads as one (not as a float).
enum Integer {
    Unsigned(u64),
    Negative(i64),
}

/// `token` as an integer: digits without a leading zero, optionally
/// negative, within 64 bits, and not `-0` (which serde_json reads as the
/// float -0.0); `None` for anything else.
fn integer(token: &[u8]) -> Option<Integer> {
    let (negative, digits) = match token.split_first()? {
        (b'-', digits) => (true, digits),
        _ => (false, token),
    };
    if digits.is_empty()
        || (digits.len() > 1 && digits.first() == Some(&b'0'))
        || !digits.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let magnitude = digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })?;
    if !negative {
        return Some(Integer::Unsigned(magnitude));
    }
    if magnitude == 0 {
        return None;
    }
    0i64.checked_sub_unsigned(magnitude).map(Integer::Negative)
}

/// Fills in the one-byte header written at `at` for a container of `count`
/// items, widening it (and moving the items) past the fix form's 15.
/// `kinds`: the fix form's base byte, then the 16- and 32-bit markers.
fn set_len(out: &mut Vec<u8>, at: usize, count: usize, kinds: [u8; 3]) -> Option<()> {
    let [fix, wide16, wide32] = kinds;
    if count < 16 {
        *out.get_mut(at)? = fix | u8::try_from(count).ok()?;
        return Some(());
    }
    let mut header = Vec::with_capacity(5);
    match u16::try_from(count) {
        Ok(n) => tagged(&mut header, wide16, &n.to_be_bytes()),
        Err(_) => tagged(
            &mut header,
            wide32,
            &u32::try_from(count).ok()?.to_be_bytes(),
        ),
    }
    out.splice(at..=at, header);
    Some(())
}

/// As `rmp::encode::write_str`: the smallest string header.
fn write_str(out: &mut Vec<u8>, text: &str) {
    let len = text.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if let Ok(n) = u8::try_from(len) {
        tagged(out, 0xd9, &[n]);
    } else if let Ok(n) = u16::try_from(len) {
        tagged(out, 0xda, &n.to_be_bytes());
    } else {
        let n = u32::try_from(len).unwrap_or(u32::MAX);
        tagged(out, 0xdb, &n.to_be_bytes());
    }
    out.extend_from_slice(text.as_bytes());
}

/// As `rmp::encode::write_uint`: the smallest unsigned form.
fn write_uint(out: &mut Vec<u8>, n: u64) {
    if n < 128 {
        out.push(n as u8);
    } else if let Ok(n) = u8::try_from(n) {
        tagged(out, 0xcc, &[n]);
    } else if let Ok(n) = u16::try_from(n) {
        tagged(out, 0xcd, &n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        tagged(out, 0xce, &n.to_be_bytes());
    } else {
        tagged(out, 0xcf, &n.to_be_bytes());
    }
}

/// As `rmp::encode::write_sint` for a negative number: the smallest form.
fn write_negative(out: &mut Vec<u8>, n: i64) {
    if n >= -32 {
        out.push(n as u8);
    } else if let Ok(n) = i8::try_from(n) {
        tagged(out, 0xd0, &n.to_be_bytes());
    } else if let Ok(n) = i16::try_from(n) {
        tagged(out, 0xd1, &n.to_be_bytes());
    } else if let Ok(n) = i32::try_from(n) {
        tagged(out, 0xd2, &n.to_be_bytes());
    } else {
        tagged(out, 0xd3, &n.to_be_bytes());
    }
}

/// A MessagePack marker byte and the big-endian bytes it announces.
fn tagged(out: &mut Vec<u8>, marker: u8, bytes: &[u8]) {
    out.push(marker);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::transcode::json_to_msgpack;
    use proptest::prelude::*;

    /// The fast path answers exactly what the serde path would, or steps aside.
    fn agrees(json: &[u8]) -> Result<(), TestCaseError> {
        if let Some(fast) = to_msgpack(json) {
            let slow = json_to_msgpack(json);
            prop_assert_eq!(
                Ok(fast.clone()),
                slow,
                "input {:?}",
                String::from_utf8_lossy(json)
            );
            prop_assert!(msgpack_strict::check(&fast).is_ok());
        }
        Ok(())
    }

    /// JSON values as clients send them: strings without escapes (so the
    /// fast path takes them) beside arbitrary ones, wide containers.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        crate::cache::json_strategy::json_value(
            "[a-z@.\u{e9}\u{2028}]{0,300}",
            "[a-c]{1,2}".boxed(),
            20,
        )
    }

    proptest! {
        #[test]
        fn json_text_converts_as_the_serde_path_does(value in json_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_vec_pretty(&value).unwrap()
            } else {
                serde_json::to_vec(&value).unwrap()
            };
            agrees(&text)?;
        }

        #[test]
        fn mangled_json_either_matches_or_steps_aside(
            value in json_value(),
            cut in any::<prop::sample::Index>(),
            byte in prop::sample::select(b"{}[]:,\" -0123.eE\\ntrfalse\x01\xff".to_vec()),
        ) {
            let mut text = serde_json::to_vec(&value).unwrap();
            let at = cut.index(text.len() + 1);
            text.insert(at, byte);
            agrees(&text)?;
            text.truncate(at);
            agrees(&text)?;
        }

        #[test]
        fn arbitrary_bytes_either_match_or_step_aside(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            agrees(&bytes)?;
        }
    }

    #[test]
    fn the_shapes_clients_send_take_the_fast_path() {
        for json in [
            &br#"{"id":"1","email":"ada@example.com","name":"Ada"}"#[..],
            br#" { "a" : [ 1 , -2 , 300 , -40000 , 18446744073709551615 , -9223372036854775808 ] , "b" : { } , "c" : [ ] , "d" : null , "e" : true , "f" : false } "#,
            br#""vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv""#,
            br#"[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]"#,
            br#"[1.5,-0,1e3,-2.5E-3,0.1,18446744073709551616,-9223372036854775809,1E+2]"#,
            br#"{"price":19.99,"lat":-33.8688,"lon":151.2093}"#,
        ] {
            let fast = to_msgpack(json);
            assert!(fast.is_some(), "{}", String::from_utf8_lossy(json));
            assert_eq!(fast.map(Ok), Some(json_to_msgpack(json)));
        }
        // A map past the fix form's 15 entries, and a string past 255 bytes.
        let wide: String = (0..20)
            .map(|i| format!("\"k{i}\":\"{}\"", "x".repeat(i * 20)))
            .collect::<Vec<_>>()
            .join(",");
        let wide = format!("{{{wide}}}");
        let fast = to_msgpack(wide.as_bytes());
        assert!(fast.is_some());
        assert_eq!(fast.map(Ok), Some(json_to_msgpack(wide.as_bytes())));
    }

    #[test]
    fn what_it_does_not_handle_is_left_to_the_serde_path() {
        for json in [
            &br#""a\nb""#[..],
            b"1.",
            b"1e",
            b"-",
            b"1.5.5",
            b"+1",
            b"1e400",
            b"[1-2]",
            br#"{"a":1,"a":2}"#,
            b"[1,]",
            b"01",
            b"nul",
            b"[1] x",
            b"\"\xff\"",
        ] {
            assert_eq!(to_msgpack(json), None, "{}", String::from_utf8_lossy(json));
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(to_msgpack(deep.as_bytes()), None);
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(to_msgpack(ok.as_bytes()).is_some());
        let many: String = (0..=MAX_KEYS)
            .map(|i| format!("\"k{i}\":1"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(to_msgpack(format!("{{{many}}}").as_bytes()), None);
    }
}
