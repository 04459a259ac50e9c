#include "json.h"

#include <string.h>

#define MAX_DEPTH 64

typedef struct parser {
    const uint8_t *s;
    size_t len;
    size_t pos;
    strbuf *why;
} parser;

static bool fail(parser *p, const char *what) {
    if (p->why->len == 0) {
        sb_puts(p->why, what);
        sb_puts(p->why, " at byte ");
        sb_put_u64(p->why, (uint64_t)p->pos);
    }
    return false;
}

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        uint8_t c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return;
        }
        p->pos++;
    }
}

static bool literal(parser *p, const char *word) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) {
        return fail(p, "expected a value");
    }
    p->pos += n;
    return true;
}

static bool hex4(parser *p, uint32_t *out) {
    if (p->len - p->pos < 4) {
        return fail(p, "a \\u escape needs four hex digits");
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p->s[p->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= (uint32_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v |= (uint32_t)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            v |= (uint32_t)(c - 'A' + 10);
        } else {
            return fail(p, "a \\u escape needs four hex digits");
        }
    }
    *out = v;
    return true;
}

static void put_utf8(strbuf *b, uint32_t c) {
    char u[4];
    size_t n;
    if (c < 0x80) {
        u[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        u[0] = (char)(0xC0 | (c >> 6));
        u[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        u[0] = (char)(0xE0 | (c >> 12));
        u[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (c >> 18));
        u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        u[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    sb_putn(b, u, n);
}

/* A string at p->pos (the opening quote); its text goes to `out` unless NULL. */
static bool string(parser *p, strbuf *out) {
    p->pos++; /* the quote */
    while (p->pos < p->len) {
        uint8_t c = p->s[p->pos];
        if (c == '"') {
            p->pos++;
            return true;
        }
        if (c < 0x20) {
            return fail(p, "control character in a string");
        }
        if (c != '\\') {
            size_t start = p->pos;
            while (p->pos < p->len && p->s[p->pos] != '"' && p->s[p->pos] != '\\' &&
                   p->s[p->pos] >= 0x20) {
                p->pos++;
            }
            if (out != NULL) {
                sb_putn(out, p->s + start, p->pos - start);
            }
            continue;
        }
        p->pos++;
        if (p->pos >= p->len) {
            break;
        }
        uint8_t e = p->s[p->pos++];
        char plain = 0;
        switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': {
            uint32_t c1;
            if (!hex4(p, &c1)) {
                return false;
            }
            if (c1 >= 0xDC00 && c1 <= 0xDFFF) {
                return fail(p, "lone surrogate in a \\u escape");
            }
            if (c1 >= 0xD800 && c1 <= 0xDBFF) {
                uint32_t c2;
                if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                    return fail(p, "lone surrogate in a \\u escape");
                }
                p->pos += 2;
                if (!hex4(p, &c2)) {
                    return false;
                }
                if (c2 < 0xDC00 || c2 > 0xDFFF) {
                    return fail(p, "lone surrogate in a \\u escape");
                }
                c1 = 0x10000 + ((c1 - 0xD800) << 10) + (c2 - 0xDC00);
            }
            if (out != NULL) {
                put_utf8(out, c1);
            }
            continue;
        }
        default: return fail(p, "invalid escape");
        }
        if (out != NULL) {
            sb_putc(out, plain);
        }
    }
    return fail(p, "unterminated string");
}

static bool number(parser *p) {
    size_t start = p->pos;
    if (p->pos < p->len && p->s[p->pos] == '-') {
        p->pos++;
    }
    size_t digits = p->pos;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
        p->pos++;
    }
    if (p->pos == digits) {
        p->pos = start;
        return fail(p, "expected a value");
    }
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        size_t frac = p->pos;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            p->pos++;
        }
        if (p->pos == frac) {
            return fail(p, "expected a digit");
        }
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) {
            p->pos++;
        }
        size_t exp = p->pos;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
            p->pos++;
        }
        if (p->pos == exp) {
            return fail(p, "expected a digit");
        }
    }
    return true;
}

/* Any value at p->pos (after whitespace); its kind goes to `kind`, a
 * string's text to `text` unless NULL. */
static bool value(parser *p, int depth, const char **kind, strbuf *text);

static bool members(parser *p, int depth, json_field *fields, size_t n_fields) {
    /* p->pos is just past '{' */
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        return true;
    }
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '"') {
            return fail(p, "expected a member name");
        }
        strbuf name = {0};
        if (!string(p, &name)) {
            sb_free(&name);
            return false;
        }
        json_field *field = NULL;
        for (size_t i = 0; fields != NULL && i < n_fields; i++) {
            size_t n = strlen(fields[i].name);
            if (name.len == n && memcmp(name.ptr, fields[i].name, n) == 0) {
                field = &fields[i];
            }
        }
        sb_free(&name);
        if (field != NULL && field->present) {
            sb_puts(p->why, "duplicate field `");
            sb_puts(p->why, field->name);
            sb_puts(p->why, "`");
            return false;
        }
        skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') {
            return fail(p, "expected ':'");
        }
        p->pos++;
        const char *kind = NULL;
        if (!value(p, depth + 1, &kind, field != NULL ? &field->text : NULL)) {
            return false;
        }
        if (field != NULL) {
            field->present = true;
            field->kind = kind;
            field->is_string = strcmp(kind, "a string") == 0;
        }
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == '}') {
            p->pos++;
            return true;
        }
        return fail(p, "expected ',' or '}'");
    }
}

static bool elements(parser *p, int depth) {
    /* p->pos is just past '[' */
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return true;
    }
    for (;;) {
        const char *kind;
        if (!value(p, depth + 1, &kind, NULL)) {
            return false;
        }
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            return true;
        }
        return fail(p, "expected ',' or ']'");
    }
}

static bool value(parser *p, int depth, const char **kind, strbuf *text) {
    if (depth > MAX_DEPTH) {
        return fail(p, "nested too deep");
    }
    skip_ws(p);
    if (p->pos >= p->len) {
        return fail(p, "expected a value");
    }
    switch (p->s[p->pos]) {
    case '"': *kind = "a string"; return string(p, text);
    case '{': *kind = "a map"; p->pos++; return members(p, depth, NULL, 0);
    case '[': *kind = "an array"; p->pos++; return elements(p, depth);
    case 't': *kind = "a boolean"; return literal(p, "true");
    case 'f': *kind = "a boolean"; return literal(p, "false");
    case 'n': *kind = "nil"; return literal(p, "null");
    default: *kind = "a number"; return number(p);
    }
}

bool json_read_object(const uint8_t *s, size_t len, json_field *fields, size_t n_fields,
                      strbuf *why) {
    parser p = {s, len, 0, why};
    skip_ws(&p);
    if (p.pos >= p.len || p.s[p.pos] != '{') {
        return fail(&p, "expected an object");
    }
    p.pos++;
    if (!members(&p, 1, fields, n_fields)) {
        return false;
    }
    skip_ws(&p);
    if (p.pos != p.len) {
        return fail(&p, "trailing characters");
    }
    return true;
}

void json_put_string(strbuf *b, const uint8_t *s, size_t len) {
    static const char HEX[] = "0123456789abcdef";
    sb_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        switch (c) {
        case '"': sb_puts(b, "\\\""); break;
        case '\\': sb_puts(b, "\\\\"); break;
        case '\b': sb_puts(b, "\\b"); break;
        case '\f': sb_puts(b, "\\f"); break;
        case '\n': sb_puts(b, "\\n"); break;
        case '\r': sb_puts(b, "\\r"); break;
        case '\t': sb_puts(b, "\\t"); break;
        default:
            if (c < 0x20) {
                char esc[6] = {'\\', 'u', '0', '0', HEX[c >> 4], HEX[c & 0xF]};
                sb_putn(b, esc, sizeof esc);
            } else {
                sb_putc(b, (char)c);
            }
        }
    }
    sb_putc(b, '"');
}
