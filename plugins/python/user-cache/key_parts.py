"""The key-part rules shared by hoard plugins.

A key part must be non-empty and free of the key separator ``:``, Redis glob
syntax (``* ? [ ]`` and the ``\\`` escape), whitespace and control
characters, so that a pattern built from it (``User:{id}:*``) can never match
more than it should.
"""

from rust_debug import debug_char, debug_str

__all__ = ["KeyPartError", "check_part", "is_whitespace", "is_control", "parse_version"]

#: Unicode ``White_Space`` (what Rust's ``char::is_whitespace`` tests).
#: Not ``str.isspace``, which also takes U+001C..U+001F.
_WHITE_SPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_GLOB_AND_SEPARATOR = frozenset(":*?[]\\")
_U64_MAX = 2**64 - 1


def is_whitespace(char: str) -> bool:
    """Whether ``char`` has the Unicode ``White_Space`` property."""
    return char in _WHITE_SPACE


def is_control(char: str) -> bool:
    """Whether ``char`` is in the Unicode category Cc (C0, DEL and C1)."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def forbidden_in_part(char: str) -> bool:
    """Characters a key part must not contain."""
    return char in _GLOB_AND_SEPARATOR or is_whitespace(char) or is_control(char)


class KeyPartError(ValueError):
    """A key part is empty or contains a forbidden character; ``str(e)`` says which."""


def check_part(what: str, part: str) -> None:
    """Raise ``KeyPartError`` naming ``what`` unless ``part`` is a valid key part."""
    if not part:
        raise KeyPartError(f"{what} must not be empty")
    for char in part:
        if forbidden_in_part(char):
            raise KeyPartError(
                f"{what} {debug_str(part)} contains {debug_char(char)}; key parts must not "
                "contain ':', glob characters (* ? [ ] \\), whitespace or control characters"
            )


def parse_version(text: str) -> int | None:
    """A non-negative integer of ASCII digits that fits in a u64 (``"007"`` is 7), else None."""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= _U64_MAX else None
