#include "msgpack.h"

#include <stdlib.h>
#include <string.h>

/* Error texts of rmp-serde, the reference's decoder, so that messages match
 * word for word: a missing marker, a short fixed-size field (length, number,
 * ext tag), and a short payload (str, bin, ext data). */
#define ERR_MARKER_EOF "IO error while reading marker: failed to fill whole buffer"
#define ERR_DATA_EOF "IO error while reading data: failed to fill whole buffer"
#define ERR_SLICE_EOF "IO error while reading data: unexpected end of file"
#define ERR_RESERVED "wrong msgpack marker Reserved"
#define ERR_DEPTH "depth limit exceeded"

/* One pass over the input. With `nodes == NULL` it only validates and
 * counts values; with an arena it fills the tree (the input is then known
 * to be valid, so no error can occur). */
typedef struct parser {
    const uint8_t *in;
    size_t len;
    size_t pos;
    const char *error; /* first error, static text */
    size_t values;     /* values seen (counting pass) */
    mp_value *nodes;   /* arena (building pass) */
    size_t used;       /* arena slots handed out */
} parser;

static bool fail(parser *p, const char *message) {
    p->error = message;
    return false;
}

/* Reads an n-byte big-endian unsigned number (n <= 8). */
static bool read_be(parser *p, size_t n, uint64_t *out) {
    if (n > p->len - p->pos) {
        p->pos = p->len;
        return fail(p, ERR_DATA_EOF);
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | p->in[p->pos + i];
    }
    p->pos += n;
    *out = v;
    return true;
}

/* Takes `n` payload bytes, checked against what remains. */
static bool read_slice(parser *p, uint64_t n, const uint8_t **out) {
    if (n > p->len - p->pos) {
        p->pos = p->len;
        return fail(p, ERR_SLICE_EOF);
    }
    *out = p->in + p->pos;
    p->pos += (size_t)n;
    return true;
}

/* Sign-extends the low `bits` bits of `v`. */
static int64_t sign_extend(uint64_t v, unsigned bits) {
    if (bits < 64 && (v & ((uint64_t)1 << (bits - 1)))) {
        v |= ~(uint64_t)0 << bits;
    }
    /* Two's complement conversion without implementation-defined casts. */
    if (v <= (uint64_t)INT64_MAX) {
        return (int64_t)v;
    }
    return -(int64_t)(~v) - 1;
}

static void set_int(mp_value *out, int64_t v) {
    if (out == NULL) {
        return;
    }
    if (v >= 0) {
        out->kind = MP_UINT;
        out->as.uint = (uint64_t)v;
    } else {
        out->kind = MP_INT;
        out->as.sint = v;
    }
}

static void set_kind(mp_value *out, mp_kind kind) {
    if (out != NULL) {
        out->kind = kind;
    }
}

static bool parse(parser *p, mp_value *out, unsigned depth_left);

/* An array or map of `n` elements (entries for a map: twice the values).
 * The depth check comes after the length, as in rmp-serde. */
static bool parse_container(parser *p, mp_value *out, mp_kind kind, uint64_t n,
                            unsigned depth_left) {
    if (depth_left - 1 == 0) {
        return fail(p, ERR_DEPTH);
    }
    uint64_t values = kind == MP_MAP ? 2 * n : n; /* n < 2^32: no overflow */
    mp_value *items = NULL;
    if (out != NULL) {
        /* Building: the counting pass proved these values exist. */
        items = p->nodes + p->used;
        p->used += (size_t)values;
        out->kind = kind;
        out->as.list.items = items;
        out->as.list.len = (size_t)n;
    }
    for (uint64_t i = 0; i < values; i++) {
        if (!parse(p, items != NULL ? &items[i] : NULL, depth_left - 1)) {
            return false;
        }
    }
    return true;
}

/* An extension value: tag byte then `n` data bytes, contents ignored. */
static bool parse_ext(parser *p, mp_value *out, uint64_t n, unsigned depth_left) {
    if (depth_left - 1 == 0) {
        return fail(p, ERR_DEPTH);
    }
    uint64_t tag;
    const uint8_t *data;
    if (!read_be(p, 1, &tag) || !read_slice(p, n, &data)) {
        return false;
    }
    set_kind(out, MP_EXT);
    return true;
}

/* A str or bin payload; a str that is not UTF-8 becomes binary data, as
 * rmp-serde hands it to the visitor as bytes. */
static bool parse_bytes(parser *p, mp_value *out, bool is_str, uint64_t n) {
    const uint8_t *data;
    if (!read_slice(p, n, &data)) {
        return false;
    }
    if (out != NULL) {
        out->kind = (is_str && utf8_valid(data, (size_t)n)) ? MP_STR : MP_BIN;
        out->as.bytes.ptr = data;
        out->as.bytes.len = (size_t)n;
    }
    return true;
}

/* Reads a length field of `size` bytes (1, 2 or 4). */
static bool read_len(parser *p, size_t size, uint64_t *n) { return read_be(p, size, n); }

static bool parse(parser *p, mp_value *out, unsigned depth_left) {
    p->values++;
    if (p->pos >= p->len) {
        return fail(p, ERR_MARKER_EOF);
    }
    uint8_t m = p->in[p->pos++];
    uint64_t v;

    if (m <= 0x7F) {
        set_int(out, m);
        return true;
    }
    if (m >= 0xE0) {
        set_int(out, sign_extend(m, 8));
        return true;
    }
    if (m >= 0x80 && m <= 0x8F) {
        return parse_container(p, out, MP_MAP, m & 0x0F, depth_left);
    }
    if (m >= 0x90 && m <= 0x9F) {
        return parse_container(p, out, MP_ARRAY, m & 0x0F, depth_left);
    }
    if (m >= 0xA0 && m <= 0xBF) {
        return parse_bytes(p, out, true, m & 0x1F);
    }
    switch (m) {
    case 0xC0:
        set_kind(out, MP_NIL);
        return true;
    case 0xC1:
        return fail(p, ERR_RESERVED);
    case 0xC2:
    case 0xC3:
        if (out != NULL) {
            out->kind = MP_BOOL;
            out->as.boolean = m == 0xC3;
        }
        return true;
    case 0xC4: case 0xC5: case 0xC6: /* bin 8/16/32 */
        return read_len(p, (size_t)1 << (m - 0xC4), &v) && parse_bytes(p, out, false, v);
    case 0xC7: case 0xC8: case 0xC9: /* ext 8/16/32 */
        return read_len(p, (size_t)1 << (m - 0xC7), &v) && parse_ext(p, out, v, depth_left);
    case 0xCA: /* float 32 */
        if (!read_be(p, 4, &v)) {
            return false;
        }
        if (out != NULL) {
            uint32_t bits = (uint32_t)v;
            float f;
            memcpy(&f, &bits, sizeof f);
            out->kind = MP_FLOAT;
            out->as.real = f;
        }
        return true;
    case 0xCB: /* float 64 */
        if (!read_be(p, 8, &v)) {
            return false;
        }
        if (out != NULL) {
            double d;
            memcpy(&d, &v, sizeof d);
            out->kind = MP_FLOAT;
            out->as.real = d;
        }
        return true;
    case 0xCC: case 0xCD: case 0xCE: case 0xCF: /* uint 8/16/32/64 */
        if (!read_be(p, (size_t)1 << (m - 0xCC), &v)) {
            return false;
        }
        if (out != NULL) {
            out->kind = MP_UINT;
            out->as.uint = v;
        }
        return true;
    case 0xD0: case 0xD1: case 0xD2: case 0xD3: { /* int 8/16/32/64 */
        size_t size = (size_t)1 << (m - 0xD0);
        if (!read_be(p, size, &v)) {
            return false;
        }
        set_int(out, sign_extend(v, (unsigned)(size * 8)));
        return true;
    }
    case 0xD4: case 0xD5: case 0xD6: case 0xD7: case 0xD8: /* fixext 1..16 */
        return parse_ext(p, out, (uint64_t)1 << (m - 0xD4), depth_left);
    case 0xD9: case 0xDA: case 0xDB: /* str 8/16/32 */
        return read_len(p, (size_t)1 << (m - 0xD9), &v) && parse_bytes(p, out, true, v);
    case 0xDC: case 0xDD: /* array 16/32 */
        return read_len(p, (size_t)2 << (m - 0xDC), &v) &&
               parse_container(p, out, MP_ARRAY, v, depth_left);
    case 0xDE: case 0xDF: /* map 16/32 */
        return read_len(p, (size_t)2 << (m - 0xDE), &v) &&
               parse_container(p, out, MP_MAP, v, depth_left);
    default:
        return fail(p, ERR_RESERVED); /* unreachable: every byte is covered */
    }
}

bool mp_decode(const uint8_t *input, size_t len, mp_doc *doc, strbuf *err) {
    memset(doc, 0, sizeof *doc);
    /* Pass 1: validate and count. Recursion depth is bounded by MP_MAX_DEPTH. */
    parser scan = {.in = input, .len = len};
    if (!parse(&scan, NULL, MP_MAX_DEPTH)) {
        sb_puts(err, "not valid MessagePack: ");
        sb_puts(err, scan.error);
        return false;
    }
    if (scan.pos != len) {
        sb_puts(err, "not a single MessagePack value (");
        sb_put_u64(err, (uint64_t)(len - scan.pos));
        sb_puts(err, " more byte(s) follow it)");
        return false;
    }
    /* Pass 2: build. Every value but the root lives in the arena; there are
     * fewer values than input bytes, so the size cannot overflow. */
    size_t children = scan.values - 1;
    doc->nodes = children > 0 ? xcalloc(children, sizeof(mp_value)) : NULL;
    parser build = {.in = input, .len = len, .nodes = doc->nodes};
    if (!parse(&build, &doc->root, MP_MAX_DEPTH) || build.used != children) {
        abort(); /* cannot happen: pass 1 accepted this input */
    }
    return true;
}

void mp_free(mp_doc *doc) {
    free(doc->nodes);
    doc->nodes = NULL;
}

const char *mp_kind_name(const mp_value *v) {
    switch (v->kind) {
    case MP_NIL: return "nil";
    case MP_BOOL: return "a boolean";
    case MP_UINT:
    case MP_INT: return "an integer";
    case MP_FLOAT: return "a float";
    case MP_STR: return "a string";
    case MP_BIN: return "binary data";
    case MP_ARRAY: return "an array";
    case MP_MAP: return "a map";
    case MP_EXT: return "an extension value";
    }
    return "a value";
}

bool mp_is_str(const mp_value *v, const char *s) {
    size_t n = strlen(s);
    return v->kind == MP_STR && v->as.bytes.len == n && memcmp(v->as.bytes.ptr, s, n) == 0;
}

mp_field_state mp_field(const mp_value *map, const char *name, const mp_value **out) {
    mp_field_state state = MP_FIELD_MISSING;
    *out = NULL;
    for (size_t i = 0; i < map->as.list.len; i++) {
        const mp_value *key = &map->as.list.items[2 * i];
        if (mp_is_str(key, name)) {
            if (state != MP_FIELD_MISSING) {
                *out = NULL;
                return MP_FIELD_DUPLICATE;
            }
            state = MP_FIELD_PRESENT;
            *out = &map->as.list.items[2 * i + 1];
        }
    }
    return state;
}
