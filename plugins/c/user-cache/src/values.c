#include "values.h"

#include <string.h>

static bool read_bytes(cmp_ctx_t *ctx, void *data, size_t count) {
    mp_reader *r = ctx->buf;
    if (count > r->len - r->pos) {
        return false;
    }
    if (count == 1) {
        /* Most reads are one marker byte: no call to memcpy for those. */
        *(uint8_t *)data = r->data[r->pos];
    } else {
        memcpy(data, r->data + r->pos, count);
    }
    r->pos += count;
    return true;
}

static bool skip_bytes(cmp_ctx_t *ctx, size_t count) {
    mp_reader *r = ctx->buf;
    if (count > r->len - r->pos) {
        return false;
    }
    r->pos += count;
    return true;
}

/* Reads one header at the reader's position, and a string's bytes. */
static bool read_value(mp_reader *r, mp_value *out) {
    memset(out, 0, sizeof *out);
    if (!cmp_read_object(&r->ctx, &out->obj)) {
        return false;
    }
    out->body = r->pos;
    if (mp_is_str(out)) {
        out->len = out->obj.as.str_size;
        out->bytes = r->data + r->pos;
        return skip_bytes(&r->ctx, out->len);
    }
    return true;
}

bool mp_root(mp_reader *r, const uint8_t *data, size_t len, mp_value *out) {
    r->data = data;
    r->len = len;
    r->pos = 0;
    cmp_init(&r->ctx, r, read_bytes, skip_bytes, NULL);
    return read_value(r, out);
}

bool mp_fields(mp_reader *r, const mp_value *map, mp_wanted *wanted, size_t n) {
    r->pos = map->body;
    for (uint32_t i = 0; i < map->obj.as.map_size; i++) {
        mp_value key;
        if (!read_value(r, &key) || !mp_is_str(&key)) {
            return false;
        }
        mp_wanted *match = NULL;
        for (size_t j = 0; j < n && match == NULL; j++) {
            if (key.len == wanted[j].name_len && memcmp(key.bytes, wanted[j].name, key.len) == 0) {
                match = &wanted[j];
            }
        }
        size_t at = r->pos;
        if (match != NULL) {
            if (!read_value(r, &match->value)) {
                return false;
            }
            match->found = true;
            if (mp_is_str(&match->value)) {
                continue; /* read whole, bytes and all */
            }
            r->pos = at; /* a header only: skip the value whole below */
        }
        if (!cmp_skip_object_no_limit(&r->ctx)) {
            return false;
        }
    }
    return true;
}

bool mp_field(mp_reader *r, const mp_value *map, const char *name, mp_value *out) {
    mp_wanted wanted = {.name = name, .name_len = strlen(name)};
    if (!mp_fields(r, map, &wanted, 1) || !wanted.found) {
        return false;
    }
    *out = wanted.value;
    return true;
}

bool mp_is_map(const mp_value *v) {
    uint8_t t = v->obj.type;
    return t == CMP_TYPE_FIXMAP || t == CMP_TYPE_MAP16 || t == CMP_TYPE_MAP32;
}

bool mp_is_str(const mp_value *v) { return cmp_object_is_str(&v->obj); }

bool mp_is_nil(const mp_value *v) { return v->obj.type == CMP_TYPE_NIL; }

bool mp_is_non_negative_int(const mp_value *v) {
    uint64_t u;
    int64_t s;
    return cmp_object_as_ulong(&v->obj, &u) ||
           (cmp_object_as_sinteger(&v->obj, &s) && s >= 0);
}

const char *mp_kind(const mp_value *v) {
    switch (v->obj.type) {
    case CMP_TYPE_NIL: return "nil";
    case CMP_TYPE_BOOLEAN: return "a boolean";
    case CMP_TYPE_FLOAT: case CMP_TYPE_DOUBLE: return "a float";
    case CMP_TYPE_BIN8: case CMP_TYPE_BIN16: case CMP_TYPE_BIN32: return "binary data";
    case CMP_TYPE_FIXARRAY: case CMP_TYPE_ARRAY16: case CMP_TYPE_ARRAY32: return "an array";
    case CMP_TYPE_FIXMAP: case CMP_TYPE_MAP16: case CMP_TYPE_MAP32: return "a map";
    case CMP_TYPE_FIXSTR: case CMP_TYPE_STR8: case CMP_TYPE_STR16: case CMP_TYPE_STR32:
        return "a string";
    case CMP_TYPE_EXT8: case CMP_TYPE_EXT16: case CMP_TYPE_EXT32: case CMP_TYPE_FIXEXT1:
    case CMP_TYPE_FIXEXT2: case CMP_TYPE_FIXEXT4: case CMP_TYPE_FIXEXT8: case CMP_TYPE_FIXEXT16:
        return "an extension value";
    default: return "an integer";
    }
}
