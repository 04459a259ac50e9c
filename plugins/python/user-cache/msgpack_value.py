"""A small, strict MessagePack decoder that never raises anything but ``DecodeError``.

Values decode to plain Python objects:

=====================  =====================================================
MessagePack            Python
=====================  =====================================================
nil                    ``None``
bool                   ``bool``
int (any encoding)     ``int`` (non-negative ints are the reference's ``UInt``)
float32 / float64      ``float``
str (valid UTF-8)      ``str``; a str that is not valid UTF-8 is ``bytes``,
                       as in the Rust reference (rmp-serde hands it over as
                       binary)
bin                    ``bytes``
array                  ``list``
map                    ``Map``: every entry, in order, duplicates included;
                       keys may be any value
ext / fixext           ``Ext``
=====================  =====================================================

``decode`` accepts exactly one value and nests at most ``MAX_DEPTH - 1``
arrays, maps or extension values, like the Rust reference's
``rmp_serde`` decoder with ``set_max_depth(MAX_DEPTH)``.
"""

from dataclasses import dataclass, field as dataclass_field
import struct

__all__ = [
    "MAX_DEPTH",
    "DecodeError",
    "Map",
    "Ext",
    "MISSING",
    "DUPLICATE",
    "decode",
    "field",
    "kind",
]

#: The decoder's depth budget, as in rmp-serde: 63 arrays, maps or
#: extension values nested in one another fit, a 64th is refused.
MAX_DEPTH = 64


class DecodeError(ValueError):
    """The bytes are not exactly one MessagePack value; ``str(e)`` says why."""


@dataclass
class Map:
    """A MessagePack map: its ``(key, value)`` entries in encoding order."""

    entries: list = dataclass_field(default_factory=list)


@dataclass(frozen=True)
class Ext:
    """A MessagePack extension value (its contents are not interpreted)."""

    type: int
    data: bytes


class _Sentinel:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: ``field`` result: the map has no entry with that key.
MISSING = _Sentinel("MISSING")
#: ``field`` result: the key appears more than once (readers would disagree).
DUPLICATE = _Sentinel("DUPLICATE")


def field(value: Map, name: str):
    """The value under the string key ``name``, or ``MISSING`` or ``DUPLICATE``."""
    found = MISSING
    for key, entry in value.entries:
        if isinstance(key, str) and key == name:
            if found is not MISSING:
                return DUPLICATE
            found = entry
    return found


def kind(value) -> str:
    """A short name of the value's type for error texts (``"a string"``)."""
    # bool before int: a Python bool is an int.
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Map):
        return "a map"
    return "an extension value"


def decode(data: bytes):
    """Decode exactly one MessagePack value; trailing bytes are an error."""
    reader = _Reader(bytes(data))
    value = reader.value(depth=0)
    left = len(reader.data) - reader.pos
    if left:
        raise DecodeError(f"not a single MessagePack value ({left} more byte(s) follow it)")
    return value


_INVALID = "not valid MessagePack: "

# Fixed-width numbers by marker: (struct format, size).
_NUMBERS = {
    0xCA: (">f", 4),
    0xCB: (">d", 8),
    0xCC: (">B", 1),
    0xCD: (">H", 2),
    0xCE: (">I", 4),
    0xCF: (">Q", 8),
    0xD0: (">b", 1),
    0xD1: (">h", 2),
    0xD2: (">i", 4),
    0xD3: (">q", 8),
}
# Size of the length field of str8/16/32, bin8/16/32, ext8/16/32,
# array16/32 and map16/32.
_LENGTH_SIZE = {
    0xD9: 1, 0xDA: 2, 0xDB: 4,  # str
    0xC4: 1, 0xC5: 2, 0xC6: 4,  # bin
    0xC7: 1, 0xC8: 2, 0xC9: 4,  # ext
    0xDC: 2, 0xDD: 4,  # array
    0xDE: 2, 0xDF: 4,  # map
}
_FIXEXT_SIZE = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise DecodeError(_INVALID + "unexpected end of input")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def unsigned(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def value(self, depth: int):
        marker = self.take(1)[0]
        if marker <= 0x7F:
            return marker
        if marker >= 0xE0:
            return marker - 0x100
        if 0x80 <= marker <= 0x8F:
            return self.map(marker & 0x0F, depth)
        if 0x90 <= marker <= 0x9F:
            return self.array(marker & 0x0F, depth)
        if 0xA0 <= marker <= 0xBF:
            return self.string(marker & 0x1F)
        if marker == 0xC0:
            return None
        if marker == 0xC2:
            return False
        if marker == 0xC3:
            return True
        if marker in _NUMBERS:
            fmt, size = _NUMBERS[marker]
            return struct.unpack(fmt, self.take(size))[0]
        if marker in _FIXEXT_SIZE:
            return self.ext(_FIXEXT_SIZE[marker], depth)
        if marker in _LENGTH_SIZE:
            length = self.unsigned(_LENGTH_SIZE[marker])
            if marker <= 0xC6:
                return self.take(length)
            if marker <= 0xC9:
                return self.ext(length, depth)
            if marker <= 0xDB:
                return self.string(length)
            if marker <= 0xDD:
                return self.array(length, depth)
            return self.map(length, depth)
        raise DecodeError(_INVALID + f"reserved marker 0x{marker:02x}")  # 0xc1

    def string(self, length: int):
        raw = self.take(length)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw

    def enter(self, depth: int) -> int:
        depth += 1
        if depth >= MAX_DEPTH:
            raise DecodeError(_INVALID + "depth limit exceeded")
        return depth

    def array(self, length: int, depth: int) -> list:
        depth = self.enter(depth)
        return [self.value(depth) for _ in range(length)]

    def map(self, length: int, depth: int) -> Map:
        depth = self.enter(depth)
        entries = []
        for _ in range(length):
            key = self.value(depth)
            entries.append((key, self.value(depth)))
        return Map(entries)

    def ext(self, length: int, depth: int) -> Ext:
        self.enter(depth)
        ext_type = struct.unpack(">b", self.take(1))[0]
        return Ext(ext_type, self.take(length))
