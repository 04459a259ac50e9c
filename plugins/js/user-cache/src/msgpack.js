// A small, strict MessagePack decoder that turns any input into either a
// value or an error message, never an exception. It accepts exactly what the
// Rust reference (rmp-serde 1.3 via `hoard_guest::decode`) accepts:
//
// - exactly one value; trailing bytes are an error;
// - at most 63 nested containers (arrays, maps and extension values each
//   count as one level, as in rmp-serde with a depth limit of 64);
// - maps keep every entry in order, keys of any type, duplicates included;
// - a `str` that is not valid UTF-8 decodes as binary data;
// - the reserved byte 0xc1 and truncated input are errors, with rmp-serde's
//   own messages after the `not valid MessagePack: ` prefix.
//
// Values are plain objects tagged by `type`:
//   { type: 'nil' }                 { type: 'bool', value: boolean }
//   { type: 'uint', value: bigint } non-negative integers, whatever their encoding
//   { type: 'int', value: bigint }  negative integers
//   { type: 'float', value: number }
//   { type: 'str', value: string }  { type: 'bin', value: Uint8Array }
//   { type: 'array', items: Value[] }
//   { type: 'map', entries: [Value, Value][] }
//   { type: 'ext' }                 contents are skipped, not inspected

/** Containers nested deeper than this are refused (rmp-serde's limit of 64). */
export const MAX_DEPTH = 63;

// `fatal`: invalid UTF-8 throws instead of becoming U+FFFD; `ignoreBOM`: a
// leading U+FEFF is part of the string, not a marker to strip.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The message of a decoding failure; `decode` reports it as an error. */
class Invalid {
  constructor(reason) {
    this.reason = reason;
  }
}

// rmp-serde's wording of each failure.
const MARKER_MISSING = 'IO error while reading marker: failed to fill whole buffer';
const NUMBER_CUT = 'IO error while reading data: failed to fill whole buffer';
const DATA_CUT = 'IO error while reading data: unexpected end of file';
const RESERVED = 'wrong msgpack marker Reserved';
const TOO_DEEP = 'depth limit exceeded';

/** Reads MessagePack from a byte array, front to back. */
class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  get remaining() {
    return this.bytes.length - this.pos;
  }

  /** Moves past `n` bytes and returns where they start; `reason` if they are not there. */
  advance(n, reason = NUMBER_CUT) {
    if (n > this.remaining) {
      throw new Invalid(reason);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8() {
    return this.bytes[this.advance(1)];
  }
  u16() {
    return this.view.getUint16(this.advance(2));
  }
  u32() {
    return this.view.getUint32(this.advance(4));
  }
  u64() {
    return this.view.getBigUint64(this.advance(8));
  }
  i8() {
    return this.view.getInt8(this.advance(1));
  }
  i16() {
    return this.view.getInt16(this.advance(2));
  }
  i32() {
    return this.view.getInt32(this.advance(4));
  }
  i64() {
    return this.view.getBigInt64(this.advance(8));
  }
  f32() {
    return this.view.getFloat32(this.advance(4));
  }
  f64() {
    return this.view.getFloat64(this.advance(8));
  }

  /** The next `n` bytes of string, binary or extension data. */
  slice(n) {
    const at = this.advance(n, DATA_CUT);
    return this.bytes.subarray(at, at + n);
  }

  /** One value; `depth` is the number of containers around it. */
  value(depth) {
    const marker = this.bytes[this.advance(1, MARKER_MISSING)];
    if (marker <= 0x7f) return integer(marker);
    if (marker >= 0xe0) return integer(marker - 0x100);
    if (marker <= 0x8f) return this.map(marker & 0x0f, depth);
    if (marker <= 0x9f) return this.array(marker & 0x0f, depth);
    if (marker <= 0xbf) return this.str(marker & 0x1f);
    switch (marker) {
      case 0xc0: return { type: 'nil' };
      case 0xc2: return { type: 'bool', value: false };
      case 0xc3: return { type: 'bool', value: true };
      case 0xc4: return this.bin(this.u8());
      case 0xc5: return this.bin(this.u16());
      case 0xc6: return this.bin(this.u32());
      case 0xc7: return this.ext(this.u8(), depth);
      case 0xc8: return this.ext(this.u16(), depth);
      case 0xc9: return this.ext(this.u32(), depth);
      case 0xca: return { type: 'float', value: this.f32() };
      case 0xcb: return { type: 'float', value: this.f64() };
      case 0xcc: return integer(this.u8());
      case 0xcd: return integer(this.u16());
      case 0xce: return integer(this.u32());
      case 0xcf: return integer(this.u64());
      case 0xd0: return integer(this.i8());
      case 0xd1: return integer(this.i16());
      case 0xd2: return integer(this.i32());
      case 0xd3: return integer(this.i64());
      case 0xd4: return this.ext(1, depth);
      case 0xd5: return this.ext(2, depth);
      case 0xd6: return this.ext(4, depth);
      case 0xd7: return this.ext(8, depth);
      case 0xd8: return this.ext(16, depth);
      case 0xd9: return this.str(this.u8());
      case 0xda: return this.str(this.u16());
      case 0xdb: return this.str(this.u32());
      case 0xdc: return this.array(this.u16(), depth);
      case 0xdd: return this.array(this.u32(), depth);
      case 0xde: return this.map(this.u16(), depth);
      case 0xdf: return this.map(this.u32(), depth);
      default: throw new Invalid(RESERVED); // 0xc1
    }
  }

  str(length) {
    const bytes = this.slice(length);
    try {
      return { type: 'str', value: UTF8.decode(bytes) };
    } catch {
      // rmp-serde hands a string that is not UTF-8 over as bytes.
      return { type: 'bin', value: bytes };
    }
  }

  bin(length) {
    return { type: 'bin', value: this.slice(length) };
  }

  /** An extension value: a type byte and `length` bytes of data. */
  ext(length, depth) {
    enter(depth);
    this.i8();
    this.slice(length);
    return { type: 'ext' };
  }

  array(length, depth) {
    enter(depth);
    const items = [];
    // A header may claim more items than the input holds; reading stops at
    // its end, so nothing is allocated up front.
    for (let i = 0; i < length; i++) {
      items.push(this.value(depth + 1));
    }
    return { type: 'array', items };
  }

  map(length, depth) {
    enter(depth);
    const entries = [];
    for (let i = 0; i < length; i++) {
      const key = this.value(depth + 1);
      entries.push([key, this.value(depth + 1)]);
    }
    return { type: 'map', entries };
  }
}

/** Refuses a container inside `depth` others when that is too deep. */
function enter(depth) {
  if (depth >= MAX_DEPTH) {
    throw new Invalid(TOO_DEEP);
  }
}

function integer(n) {
  const value = BigInt(n);
  return { type: value < 0n ? 'int' : 'uint', value };
}

/**
 * Decodes exactly one MessagePack value.
 * @param {Uint8Array} bytes
 * @returns {{ ok: true, value: object } | { ok: false, error: string }}
 */
export function decode(bytes) {
  const reader = new Reader(bytes);
  let value;
  try {
    value = reader.value(0);
  } catch (e) {
    if (e instanceof Invalid) {
      return { ok: false, error: `not valid MessagePack: ${e.reason}` };
    }
    throw e;
  }
  if (reader.remaining > 0) {
    return {
      ok: false,
      error: `not a single MessagePack value (${reader.remaining} more byte(s) follow it)`,
    };
  }
  return { ok: true, value };
}

/** A short name of a value's type, for error messages ("a string"). */
export function kind(value) {
  switch (value.type) {
    case 'nil': return 'nil';
    case 'bool': return 'a boolean';
    case 'uint':
    case 'int': return 'an integer';
    case 'float': return 'a float';
    case 'str': return 'a string';
    case 'bin': return 'binary data';
    case 'array': return 'an array';
    case 'map': return 'a map';
    default: return 'an extension value';
  }
}

/**
 * Looks up a string key among a map's entries.
 * @returns {{ status: 'missing' } | { status: 'duplicate' } | { status: 'present', value: object }}
 *   `duplicate` when the key appears more than once, which readers would
 *   resolve differently.
 */
export function field(entries, name) {
  let found = { status: 'missing' };
  for (const [key, value] of entries) {
    if (key.type === 'str' && key.value === name) {
      if (found.status === 'present') {
        return { status: 'duplicate' };
      }
      found = { status: 'present', value };
    }
  }
  return found;
}
