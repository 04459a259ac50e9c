//! Stored MessagePack as JSON text for a reply, written straight from the
//! bytes.
//!
//! Why: every JSON `CACHE.GET` hit converts its value, and going through
//! `serde_transcode` (an `rmp_serde` deserializer driving a `serde_json`
//! serializer through visitor layers) was ~3% of a hit's CPU (perf). This
//! writer covers what stored values hold — nil, booleans, integers, floats,
//! UTF-8 strings, arrays, maps with string keys — and gives up (`None`) on
//! anything else (binary, extensions, other map keys, invalid UTF-8, a
//! truncated value, deep nesting), for which the caller takes the serde path.
//! Its output is byte for byte what that path writes (a differential test
//! checks it): floats are written by `serde_json` itself, strings escaped as
//! `serde_json` escapes them.

/// Nesting beyond which the serde path takes over (stored values are
/// checked to at most 64 levels anyway).
const MAX_DEPTH: usize = 128;

/// The first MessagePack value of `msgpack` as JSON, or `None` when this
/// writer does not handle it.
pub fn to_json(msgpack: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(msgpack.len() + msgpack.len() / 2 + 8);
    let mut reader = Reader {
        bytes: msgpack,
        at: 0,
    };
    reader.value(&mut out, 0)?;
    Some(out)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn uint(&mut self, n: usize) -> Option<u64> {
        let slice = self.take(n)?;
        Some(slice.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)))
    }

    /// A length in the next `n` big-endian bytes.
    fn len(&mut self, n: usize) -> Option<usize> {
        usize::try_from(self.uint(n)?).ok()
    }

    fn value(&mut self, out: &mut Vec<u8>, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        let marker = self.byte()?;
        match marker {
            0x00..=0x7f => write_int(out, i128::from(marker)),
            0x80..=0x8f => self.map(out, usize::from(marker & 0x0f), depth)?,
            0x90..=0x9f => self.array(out, usize::from(marker & 0x0f), depth)?,
            0xa0..=0xbf => self.string(out, usize::from(marker & 0x1f))?,
            0xc0 => out.extend_from_slice(b"null"),
            0xc2 => out.extend_from_slice(b"false"),
            0xc3 => out.extend_from_slice(b"true"),
            0xca => {
                let bits = u32::try_from(self.uint(4)?).ok()?;
                serde_json::to_writer(&mut *out, &f32::from_bits(bits)).ok()?;
            }
            0xcb => {
                let bits = self.uint(8)?;
                serde_json::to_writer(&mut *out, &f64::from_bits(bits)).ok()?;
            }
            0xcc => write_int(out, i128::from(self.uint(1)?)),
            0xcd => write_int(out, i128::from(self.uint(2)?)),
            0xce => write_int(out, i128::from(self.uint(4)?)),
            0xcf => write_int(out, i128::from(self.uint(8)?)),
            0xd0 => write_int(out, i128::from(self.uint(1)? as u8 as i8)),
            0xd1 => write_int(out, i128::from(self.uint(2)? as u16 as i16)),
            0xd2 => write_int(out, i128::from(self.uint(4)? as u32 as i32)),
            0xd3 => write_int(out, i128::from(self.uint(8)? as i64)),
            // str 8/16/32, array 16/32, map 16/32: the length's width follows the marker.
            0xd9..=0xdb => {
                let n = self.len(1 << (marker - 0xd9))?;
                self.string(out, n)?;
            }
            0xdc | 0xdd => {
                let n = self.len(2 << (marker - 0xdc))?;
                self.array(out, n, depth)?;
            }
            0xde | 0xdf => {
                let n = self.len(2 << (marker - 0xde))?;
                self.map(out, n, depth)?;
            }
            0xe0..=0xff => write_int(out, i128::from(marker as i8)),
            // bin, ext, the unused 0xc1: the serde path decides.
            _ => return None,
        }
        Some(())
    }

    fn array(&mut self, out: &mut Vec<u8>, n: usize, depth: usize) -> Option<()> {
        out.push(b'[');
        for i in 0..n {
            if i > 0 {
                out.push(b',');
            }
            self.value(out, depth + 1)?;
        }
        out.push(b']');
        Some(())
    }

    fn map(&mut self, out: &mut Vec<u8>, n: usize, depth: usize) -> Option<()> {
        out.push(b'{');
        for i in 0..n {
            if i > 0 {
                out.push(b',');
            }
            // Keys must be strings here; anything else goes the serde way.
            let marker = self.byte()?;
            let len = match marker {
                0xa0..=0xbf => usize::from(marker & 0x1f),
                0xd9..=0xdb => self.len(1 << (marker - 0xd9))?,
                _ => return None,
            };
            self.string(out, len)?;
            out.push(b':');
            self.value(out, depth + 1)?;
        }
        out.push(b'}');
        Some(())
    }

    fn string(&mut self, out: &mut Vec<u8>, n: usize) -> Option<()> {
        let text = std::str::from_utf8(self.take(n)?).ok()?;
        write_string(out, text);
        Some(())
    }
}

fn write_int(out: &mut Vec<u8>, n: i128) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{n}");
}

/// A JSON string literal, escaped as `serde_json` escapes: `"`, `\` and the
/// control characters below U+0020 (the short forms where JSON has them).
fn write_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0x0f)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The serde path this writer stands in for.
    fn slow(msgpack: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut de = rmp_serde::Deserializer::new(msgpack);
        let mut ser = serde_json::Serializer::new(&mut out);
        serde_transcode::transcode(&mut de, &mut ser).map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// JSON values whose strings need every kind of escape.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        crate::cache::json_strategy::json_value(
            "[\\x00-\\x1f\"\\\\/a\u{7f}\u{e9}\u{2028}]{0,12}",
            any::<String>().boxed(),
            6,
        )
    }

    proptest! {
        #[test]
        fn writes_what_the_serde_path_writes(value in json_value()) {
            let packed = rmp_serde::to_vec(&value).unwrap();
            let fast = to_json(&packed);
            prop_assert!(fast.is_some(), "a JSON-born value must take the fast path");
            prop_assert_eq!(fast.unwrap(), slow(&packed).unwrap());
        }

        #[test]
        fn arbitrary_bytes_either_match_or_step_aside(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            if let Some(fast) = to_json(&bytes) {
                prop_assert_eq!(Ok(fast), slow(&bytes));
            }
        }
    }

    #[test]
    fn every_integer_and_float_width_matches() {
        let cases: Vec<Vec<u8>> = vec![
            vec![0x7f],
            vec![0xe0],
            vec![0xcc, 0xff],
            vec![0xcd, 0xff, 0xff],
            vec![0xce, 0xff, 0xff, 0xff, 0xff],
            vec![0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            vec![0xd0, 0x80],
            vec![0xd1, 0x80, 0x00],
            vec![0xd2, 0x80, 0x00, 0x00, 0x00],
            vec![0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0],
            vec![0xca, 0x3f, 0xc0, 0x00, 0x00],
            vec![0xca, 0x7f, 0x80, 0x00, 0x00],
            vec![0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0],
            vec![0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a],
        ];
        for bytes in cases {
            assert_eq!(to_json(&bytes), Some(slow(&bytes).unwrap()), "{bytes:x?}");
        }
    }

    #[test]
    fn what_json_cannot_say_is_left_to_the_serde_path() {
        for bytes in [
            vec![0xc4, 0x02, 0x00, 0x01], // bin
            vec![0xd4, 0x01, 0x02],       // fixext 1
            vec![0x81, 0x01, 0x02],       // an integer key
            vec![0xa2, 0xff, 0xfe],       // not UTF-8
            vec![0x92, 0x01],             // truncated
            vec![0xc1],                   // never used
        ] {
            assert_eq!(to_json(&bytes), None, "{bytes:x?}");
        }
        let deep: Vec<u8> = std::iter::repeat_n(0x91, MAX_DEPTH + 2)
            .chain([0xc0])
            .collect();
        assert_eq!(to_json(&deep), None);
    }
}
