//! Helpers shared by hoard definition plugins (plain Rust, no WIT types):
//! a MessagePack value that any input decodes into without panicking, the
//! key-part rules, and a strict RFC 3339 timestamp parser.
//!
//! Nothing here touches clocks, randomness, files or threads, so a plugin
//! that uses it imports nothing beyond what the host allows.

#![forbid(unsafe_code)]

use rmp::Marker;

/// Containers a value may nest, as the host bounds them before a plugin
/// sees it (`msgpack_strict::MAX_DEPTH`); `decode` keeps its own bound too,
/// so hostile input cannot exhaust the guest's stack when called directly.
pub const MAX_DEPTH: usize = 64;

/// Elements pre-allocated for an array or map, whatever its header claims.
const MAX_PREALLOC: usize = 1024;

/// Any MessagePack value, borrowing its strings and binary data from the
/// bytes it was decoded from: a `validate` that only looks at a few fields
/// allocates one vector per container and copies no text.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Nil,
    Bool(bool),
    /// A non-negative integer.
    UInt(u64),
    /// A negative integer.
    Int(i64),
    Float(f64),
    Str(&'a str),
    /// Binary data, and strings whose bytes are not UTF-8.
    Bin(&'a [u8]),
    Array(Vec<Value<'a>>),
    /// Entries in encoding order; keys may be any value and may repeat.
    Map(Vec<(Value<'a>, Value<'a>)>),
    /// A MessagePack extension type (its contents are not inspected).
    Ext,
}

impl<'a> Value<'a> {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&[(Value<'a>, Value<'a>)]> {
        match self {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// A short name of the value's type, for error texts.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "a boolean",
            Value::UInt(_) | Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Bin(_) => "binary data",
            Value::Array(_) => "an array",
            Value::Map(_) => "a map",
            Value::Ext => "an extension value",
        }
    }
}

/// What a string-keyed field of a map holds.
#[derive(Debug, PartialEq)]
pub enum Field<'v, 'a> {
    Missing,
    Present(&'v Value<'a>),
    /// The key appears more than once, which readers would resolve differently.
    Duplicate,
}

/// Look up a string key in a map's entries.
pub fn field<'v, 'a>(entries: &'v [(Value<'a>, Value<'a>)], name: &str) -> Field<'v, 'a> {
    let mut found = Field::Missing;
    for (k, v) in entries {
        if k.as_str() == Some(name) {
            if found != Field::Missing {
                return Field::Duplicate;
            }
            found = Field::Present(v);
        }
    }
    found
}

/// What a record holds under one name, owned: the result of [`record`].
#[derive(Debug, Clone, PartialEq)]
pub enum Slot<'a> {
    Missing,
    Present(Value<'a>),
    /// The key appears more than once.
    Duplicate,
}

impl<'a> From<Field<'_, 'a>> for Slot<'a> {
    fn from(field: Field<'_, 'a>) -> Self {
        match field {
            Field::Missing => Slot::Missing,
            Field::Present(v) => Slot::Present(v.clone()),
            Field::Duplicate => Slot::Duplicate,
        }
    }
}

/// The fields `names` of a MessagePack map, as [`field`] would find them
/// in the decoded map, read in one pass: other entries are walked over
/// rather than built, and nothing is allocated unless a wanted field holds
/// a container. A `validate` that checks a few fields of every value spends
/// most of its time decoding; this is the fast way for the common case.
///
/// `None` when the bytes are not exactly one well-formed map: [`decode`]
/// then says what is wrong, so callers fall back to it for the message.
pub fn record<'a, const N: usize>(bytes: &'a [u8], names: [&str; N]) -> Option<[Slot<'a>; N]> {
    let mut reader = Reader { rest: bytes };
    let [byte] = reader.array::<1>().ok()?;
    let len = match Marker::from_u8(byte) {
        Marker::FixMap(n) => usize::from(n),
        Marker::Map16 => reader.len(2).ok()?,
        Marker::Map32 => reader.len(4).ok()?,
        _ => return None,
    };
    let mut slots: [Slot<'a>; N] = core::array::from_fn(|_| Slot::Missing);
    for _ in 0..len {
        let wanted = match reader.key()? {
            Some(key) => names.iter().position(|name| name.as_bytes() == key),
            None => None,
        };
        match wanted.and_then(|at| slots.get_mut(at)) {
            Some(slot) => {
                let value = reader.value(1).ok()?;
                *slot = match slot {
                    Slot::Missing => Slot::Present(value),
                    _ => Slot::Duplicate,
                };
            }
            None => reader.skip(1)?,
        }
    }
    reader.rest.is_empty().then_some(slots)
}

/// Decode exactly one MessagePack value; trailing bytes are an error.
pub fn decode(bytes: &[u8]) -> Result<Value<'_>, String> {
    let mut reader = Reader { rest: bytes };
    let value = reader
        .value(0)
        .map_err(|e| format!("not valid MessagePack: {e}"))?;
    if reader.rest.is_empty() {
        Ok(value)
    } else {
        Err(format!(
            "not a single MessagePack value ({} more byte(s) follow it)",
            reader.rest.len()
        ))
    }
}

/// A cursor over MessagePack bytes; `rmp` names the formats, the cursor
/// hands out slices of the input instead of copies.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        if len > self.rest.len() {
            return Err(format!("{len} byte(s) announced, {} left", self.rest.len()));
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A big-endian length of `width` bytes (1, 2 or 4).
    fn len(&mut self, width: usize) -> Result<usize, String> {
        Ok(match width {
            1 => usize::from(self.array::<1>()?[0]),
            2 => usize::from(u16::from_be_bytes(self.array()?)),
            _ => u32::from_be_bytes(self.array()?) as usize,
        })
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, String> {
        let [byte] = self.array::<1>()?;
        Ok(match Marker::from_u8(byte) {
            Marker::Null => Value::Nil,
            Marker::False => Value::Bool(false),
            Marker::True => Value::Bool(true),
            Marker::FixPos(n) => Value::UInt(n.into()),
            Marker::U8 => Value::UInt(self.array::<1>()?[0].into()),
            Marker::U16 => Value::UInt(u16::from_be_bytes(self.array()?).into()),
            Marker::U32 => Value::UInt(u32::from_be_bytes(self.array()?).into()),
            Marker::U64 => Value::UInt(u64::from_be_bytes(self.array()?)),
            Marker::FixNeg(n) => int(n.into()),
            Marker::I8 => int(i8::from_be_bytes(self.array()?).into()),
            Marker::I16 => int(i16::from_be_bytes(self.array()?).into()),
            Marker::I32 => int(i32::from_be_bytes(self.array()?).into()),
            Marker::I64 => int(i64::from_be_bytes(self.array()?)),
            Marker::F32 => Value::Float(f32::from_be_bytes(self.array()?).into()),
            Marker::F64 => Value::Float(f64::from_be_bytes(self.array()?)),
            Marker::FixStr(n) => self.text(n.into())?,
            Marker::Str8 => self.sized(1, Self::text)?,
            Marker::Str16 => self.sized(2, Self::text)?,
            Marker::Str32 => self.sized(4, Self::text)?,
            Marker::Bin8 => Value::Bin(self.sized(1, Self::take)?),
            Marker::Bin16 => Value::Bin(self.sized(2, Self::take)?),
            Marker::Bin32 => Value::Bin(self.sized(4, Self::take)?),
            Marker::FixArray(n) => self.items(n.into(), depth)?,
            Marker::Array16 => self.sized(2, |r, n| r.items(n, depth))?,
            Marker::Array32 => self.sized(4, |r, n| r.items(n, depth))?,
            Marker::FixMap(n) => self.entries(n.into(), depth)?,
            Marker::Map16 => self.sized(2, |r, n| r.entries(n, depth))?,
            Marker::Map32 => self.sized(4, |r, n| r.entries(n, depth))?,
            // An extension: its type byte, then its data.
            Marker::FixExt1 => self.ext(1)?,
            Marker::FixExt2 => self.ext(2)?,
            Marker::FixExt4 => self.ext(4)?,
            Marker::FixExt8 => self.ext(8)?,
            Marker::FixExt16 => self.ext(16)?,
            Marker::Ext8 => self.sized(1, Self::ext)?,
            Marker::Ext16 => self.sized(2, Self::ext)?,
            Marker::Ext32 => self.sized(4, Self::ext)?,
            Marker::Reserved => return Err(format!("the reserved byte {byte:#04x}")),
        })
    }

    /// Reads a length of `width` bytes, then what `then` makes of that many.
    fn sized<T>(
        &mut self,
        width: usize,
        then: impl FnOnce(&mut Self, usize) -> Result<T, String>,
    ) -> Result<T, String> {
        let len = self.len(width)?;
        then(self, len)
    }

    /// A map key: `Some(bytes)` for a string (whatever its encoding),
    /// `None` for any other value, which is walked over.
    fn key(&mut self) -> Option<Option<&'a [u8]>> {
        let width = match Marker::from_u8(*self.rest.first()?) {
            Marker::FixStr(n) => {
                self.take(1).ok()?;
                return Some(Some(self.take(n.into()).ok()?));
            }
            Marker::Str8 => 1,
            Marker::Str16 => 2,
            Marker::Str32 => 4,
            _ => return self.skip(1).map(|()| None),
        };
        self.take(1).ok()?;
        Some(Some(self.sized(width, Self::take).ok()?))
    }

    /// Walks over one value, checking what [`Reader::value`] checks
    /// (lengths, reserved bytes, depth) without building it.
    fn skip(&mut self, depth: usize) -> Option<()> {
        let [byte] = self.array::<1>().ok()?;
        // (bytes to take, or elements to walk over for containers)
        let marker = Marker::from_u8(byte);
        let (bytes, elements) = match marker {
            Marker::Null | Marker::False | Marker::True | Marker::FixPos(_) | Marker::FixNeg(_) => {
                (0, 0)
            }
            Marker::U8 | Marker::I8 => (1, 0),
            Marker::U16 | Marker::I16 => (2, 0),
            Marker::U32 | Marker::I32 | Marker::F32 => (4, 0),
            Marker::U64 | Marker::I64 | Marker::F64 => (8, 0),
            Marker::FixStr(n) => (usize::from(n), 0),
            Marker::Str8 | Marker::Bin8 => (self.len(1).ok()?, 0),
            Marker::Str16 | Marker::Bin16 => (self.len(2).ok()?, 0),
            Marker::Str32 | Marker::Bin32 => (self.len(4).ok()?, 0),
            Marker::FixArray(n) => (0, usize::from(n)),
            Marker::Array16 => (0, self.len(2).ok()?),
            Marker::Array32 => (0, self.len(4).ok()?),
            Marker::FixMap(n) => (0, usize::from(n) * 2),
            Marker::Map16 => (0, self.len(2).ok()?.checked_mul(2)?),
            Marker::Map32 => (0, self.len(4).ok()?.checked_mul(2)?),
            Marker::FixExt1 => (2, 0),
            Marker::FixExt2 => (3, 0),
            Marker::FixExt4 => (5, 0),
            Marker::FixExt8 => (9, 0),
            Marker::FixExt16 => (17, 0),
            Marker::Ext8 => (1 + self.len(1).ok()?, 0),
            Marker::Ext16 => (1 + self.len(2).ok()?, 0),
            Marker::Ext32 => (1 + self.len(4).ok()?, 0),
            Marker::Reserved => return None,
        };
        self.take(bytes).ok()?;
        if matches!(
            marker,
            Marker::FixArray(_)
                | Marker::Array16
                | Marker::Array32
                | Marker::FixMap(_)
                | Marker::Map16
                | Marker::Map32
        ) {
            let depth = Self::nested(depth).ok()?;
            for _ in 0..elements {
                self.skip(depth)?;
            }
        }
        Some(())
    }

    fn text(&mut self, len: usize) -> Result<Value<'a>, String> {
        let bytes = self.take(len)?;
        Ok(core::str::from_utf8(bytes).map_or(Value::Bin(bytes), Value::Str))
    }

    fn ext(&mut self, len: usize) -> Result<Value<'a>, String> {
        self.take(1 + len)?;
        Ok(Value::Ext)
    }

    fn nested(depth: usize) -> Result<usize, String> {
        if depth >= MAX_DEPTH {
            return Err(format!("containers nested deeper than {MAX_DEPTH}"));
        }
        Ok(depth + 1)
    }

    fn items(&mut self, len: usize, depth: usize) -> Result<Value<'a>, String> {
        let depth = Self::nested(depth)?;
        let mut items = Vec::with_capacity(len.min(MAX_PREALLOC));
        for _ in 0..len {
            items.push(self.value(depth)?);
        }
        Ok(Value::Array(items))
    }

    fn entries(&mut self, len: usize, depth: usize) -> Result<Value<'a>, String> {
        let depth = Self::nested(depth)?;
        let mut entries = Vec::with_capacity(len.min(MAX_PREALLOC));
        for _ in 0..len {
            let key = self.value(depth)?;
            entries.push((key, self.value(depth)?));
        }
        Ok(Value::Map(entries))
    }
}

/// A signed integer, as [`Value::UInt`] when it is not negative.
fn int(v: i64) -> Value<'static> {
    u64::try_from(v).map_or(Value::Int(v), Value::UInt)
}

/// Characters a key part must not contain: the key separator, Redis glob
/// syntax (`*`, `?`, `[`, `]` and the `\` escape), whitespace and controls.
/// A part free of them cannot widen a pattern built from it.
pub fn forbidden_in_part(c: char) -> bool {
    matches!(c, ':' | '*' | '?' | '[' | ']' | '\\') || c.is_whitespace() || c.is_control()
}

/// Check one key part; the error names the part and the first character
/// that is not allowed (see [`char_name`]), so every language's plugin words
/// it the same way.
pub fn check_part(what: &str, part: &str) -> Result<(), String> {
    if part.is_empty() {
        return Err(format!("{what} must not be empty"));
    }
    match part.chars().find(|&c| forbidden_in_part(c)) {
        Some(c) => Err(format!(
            "{what} contains {}; key parts must not contain ':', glob characters (* ? [ ] \\), whitespace or control characters",
            char_name(c)
        )),
        None => Ok(()),
    }
}

/// A character as error texts name it: a visible ASCII character in single
/// quotes (`'*'`), anything else by its code point (`U+2003`), which every
/// language can print without an escaping convention of its own.
pub fn char_name(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("'{c}'")
    } else {
        format!("U+{:04X}", u32::from(c))
    }
}

/// Parse a strict RFC 3339 timestamp, `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`,
/// into milliseconds since the Unix epoch (UTC). Only upper-case `T` and `Z`
/// are accepted; a leap second (`:60`) counts as the next second.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        let digits = b.get(from..to)?;
        digits.iter().try_fold(0i64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        // Milliseconds: the first three fraction digits, zero-padded.
        for k in 0..3 {
            let d = if start + k < i {
                i64::from(b[start + k] - b'0')
            } else {
                0
            };
            millis = millis * 10 + d;
        }
    }
    let offset_min = match b.get(i..)? {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (num(i + 1, i + 3)?, num(i + 4, i + 6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if *sign == b'-' { -m } else { m }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_min * 60;
    Some(secs * 1_000 + millis)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The descriptor every misbehaving fixture shares: `fixture_descriptor!(
/// "fixture-spin", "SpinCache", "what it does", ["Spin"])` in a crate that ran
/// `wit_bindgen::generate!` (the WIT types resolve at the call site). TTLs
/// 60 s / 1 h, LRU, 1000 items, and `pure-keys` false so the host calls the
/// plugin on every request.
#[macro_export]
macro_rules! fixture_descriptor {
    ($id:literal, $name:literal, $description:expr, [$($event:literal),*]) => {
        Descriptor {
            id: $id.into(),
            name: $name.into(),
            description: $description.into(),
            version: "1.0.0".into(),
            default_ttl_ms: 60_000,
            max_ttl_ms: 3_600_000,
            expiration: hoard::definition::types::Expiration::Absolute,
            eviction: hoard::definition::types::EvictionPolicy::Lru,
            max_items: 1_000,
            allow_null: false,
            compress: None,
            encrypt: false,
            pure_keys: false,
            invalidation_events: vec![$(String::from($event)),*],
            dependent_caches: Vec::new(),
            metadata: vec![("purpose".into(), "host fault-isolation tests".into())],
        }
    };
}

/// The key a well-behaved fixture makes: `{name}:{parts joined by ':'}`.
pub fn fixture_key(name: &str, parts: &[String]) -> String {
    format!("{name}:{}", parts.join(":"))
}

/// Whether a MessagePack value decodes to exactly the string `word`.
pub fn is_magic_value(value: &[u8], word: &str) -> bool {
    matches!(decode(value), Ok(Value::Str(s)) if s == word)
}

/// Loops forever in a way the optimizer cannot delete: the CPU bomb of the
/// spin fixtures, which the host must interrupt at the call deadline.
pub fn spin_forever() -> ! {
    let mut n = 0u64;
    loop {
        n = core::hint::black_box(n.wrapping_add(1));
    }
}

/// The `id` of an event payload map like `{"id": "1"}`, checked to be
/// usable as a key part (the cycle fixtures' payload).
pub fn payload_id(payload: &[u8]) -> Result<String, String> {
    let bad = |e: String| format!("{e}; expected a map like {{\"id\": \"1\"}}");
    let value = decode(payload).map_err(|e| bad(format!("payload is {e}")))?;
    let entries = value
        .as_map()
        .ok_or_else(|| bad(format!("payload is {}, not a map", value.kind())))?;
    match field(entries, "id") {
        Field::Present(Value::Str(s)) => check_part("id", s).map(|()| (*s).to_owned()).map_err(bad),
        Field::Present(v) => Err(bad(format!("id is {}, not a string", v.kind()))),
        Field::Missing => Err(bad("id is missing".into())),
        Field::Duplicate => Err(bad("id appears more than once".into())),
    }
}

/// The whole component of a cascade-cycle fixture (`plugins/fixtures/cycle-*`):
/// `cycle_fixture!("fixture-cycle-a", "CycleA", "A", "CycleB", ["Ping"]);` in
/// a crate that ran `wit_bindgen::generate!`. The cache lists `$dependent` as
/// its dependent cache; keys are `{prefix}:{parts joined by ':'}`; every event
/// with a payload `{"id": x}` invalidates `{prefix}:{x}` and cascades, so two
/// such caches naming each other form a cycle the host must break.
#[macro_export]
macro_rules! cycle_fixture {
    ($id:literal, $name:literal, $prefix:literal, $dependent:literal, [$($event:literal),*]) => {
        struct Component;

        impl Guest for Component {
            fn describe() -> Descriptor {
                Descriptor {
                    pure_keys: true,
                    dependent_caches: vec![$dependent.into()],
                    metadata: vec![("purpose".into(), "host cascade cycle-guard tests".into())],
                    ..$crate::fixture_descriptor!(
                        $id,
                        $name,
                        concat!(
                            "Depends on ", $dependent, ", which depends back on ", $name,
                            "; every event cascades."
                        ),
                        [$($event),*]
                    )
                }
            }

            fn generate_key(parts: Vec<String>) -> Result<String, KeyError> {
                Ok($crate::fixture_key($prefix, &parts))
            }

            fn validate(_value: Vec<u8>) -> Result<(), Vec<String>> {
                Ok(())
            }

            fn on_event(name: String, payload: Vec<u8>) -> Result<Invalidation, EventError> {
                let id = $crate::payload_id(&payload).map_err(EventError::BadPayload)?;
                Ok(Invalidation {
                    keys: vec![format!(concat!($prefix, ":{}"), id)],
                    patterns: Vec::new(),
                    dependent_caches: Vec::new(),
                    cascade: true,
                    reason: format!(
                        concat!("{}: ", $name, " entry {} is stale; cascading to ", $dependent),
                        name, id
                    ),
                })
            }
        }

        export!(Component);
    };
}

/// The whole component of a hot-reload fixture (`plugins/fixtures/reload-*`):
/// `reload_fixture!("1.1.0", "R");` in a crate that ran
/// `wit_bindgen::generate!`. Every version is the cache `ReloadCache`
/// (`fixture-reload`), described as `reload fixture v{version}`, with the
/// shared fixture TTLs, `pure-keys` true and no events. Keys are
/// `{prefix}:{id}` (one part, checked with [`check_part`]); `validate`
/// accepts every value except the string `"reject-me"`, which it refuses
/// with `rejected by {version}`, so a test can tell which version answered.
/// An optional third argument sets `max-items` (default 1000), for a minor
/// version whose table must be rebuilt.
#[macro_export]
macro_rules! reload_fixture {
    ($version:literal, $prefix:literal) => {
        $crate::reload_fixture!($version, $prefix, 1_000);
    };
    ($version:literal, $prefix:literal, $max_items:literal) => {
        struct Component;

        impl Guest for Component {
            fn describe() -> Descriptor {
                Descriptor {
                    description: concat!("reload fixture v", $version).into(),
                    version: $version.into(),
                    pure_keys: true,
                    max_items: $max_items,
                    metadata: vec![("purpose".into(), "host hot-reload tests".into())],
                    ..$crate::fixture_descriptor!("fixture-reload", "ReloadCache", "", [])
                }
            }

            fn generate_key(parts: Vec<String>) -> Result<String, KeyError> {
                match parts.as_slice() {
                    [id] => {
                        $crate::check_part("id", id).map_err(KeyError::InvalidPart)?;
                        Ok(format!(concat!($prefix, ":{}"), id))
                    }
                    _ => Err(KeyError::WrongArity(format!(
                        concat!(
                            "ReloadCache keys take one part, <id> (",
                            $prefix,
                            ":{{id}}); got {}"
                        ),
                        parts.len()
                    ))),
                }
            }

            fn validate(value: Vec<u8>) -> Result<(), Vec<String>> {
                if $crate::is_magic_value(&value, "reject-me") {
                    Err(vec![concat!("rejected by ", $version).into()])
                } else {
                    Ok(())
                }
            }

            fn on_event(name: String, _payload: Vec<u8>) -> Result<Invalidation, EventError> {
                Err(EventError::UnknownEvent(format!(
                    "ReloadCache handles no events, not {name:?}"
                )))
            }
        }

        export!(Component);
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `record` must return: the fields as `field` finds them in the
    /// decoded map, or `None` when the bytes are not one well-formed map.
    fn record_by_decode<'a, const N: usize>(
        bytes: &'a [u8],
        names: [&str; N],
    ) -> Option<[Slot<'a>; N]> {
        let value = decode(bytes).ok()?;
        let entries = value.as_map()?;
        Some(names.map(|name| Slot::from(field(entries, name))))
    }

    /// A random well-formed value, small and often nested.
    fn random_value(seed: &mut u64, depth: usize, out: &mut Vec<u8>) {
        let mut next = |n: u64| {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (*seed >> 33) % n
        };
        const KEYS: [&[u8]; 7] = [b"id", b"email", b"name", b"x", b"", b"\xff\xfe", b"version"];
        let pick = next(if depth > 3 { 8 } else { 11 });
        match pick {
            0 => out.push(0xc0),
            1 => out.push(0xc3),
            2 => out.push(next(128) as u8),
            3 => out.extend([0xcc, next(256) as u8]),
            4 | 5 => {
                let key = KEYS[next(KEYS.len() as u64) as usize];
                out.push(0xa0 | key.len() as u8);
                out.extend(key);
            }
            6 => {
                let key = KEYS[next(KEYS.len() as u64) as usize];
                out.extend([0xd9, key.len() as u8]);
                out.extend(key);
            }
            7 => out.extend([0xd4, 1, next(256) as u8]),
            8 => {
                let n = next(4);
                out.push(0x90 | n as u8);
                for _ in 0..n {
                    random_value(seed, depth + 1, out);
                }
            }
            _ => {
                let n = next(5);
                out.push(0x80 | n as u8);
                for _ in 0..n * 2 {
                    random_value(seed, depth + 1, out);
                }
            }
        }
    }

    #[test]
    fn record_agrees_with_decode() {
        let names = ["id", "email", "name", "version"];
        let mut seed = 42;
        let mut maps = 0;
        for round in 0..50_000 {
            let mut bytes = Vec::new();
            random_value(&mut seed, 0, &mut bytes);
            // Some inputs cut short or with a byte too many.
            match round % 7 {
                0 if !bytes.is_empty() => {
                    bytes.pop();
                }
                1 => bytes.push(0xc0),
                2 => bytes.push(0xc1),
                _ => {}
            }
            let expected = record_by_decode(&bytes, names);
            maps += usize::from(expected.is_some());
            assert_eq!(record(&bytes, names), expected, "input {bytes:02x?}");
        }
        assert!(maps > 5_000, "only {maps} inputs were maps");
        // Every byte pair after a map header, truncated or not.
        for n in 0..=255u8 {
            for m in 0..=255u8 {
                for bytes in [
                    &[0x81, n, m][..],
                    &[0x82, 0xa2, b'i', b'd', n, m, 0xa1, b'x', 0xc0],
                ] {
                    assert_eq!(
                        record(bytes, names),
                        record_by_decode(bytes, names),
                        "input {bytes:02x?}"
                    );
                }
            }
        }
        let deep = [vec![0x81, 0xa1, b'x'], vec![0x91; MAX_DEPTH], vec![0xc0]].concat();
        assert_eq!(record(&deep, names), None);
        assert_eq!(record_by_decode(&deep, names), None);
        assert_eq!(
            record(
                &[0x82, 0xa2, b'i', b'd', 0x01, 0xa2, b'i', b'd', 0x02],
                ["id"]
            ),
            Some([Slot::Duplicate])
        );
    }

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2026-01-01T00:00:00Z"),
            Some(1_767_225_600_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-01-01T01:00:00.5+01:00"),
            Some(1_767_225_600_500)
        );
        assert_eq!(
            parse_rfc3339_ms("2024-02-29T12:00:00.123456-00:30"),
            Some(1_709_209_800_123)
        );
        assert_eq!(parse_rfc3339_ms("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339_ms("1900-02-29T00:00:00Z"), None);
        assert_eq!(
            parse_rfc3339_ms("2000-02-29T00:00:00Z"),
            Some(951_782_400_000)
        );
        for bad in [
            "",
            "2026-01-01",
            "2026-01-01 00:00:00Z",
            "2026-01-01t00:00:00Z",
            "2026-01-01T00:00:00z",
            "2026-13-01T00:00:00Z",
            "2026-01-32T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+0100",
            "2026-01-01T00:00:00+24:00",
            "+026-01-01T00:00:00Z",
            "2026-01-01T00:00:00Zx",
            "2026-04-31T00:00:00Z",
            "２026-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn decode_anything() {
        assert_eq!(decode(&[0xc0]), Ok(Value::Nil));
        let trailing = |bytes: &[u8]| decode(bytes).err().unwrap_or_default();
        assert!(trailing(&[0xc0, 0xc0]).contains("(1 more byte(s) follow it)"));
        // Whatever follows counts, a truncated or an invalid value too.
        assert!(trailing(&[0xa1, b'x', 0xa5, b'a']).contains("(2 more byte(s)"));
        assert!(trailing(&[0xc0, 0xc1, 0xc1]).contains("(2 more byte(s)"));
        assert_eq!(
            decode(&[0x92, 0xa2, b'h', b'i', 0xc4, 1, 7]),
            Ok(Value::Array(vec![Value::Str("hi"), Value::Bin(&[7])]))
        );
        assert!(decode(&[]).is_err());
        assert!(decode(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err()); // array32 claiming 4G items
        assert!(decode(&[0xdb, 0xff, 0xff, 0xff, 0xff]).is_err()); // str32 claiming 4 GiB
        assert!(decode(&[0x91; 100_000]).is_err()); // too deep
        // As deep as the host allows: 64 containers, an extension inside.
        let mut deepest = vec![0x91; MAX_DEPTH];
        deepest.extend([0xd4, 1, 0]);
        assert!(decode(&deepest).is_ok());
        assert_eq!(decode(&[0xd4, 1, 2]), Ok(Value::Ext)); // fixext1
        assert_eq!(decode(&[0xd0, 0xff]), Ok(Value::Int(-1)));
        assert_eq!(
            decode(&[0x81, 0xa1, b'a', 0x01]),
            Ok(Value::Map(vec![(Value::Str("a"), Value::UInt(1))]))
        );
        for n in 0..=255u8 {
            for m in 0..=255u8 {
                let _ = decode(&[n, m, 0, 0, 0, 0]);
            }
        }
    }

    #[test]
    fn parts() {
        assert!(check_part("id", "u1").is_ok());
        for bad in ["", "a:b", "a*", "a?", "[a]", "a b", "a\n", "a\\", "\u{7f}"] {
            assert!(check_part("id", bad).is_err(), "{bad:?}");
        }
        assert_eq!(char_name(':'), "':'");
        assert_eq!(char_name(' '), "U+0020");
        assert_eq!(char_name('\u{7}'), "U+0007");
        assert_eq!(char_name('\u{2003}'), "U+2003");
        assert_eq!(char_name('\u{1F600}'), "U+1F600");
    }
}
