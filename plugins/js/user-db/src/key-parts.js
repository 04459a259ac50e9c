// The rules every key part follows, shared with the Rust plugins: a part is
// non-empty and free of the key separator, Redis glob syntax, whitespace and
// control characters, so a pattern built from it cannot match more than meant.
// Errors name a character as ':' (visible ASCII) or U+2003 (anything else),
// the same in every language.

/** Unicode `White_Space` (not JavaScript's `\s`, which also takes U+FEFF). */
const WHITE_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/** Unicode general category `Cc` (what Rust's `char::is_control` tests). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** The key separator and Redis glob syntax (`*`, `?`, `[`, `]` and the `\` escape). */
const KEY_SYNTAX = new Set([':', '*', '?', '[', ']', '\\']);

export function isWhitespace(ch) {
  return WHITE_SPACE.test(ch);
}

export function isControl(ch) {
  return CONTROL.test(ch);
}

/** Whether a character may not appear in a key part. */
export function forbiddenInPart(ch) {
  return KEY_SYNTAX.has(ch) || isWhitespace(ch) || isControl(ch);
}

/**
 * Checks one key part.
 * @param {string} what the part's name in the message ("id")
 * @param {string} part
 * @returns {string | null} why the part is refused, or null when it is fine
 */
export function checkPart(what, part) {
  if (part === '') {
    return `${what} must not be empty`;
  }
  for (const ch of part) {
    if (forbiddenInPart(ch)) {
      return `${what} contains ${charName(ch)}; key parts must not contain ':', glob characters (* ? [ ] \\), whitespace or control characters`;
    }
  }
  return null;
}

/** `':'` for visible ASCII, else the code point as `U+2003`. */
export function charName(ch) {
  const code = ch.codePointAt(0);
  return code > 0x20 && code < 0x7f
    ? `'${ch}'`
    : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

const U64_MAX = 2n ** 64n - 1n;

/**
 * A version part: ASCII digits only, at most 2^64 - 1; leading zeros are
 * allowed and dropped (`"007"` is 7).
 * @returns {bigint | null}
 */
export function parseVersion(s) {
  if (!/^[0-9]+$/.test(s)) {
    return null;
  }
  const version = BigInt(s);
  return version <= U64_MAX ? version : null;
}
