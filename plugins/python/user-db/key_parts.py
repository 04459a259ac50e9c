"""The key-part rules shared by hoard plugins.

A key part must be non-empty and free of the key separator ``:``, Redis glob
syntax (``* ? [ ]`` and the ``\\`` escape), whitespace and control
characters, so that a pattern built from it (``User:{id}:*``) can never match
more than it should. Errors name a character as ``':'`` (visible ASCII) or
``U+2003`` (anything else), the same in every language.
"""

__all__ = ["KeyPartError", "char_name", "check_part", "space_or_control", "parse_version"]

#: Unicode ``White_Space``; not ``str.isspace``, which also takes U+001C..U+001F.
_WHITE_SPACE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_U64_MAX = 2**64 - 1


def space_or_control(char: str) -> bool:
    """Unicode ``White_Space``, or a control character (C0, DEL, C1)."""
    code = ord(char)
    return char in _WHITE_SPACE or code < 0x20 or 0x7F <= code <= 0x9F


def forbidden(char: str) -> bool:
    """The key separator, glob syntax, whitespace or a control character."""
    return char in ":*?[]\\" or space_or_control(char)


def char_name(char: str) -> str:
    """``':'`` for visible ASCII, else the code point as ``U+2003``."""
    return f"'{char}'" if "!" <= char <= "~" else f"U+{ord(char):04X}"


class KeyPartError(ValueError):
    """A key part is empty or contains a forbidden character; ``str(e)`` says which."""


def check_part(what: str, part: str) -> None:
    """Raise ``KeyPartError`` naming ``what`` unless ``part`` is a valid key part."""
    if not part:
        raise KeyPartError(f"{what} must not be empty")
    bad = next((c for c in part if forbidden(c)), None)
    if bad is not None:
        raise KeyPartError(
            f"{what} contains {char_name(bad)}; key parts must not contain ':', "
            "glob characters (* ? [ ] \\), whitespace or control characters"
        )


def parse_version(text: str) -> int | None:
    """A non-negative integer of ASCII digits that fits in a u64 (``"007"`` is 7), else None."""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= _U64_MAX else None
