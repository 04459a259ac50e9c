//! The one place MessagePack is held to hoard's rules before a plugin sees
//! it. Plugins then decode with their language's stock library and never
//! meet the corners where those libraries disagree: every value and event
//! payload that passes here is exactly one value, nested at most
//! [`MAX_DEPTH`] containers deep, whose strings are UTF-8, whose map keys
//! are strings and unique within their map, and which uses no extension
//! type the MessagePack specification reserves (negative types such as the
//! timestamp, which libraries decode into their own date objects).
//!
//! The server applies it to every value and payload a client sends
//! (`transcode::to_msgpack`, both formats), and `hoard plugin check` to
//! every case of a suite, so both refuse the same input with the same text.
//! It walks the bytes once and allocates only to find duplicate keys.

use std::collections::HashSet;

/// Containers a value may nest; cache values need far fewer, and the bound
/// keeps hostile input from exhausting a recursive decoder's stack.
pub const MAX_DEPTH: usize = 64;

/// Maps up to this size are searched for duplicate keys pairwise, larger
/// ones through a hash set.
const PAIRWISE_KEYS: usize = 16;

/// Why a MessagePack value breaks hoard's rules. Offsets count bytes from
/// the start of the value, so a client can find the spot in what it sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrictError {
    /// A byte MessagePack does not define (`0xc1`).
    #[error("byte 0x{byte:02x} at offset {offset} is not a MessagePack type")]
    Reserved {
        /// Where.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// The input stops inside a value.
    #[error("the input ends inside {what} that starts at offset {offset}")]
    Truncated {
        /// Where the unfinished item starts.
        offset: usize,
        /// What it is, e.g. "a string".
        what: &'static str,
    },
    /// Containers nested deeper than [`MAX_DEPTH`].
    #[error("containers nest deeper than {MAX_DEPTH} levels (offset {offset})")]
    TooDeep {
        /// Where the container that is one too deep starts.
        offset: usize,
    },
    /// A map key that is not a string.
    #[error("a map key at offset {offset} is {kind}; map keys must be strings")]
    KeyNotString {
        /// Where the key starts.
        offset: usize,
        /// What it is instead, e.g. "an integer".
        kind: &'static str,
    },
    /// The same key twice in one map, which decoders resolve differently
    /// (first wins, last wins, or both kept).
    #[error("the map key {key:?} appears more than once in one map (offset {offset})")]
    DuplicateKey {
        /// Where the second occurrence starts.
        offset: usize,
        /// The key.
        key: String,
    },
    /// A string whose bytes are not UTF-8.
    #[error(
        "the string at offset {offset} is not valid UTF-8; send bytes as MessagePack binary (bin 8/16/32)"
    )]
    NotUtf8 {
        /// Where the string starts.
        offset: usize,
    },
    /// An extension type the specification reserves (negative types).
    #[error(
        "extension type {ext} at offset {offset} is reserved by the MessagePack specification; use types 0 to 127"
    )]
    ReservedExt {
        /// Where the extension value starts.
        offset: usize,
        /// Its type.
        ext: i8,
    },
    /// Bytes after the value.
    #[error("{count} byte(s) follow the value; send exactly one value")]
    Trailing {
        /// How many.
        count: usize,
    },
}

/// Checks that `bytes` is exactly one MessagePack value that follows the
/// rules in the module docs.
pub fn check(bytes: &[u8]) -> Result<(), StrictError> {
    let mut reader = Reader { bytes, pos: 0 };
    reader.value(0)?;
    match bytes.len() - reader.pos {
        0 => Ok(()),
        count => Err(StrictError::Trailing { count }),
    }
}

/// What one header announced.
enum Head<'a> {
    /// A (UTF-8) string.
    Str(&'a [u8]),
    Array(usize),
    Map(usize),
    /// Any scalar, binary or extension value, by the name error texts use.
    Scalar(&'static str),
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn value(&mut self, depth: usize) -> Result<(), StrictError> {
        let start = self.pos;
        match self.head()? {
            Head::Array(_) | Head::Map(_) if depth >= MAX_DEPTH => {
                Err(StrictError::TooDeep { offset: start })
            }
            Head::Array(n) => (0..n).try_for_each(|_| self.value(depth + 1)),
            Head::Map(n) => self.map(n, depth),
            Head::Str(_) | Head::Scalar(_) => Ok(()),
        }
    }

    fn map(&mut self, entries: usize, depth: usize) -> Result<(), StrictError> {
        let mut keys: Vec<&'a [u8]> = Vec::with_capacity(entries.min(PAIRWISE_KEYS));
        let mut hashed: HashSet<&'a [u8]> = HashSet::new();
        for _ in 0..entries {
            let offset = self.pos;
            let key = match self.head()? {
                Head::Str(key) => key,
                Head::Array(_) => return Err(not_string(offset, "an array")),
                Head::Map(_) => return Err(not_string(offset, "a map")),
                Head::Scalar(kind) => return Err(not_string(offset, kind)),
            };
            let repeated = if entries <= PAIRWISE_KEYS {
                let seen = keys.contains(&key);
                keys.push(key);
                seen
            } else {
                !hashed.insert(key)
            };
            if repeated {
                return Err(StrictError::DuplicateKey {
                    offset,
                    key: String::from_utf8_lossy(key).into_owned(),
                });
            }
            self.value(depth + 1)?;
        }
        Ok(())
    }

    /// Reads one header and whatever payload follows it directly (string,
    /// binary and extension bytes), leaving `pos` at the first element of
    /// a container or after a scalar.
    fn head(&mut self) -> Result<Head<'a>, StrictError> {
        let start = self.pos;
        let byte = self.take(1, start, "a value")?[0];
        let head = match byte {
            0x00..=0x7f | 0xe0..=0xff => Head::Scalar("an integer"),
            0x80..=0x8f => self.container(start, usize::from(byte & 0x0f), true)?,
            0x90..=0x9f => self.container(start, usize::from(byte & 0x0f), false)?,
            0xa0..=0xbf => self.string(start, usize::from(byte & 0x1f))?,
            0xc0 => Head::Scalar("nil"),
            0xc1 => {
                return Err(StrictError::Reserved {
                    offset: start,
                    byte,
                });
            }
            0xc2 | 0xc3 => Head::Scalar("a boolean"),
            0xc4..=0xc6 => {
                let len = self.length(start, 1 << (byte - 0xc4), "binary data")?;
                self.take(len, start, "binary data")?;
                Head::Scalar("binary data")
            }
            0xc7..=0xc9 => {
                let len = self.length(start, 1 << (byte - 0xc7), "an extension value")?;
                self.extension(start, len)?
            }
            0xca => self.fixed(start, 4, "a float")?,
            0xcb => self.fixed(start, 8, "a float")?,
            0xcc..=0xcf => self.fixed(start, 1 << (byte - 0xcc), "an integer")?,
            0xd0..=0xd3 => self.fixed(start, 1 << (byte - 0xd0), "an integer")?,
            0xd4..=0xd8 => self.extension(start, 1 << (byte - 0xd4))?,
            0xd9..=0xdb => {
                let len = self.length(start, 1 << (byte - 0xd9), "a string")?;
                self.string(start, len)?
            }
            0xdc | 0xdd => {
                let n = self.length(start, if byte == 0xdc { 2 } else { 4 }, "an array")?;
                self.container(start, n, false)?
            }
            0xde | 0xdf => {
                let n = self.length(start, if byte == 0xde { 2 } else { 4 }, "a map")?;
                self.container(start, n, true)?
            }
        };
        Ok(head)
    }

    /// A container of `n` elements; each needs at least one byte (two per
    /// map entry), so a count the input cannot hold is refused up front.
    fn container(&self, start: usize, n: usize, map: bool) -> Result<Head<'a>, StrictError> {
        let needed = if map { n.saturating_mul(2) } else { n };
        if needed > self.bytes.len() - self.pos {
            let what = if map { "a map" } else { "an array" };
            return Err(StrictError::Truncated {
                offset: start,
                what,
            });
        }
        Ok(if map { Head::Map(n) } else { Head::Array(n) })
    }

    fn string(&mut self, start: usize, len: usize) -> Result<Head<'a>, StrictError> {
        let bytes = self.take(len, start, "a string")?;
        if std::str::from_utf8(bytes).is_err() {
            return Err(StrictError::NotUtf8 { offset: start });
        }
        Ok(Head::Str(bytes))
    }

    fn extension(&mut self, start: usize, len: usize) -> Result<Head<'a>, StrictError> {
        let ext = i8::from_be_bytes([self.take(1, start, "an extension value")?[0]]);
        if ext < 0 {
            return Err(StrictError::ReservedExt { offset: start, ext });
        }
        self.take(len, start, "an extension value")?;
        Ok(Head::Scalar("an extension value"))
    }

    fn fixed(
        &mut self,
        start: usize,
        len: usize,
        what: &'static str,
    ) -> Result<Head<'a>, StrictError> {
        self.take(len, start, what)?;
        Ok(Head::Scalar(what))
    }

    /// A big-endian length of `width` bytes (1, 2 or 4).
    fn length(
        &mut self,
        start: usize,
        width: usize,
        what: &'static str,
    ) -> Result<usize, StrictError> {
        let bytes = self.take(width, start, what)?;
        let n = bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
        // A length beyond the address space cannot fit in the input either.
        usize::try_from(n).map_err(|_| StrictError::Truncated {
            offset: start,
            what,
        })
    }

    fn take(
        &mut self,
        len: usize,
        start: usize,
        what: &'static str,
    ) -> Result<&'a [u8], StrictError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or(StrictError::Truncated {
                offset: start,
                what,
            })?;
        let bytes = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }
}

fn not_string(offset: usize, kind: &'static str) -> StrictError {
    StrictError::KeyNotString { offset, kind }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    fn error(s: &str) -> String {
        check(&hex(s)).unwrap_err().to_string()
    }

    #[test]
    fn well_formed_values_pass() {
        for ok in [
            "c0",
            "c3",
            "7f",
            "ff",
            "cf ffffffffffffffff",
            "d3 8000000000000000",
            "ca 3fc00000",
            "cb 3ff0000000000000",
            "a0",
            "a4 5a6fc3ab",                // "Zoë"
            "d9 03 616263",               // str 8
            "c4 02 ff00",                 // binary may hold any bytes
            "d4 01 00",                   // fixext 1 of type 1
            "c7 00 05",                   // ext 8, empty, type 5
            "80",                         // empty map
            "82 a1 61 01 a1 62 92 01 80", // {"a": 1, "b": [1, {}]}
            "dc 0002 c0 c0",              // array 16
            "de 0001 a1 6b c0",           // map 16
            "81 a1 61 81 a1 61 01",       // the same key in different maps
        ] {
            assert_eq!(check(&hex(ok)), Ok(()), "{ok}");
        }
    }

    #[test]
    fn malformed_input_is_refused_with_where_and_why() {
        assert_eq!(
            error("c1"),
            "byte 0xc1 at offset 0 is not a MessagePack type"
        );
        assert_eq!(
            error(""),
            "the input ends inside a value that starts at offset 0"
        );
        assert_eq!(
            error("a5 6162"),
            "the input ends inside a string that starts at offset 0"
        );
        assert_eq!(
            error("91 cd 01"),
            "the input ends inside an integer that starts at offset 1"
        );
        assert_eq!(
            error("80 c0"),
            "1 byte(s) follow the value; send exactly one value"
        );
        assert_eq!(
            error("c0 c0 c0"),
            "2 byte(s) follow the value; send exactly one value"
        );
    }

    #[test]
    fn counts_the_input_cannot_hold_are_refused_without_allocating() {
        // array 32 and map 32 claiming 4G elements, str 32 claiming 4 GiB.
        for (input, what) in [
            ("dd ffffffff", "an array"),
            ("df ffffffff", "a map"),
            ("db ffffffff", "a string"),
            ("c6 ffffffff", "binary data"),
            ("c9 ffffffff 01", "an extension value"),
        ] {
            assert_eq!(
                check(&hex(input)),
                Err(StrictError::Truncated { offset: 0, what }),
                "{input}"
            );
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let nested = |levels: usize| {
            let mut bytes = vec![0x91; levels];
            bytes.push(0xc0);
            bytes
        };
        assert_eq!(check(&nested(MAX_DEPTH)), Ok(()));
        assert_eq!(
            check(&nested(MAX_DEPTH + 1)),
            Err(StrictError::TooDeep { offset: MAX_DEPTH })
        );
        assert_eq!(
            check(&nested(100_000)),
            Err(StrictError::TooDeep { offset: MAX_DEPTH })
        );
        // Maps count as levels too.
        let mut maps = Vec::new();
        for _ in 0..=MAX_DEPTH {
            maps.extend([0x81, 0xa1, b'k']);
        }
        maps.push(0xc0);
        assert_eq!(
            error(&maps.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            format!(
                "containers nest deeper than 64 levels (offset {})",
                3 * MAX_DEPTH
            )
        );
    }

    #[test]
    fn map_keys_must_be_strings() {
        assert_eq!(
            error("81 01 02"),
            "a map key at offset 1 is an integer; map keys must be strings"
        );
        assert_eq!(
            error("82 a1 61 01 c4 01 61 02"),
            "a map key at offset 4 is binary data; map keys must be strings"
        );
        assert_eq!(
            check(&hex("81 90 01")),
            Err(StrictError::KeyNotString {
                offset: 1,
                kind: "an array"
            })
        );
        assert_eq!(
            check(&hex("81 c0 01")),
            Err(StrictError::KeyNotString {
                offset: 1,
                kind: "nil"
            })
        );
    }

    #[test]
    fn duplicate_keys_are_refused_in_small_and_large_maps() {
        assert_eq!(
            error("83 a2 6964 a1 31 a1 78 c0 a2 6964 a1 32"),
            r#"the map key "id" appears more than once in one map (offset 9)"#
        );
        // A map of 20 distinct keys passes; repeating the first fails.
        let mut large = vec![0xde, 0x00, 20];
        for i in 0..20u8 {
            large.extend([0xa1, b'a' + i, 0xc0]);
        }
        assert_eq!(check(&large), Ok(()));
        large[2] = 21;
        large.extend([0xa1, b'a', 0xc0]);
        assert_eq!(
            check(&large),
            Err(StrictError::DuplicateKey {
                offset: 63,
                key: "a".into()
            })
        );
    }

    #[test]
    fn strings_must_be_utf8_binary_may_be_anything() {
        assert_eq!(
            error("83 a2 6964 a1 31 a5 656d61696c a6 6140622e6364 a4 6e616d65 a1 ff"),
            "the string at offset 24 is not valid UTF-8; send bytes as MessagePack binary (bin 8/16/32)"
        );
        assert_eq!(
            check(&hex("a2 c328")),
            Err(StrictError::NotUtf8 { offset: 0 })
        );
        assert_eq!(check(&hex("c4 02 c328")), Ok(()));
    }

    #[test]
    fn reserved_extension_types_are_refused() {
        // The timestamp extension (-1), fixext 4.
        assert_eq!(
            error("d6 ff 00000000"),
            "extension type -1 at offset 0 is reserved by the MessagePack specification; use types 0 to 127"
        );
        assert_eq!(
            check(&hex("92 c0 c7 01 80 00")),
            Err(StrictError::ReservedExt {
                offset: 2,
                ext: -128
            })
        );
    }

    #[test]
    fn no_input_panics() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let _ = check(&[a, b, 0, 0, 0, 0]);
                let _ = check(&[0x81, a, b, 0xa1, 0xff]);
            }
        }
    }
}
