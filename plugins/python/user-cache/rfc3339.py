"""A strict RFC 3339 timestamp parser: ``YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)``.

Only upper-case ``T`` and ``Z`` are accepted; a leap second (``:60``) counts
as the next second; the fraction is truncated to milliseconds. The same rules
as ``parse_rfc3339_ms`` in the Rust plugins' shared helpers.
"""

__all__ = ["parse_rfc3339_ms"]


def parse_rfc3339_ms(text: str) -> int | None:
    """Milliseconds since the Unix epoch (UTC), or None if ``text`` is not a timestamp."""
    b = text.encode("utf-8")
    if (
        len(b) < 20
        or b[4:5] != b"-"
        or b[7:8] != b"-"
        or b[10:11] != b"T"
        or b[13:14] != b":"
        or b[16:17] != b":"
    ):
        return None

    def num(start: int, end: int) -> int | None:
        digits = b[start:end]
        if len(digits) != end - start or not all(0x30 <= d <= 0x39 for d in digits):
            return None
        return int(digits)

    fields = [num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)]
    if None in fields:
        return None
    year, month, day, hour, minute, second = fields
    if (
        not 1 <= month <= 12
        or not 1 <= day <= _days_in_month(year, month)
        or hour > 23
        or minute > 59
        or second > 60
    ):
        return None

    i = 19
    millis = 0
    if b[i] == ord("."):
        start = i = i + 1
        while i < len(b) and 0x30 <= b[i] <= 0x39:
            i += 1
        if i == start:
            return None
        # The first three fraction digits, zero-padded.
        millis = int(b[start:min(i, start + 3)].ljust(3, b"0"))

    zone = b[i:]
    if zone == b"Z":
        offset_min = 0
    elif len(zone) == 6 and zone[0:1] in (b"+", b"-") and zone[3:4] == b":":
        oh, om = num(i + 1, i + 3), num(i + 4, i + 6)
        if oh is None or om is None or oh > 23 or om > 59:
            return None
        offset_min = oh * 60 + om
        if zone[0:1] == b"-":
            offset_min = -offset_min
    else:
        return None

    days = _days_from_civil(year, month, day)
    seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_min * 60
    return seconds * 1_000 + millis


def _is_leap(year: int) -> bool:
    return (year % 4 == 0 and year % 100 != 0) or year % 400 == 0


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468
