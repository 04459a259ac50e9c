// Rust's `{:?}` formatting of strings and chars, which the reference
// plugin's messages use (`id "a b" contains ' '`), reproduced exactly.

import { DEBUG_ESCAPED_RANGES } from './debug-escapes.js';

const BACKSLASH_ESCAPES = new Map([
  ['\0', '\\0'],
  ['\t', '\\t'],
  ['\r', '\\r'],
  ['\n', '\\n'],
  ['\\', '\\\\'],
]);

/** Whether Rust writes the code point as `\u{hex}` (binary search of the table). */
function escapedAsUnicode(codePoint) {
  let lo = 0;
  let hi = DEBUG_ESCAPED_RANGES.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (codePoint < DEBUG_ESCAPED_RANGES[2 * mid]) {
      hi = mid - 1;
    } else if (codePoint > DEBUG_ESCAPED_RANGES[2 * mid + 1]) {
      lo = mid + 1;
    } else {
      return true;
    }
  }
  return false;
}

/** One character (a whole code point) as Rust escapes it between `quote`s. */
function escapeChar(ch, quote) {
  if (ch === quote) return `\\${quote}`;
  const escape = BACKSLASH_ESCAPES.get(ch);
  if (escape) return escape;
  const codePoint = ch.codePointAt(0);
  return escapedAsUnicode(codePoint) ? `\\u{${codePoint.toString(16)}}` : ch;
}

/** `format!("{:?}", s)` for a Rust `&str`: `"a\"b"`. */
export function debugString(s) {
  let out = '"';
  for (const ch of s) {
    out += escapeChar(ch, '"');
  }
  return `${out}"`;
}

/** `format!("{:?}", c)` for a Rust `char`: `'\''`, `'"'`. */
export function debugChar(ch) {
  return `'${escapeChar(ch, "'")}'`;
}
