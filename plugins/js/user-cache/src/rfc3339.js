// A strict RFC 3339 timestamp parser, the same as the Rust plugins'
// `parse_rfc3339_ms`: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, with
// upper-case `T` and `Z` only. A leap second (`:60`) counts as the next
// second; the fraction is truncated to milliseconds.

const PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/**
 * @param {string} s
 * @returns {number | null} milliseconds since the Unix epoch (UTC), or null
 *   when `s` is not such a timestamp
 */
export function parseRfc3339Ms(s) {
  // `\d` without the `u` flag is ASCII 0-9 only, as Rust's `is_ascii_digit`.
  const m = PATTERN.exec(s);
  if (m === null) {
    return null;
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (
    month < 1 || month > 12 ||
    day < 1 || day > daysInMonth(year, month) ||
    hour > 23 || minute > 59 || second > 60
  ) {
    return null;
  }
  const fraction = m[7] ?? '';
  const millis = Number(fraction.slice(0, 3).padEnd(3, '0'));
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const [sign, offsetHour, offsetMinute] = [m[9], Number(m[10]), Number(m[11])];
    if (offsetHour > 23 || offsetMinute > 59) {
      return null;
    }
    offsetMinutes = (sign === '-' ? -1 : 1) * (offsetHour * 60 + offsetMinute);
  }
  const days = daysFromCivil(year, month, day);
  const seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offsetMinutes * 60;
  return seconds * 1_000 + millis;
}

function isLeap(year) {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year, month) {
  if (month === 2) return isLeap(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(year, month, day) {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
