/*
 * Text helpers: a growable string buffer, UTF-8 decoding, and the key-part
 * rule shared with the Rust reference (plugins/shared: check_part).
 *
 * Strings here are byte ranges (pointer + length), never NUL-terminated, so
 * an embedded NUL in a key part or an event name is handled like any byte.
 */
#ifndef USER_DB_TEXT_H
#define USER_DB_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. Zero-initialise it (`strbuf b = {0};`); allocation
 * failure aborts (a trap for the host), like the generated cabi_realloc. */
typedef struct strbuf {
    char *ptr;
    size_t len;
    size_t cap;
} strbuf;

void sb_putn(strbuf *b, const void *bytes, size_t n);
void sb_puts(strbuf *b, const char *s);
void sb_putc(strbuf *b, char c);
void sb_put_u64(strbuf *b, uint64_t n);
/* A character as messages name it: ':' for visible ASCII, else U+2003. */
void sb_put_char_name(strbuf *b, uint32_t c);
void sb_free(strbuf *b);

/* malloc/calloc that abort instead of returning NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);

/* Decodes the code point at s[*i] and advances *i. Meant for valid UTF-8
 * (WIT strings, and strings the host checked); on a malformed sequence it
 * yields U+FFFD and advances one byte, so it never reads past `len`.
 * Requires *i < len. */
uint32_t utf8_next(const uint8_t *s, size_t len, size_t *i);

/* Unicode White_Space. */
bool is_white_space(uint32_t c);
/* Unicode Cc: C0, DEL and C1. */
bool is_control(uint32_t c);

/* The key-part rule: non-empty, and none of `: * ? [ ] \`, whitespace or
 * control characters. Returns true when `part` is fine; otherwise appends
 * the message (naming `what` and the first bad character) to
 * `err` and returns false. */
bool check_part(strbuf *err, const char *what, const uint8_t *part, size_t len);

#endif
