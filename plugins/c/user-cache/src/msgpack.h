/*
 * A strict MessagePack decoder that turns exactly one value into a tree,
 * accepting and refusing exactly what the Rust reference (rmp-serde with a
 * depth limit of 64, see plugins/shared) does, with the same error texts.
 *
 * Hostile input is the normal case: every length is checked against the
 * bytes that remain, nesting is bounded (so is the recursion), and the tree
 * is one allocation sized by a validating first pass (at most one node per
 * input byte). Strings and binaries point into the input, which must
 * outlive the tree.
 */
#ifndef USER_CACHE_MSGPACK_H
#define USER_CACHE_MSGPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text.h"

/* Deepest nesting accepted: containers (array, map, ext) may nest 63 deep,
 * as rmp-serde's counter set to 64 allows. */
#define MP_MAX_DEPTH 64

typedef enum mp_kind {
    MP_NIL,
    MP_BOOL,
    MP_UINT, /* any integer >= 0, whatever its encoding */
    MP_INT,  /* a negative integer */
    MP_FLOAT,
    MP_STR, /* valid UTF-8; an invalid `str` decodes as MP_BIN, as in rmp-serde */
    MP_BIN,
    MP_ARRAY,
    MP_MAP,
    MP_EXT, /* contents not inspected */
} mp_kind;

typedef struct mp_value mp_value;
struct mp_value {
    mp_kind kind;
    union {
        bool boolean;
        uint64_t uint;
        int64_t sint;
        double real;
        struct {
            const uint8_t *ptr;
            size_t len;
        } bytes; /* MP_STR, MP_BIN */
        struct {
            mp_value *items; /* MP_MAP: key, value, key, value... */
            size_t len;      /* elements (MP_ARRAY) or entries (MP_MAP) */
        } list;
    } as;
};

/* A decoded document; `root` is valid when mp_decode returned true. */
typedef struct mp_doc {
    mp_value root;
    mp_value *nodes; /* owns every container's items */
} mp_doc;

/* Decodes `input` into `doc`. On failure appends the reference's message
 * (`not valid MessagePack: ...` or `not a single MessagePack value (N more
 * byte(s) follow it)`) to `err` and returns false; `doc` then owns nothing.
 * Either way mp_free(doc) is safe. */
bool mp_decode(const uint8_t *input, size_t len, mp_doc *doc, strbuf *err);
void mp_free(mp_doc *doc);

/* The reference's name of a value's type for messages ("a string", ...). */
const char *mp_kind_name(const mp_value *v);

/* Looking up a string key in a map: missing, present once, or duplicated
 * (readers would disagree on which entry counts, so that is an error). */
typedef enum mp_field_state { MP_FIELD_MISSING, MP_FIELD_PRESENT, MP_FIELD_DUPLICATE } mp_field_state;

mp_field_state mp_field(const mp_value *map, const char *name, const mp_value **out);

/* Whether `v` is a string equal to the NUL-terminated `s`. */
bool mp_is_str(const mp_value *v, const char *s);

#endif
