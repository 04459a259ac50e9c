#include "text.h"

#include <stdlib.h>
#include <string.h>

void *xmalloc(size_t n) {
    void *p = malloc(n == 0 ? 1 : n);
    if (p == NULL) {
        abort();
    }
    return p;
}

void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count == 0 ? 1 : count, size == 0 ? 1 : size);
    if (p == NULL) {
        abort();
    }
    return p;
}

/* Makes room for `extra` more bytes, doubling so appends stay amortised O(1). */
static void sb_reserve(strbuf *b, size_t extra) {
    if (extra <= b->cap - b->len) {
        return;
    }
    if (extra > SIZE_MAX - b->len) {
        abort();
    }
    size_t need = b->len + extra;
    size_t cap = b->cap < 32 ? 32 : b->cap;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    char *p = realloc(b->ptr, cap);
    if (p == NULL) {
        abort();
    }
    b->ptr = p;
    b->cap = cap;
}

void sb_putn(strbuf *b, const void *bytes, size_t n) {
    if (n == 0) {
        return;
    }
    sb_reserve(b, n);
    memcpy(b->ptr + b->len, bytes, n);
    b->len += n;
}

void sb_puts(strbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

void sb_putc(strbuf *b, char c) { sb_putn(b, &c, 1); }

void sb_put_u64(strbuf *b, uint64_t n) {
    char digits[20];
    size_t i = sizeof digits;
    do {
        digits[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n != 0);
    sb_putn(b, digits + i, sizeof digits - i);
}

void sb_free(strbuf *b) {
    free(b->ptr);
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void sb_put_char_name(strbuf *b, uint32_t c) {
    if (c > 0x20 && c < 0x7F) {
        char quoted[3] = {'\'', (char)c, '\''};
        sb_putn(b, quoted, 3);
        return;
    }
    sb_puts(b, "U+");
    int width = c > 0xFFFFF ? 6 : c > 0xFFFF ? 5 : 4;
    for (int shift = (width - 1) * 4; shift >= 0; shift -= 4) {
        sb_putc(b, "0123456789ABCDEF"[(c >> shift) & 0xF]);
    }
}

/* Length of the sequence starting with lead byte `c`, 0 if it cannot lead. */
static size_t utf8_seq_len(uint8_t c) {
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0;
}

/* Validates one sequence at s[i] (of at most `avail` bytes) and returns its
 * length, 0 if malformed. Second-byte ranges follow the Unicode table
 * (Rust's from_utf8 uses the same). */
static size_t utf8_check(const uint8_t *s, size_t avail) {
    size_t n = utf8_seq_len(s[0]);
    if (n == 0 || n > avail) {
        return 0;
    }
    if (n == 1) {
        return 1;
    }
    uint8_t lo = 0x80, hi = 0xBF;
    switch (s[0]) {
    case 0xE0: lo = 0xA0; break; /* no overlongs */
    case 0xED: hi = 0x9F; break; /* no surrogates */
    case 0xF0: lo = 0x90; break; /* no overlongs */
    case 0xF4: hi = 0x8F; break; /* nothing above U+10FFFF */
    default: break;
    }
    if (s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t k = 2; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80) {
            return 0;
        }
    }
    return n;
}

uint32_t utf8_next(const uint8_t *s, size_t len, size_t *i) {
    const uint8_t *p = s + *i;
    if (p[0] < 0x80) { /* ASCII, most of what keys and emails hold: always one valid byte */
        *i += 1;
        return p[0];
    }
    size_t n = utf8_check(p, len - *i);
    if (n == 0) {
        *i += 1;
        return 0xFFFD;
    }
    *i += n;
    switch (n) {
    case 1: return p[0];
    case 2: return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    case 3:
        return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    default:
        return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
               ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    }
}

bool is_white_space(uint32_t c) {
    /* Unicode White_Space: short and stable, so listed rather than tabled.
     * Printable ASCII, the usual case, is none of it. */
    if (c > 0x20 && c < 0x7F) {
        return false;
    }
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

bool is_control(uint32_t c) { return c <= 0x1F || (c >= 0x7F && c <= 0x9F); }

/* Characters that could widen a glob built from the part, split keys, or
 * hide in logs. */
static bool forbidden_in_part(uint32_t c) {
    switch (c) {
    case ':': case '*': case '?': case '[': case ']': case '\\':
        return true;
    default:
        return is_white_space(c) || is_control(c);
    }
}

bool check_part(strbuf *err, const char *what, const uint8_t *part, size_t len) {
    if (len == 0) {
        sb_puts(err, what);
        sb_puts(err, " must not be empty");
        return false;
    }
    size_t i = 0;
    while (i < len) {
        uint32_t c = utf8_next(part, len, &i);
        if (forbidden_in_part(c)) {
            sb_puts(err, what);
            sb_puts(err, " contains ");
            sb_put_char_name(err, c);
            sb_puts(err, "; key parts must not contain ':', glob characters (* ? [ ] \\), "
                         "whitespace or control characters");
            return false;
        }
    }
    return true;
}
