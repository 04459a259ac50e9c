/*
 * MessagePack values read with cmp (the library `hoard plugin build` puts
 * beside the bindings): a value's header, and for a string the bytes that
 * follow it, pointing into the input (nothing is copied or allocated).
 *
 * The host has already checked every value and payload (one value, string
 * keys without repeats, UTF-8 strings, nesting at most 64 deep), so this only
 * finds fields; cmp still bounds every read by the input's length.
 */
#ifndef USER_CACHE_VALUES_H
#define USER_CACHE_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmp.h"

typedef struct mp_reader {
    cmp_ctx_t ctx;
    const uint8_t *data;
    size_t len;
    size_t pos;
} mp_reader;

typedef struct mp_value {
    cmp_object_t obj;
    size_t body;          /* where a container's elements start */
    const uint8_t *bytes; /* a string's bytes */
    size_t len;
} mp_value;

/* Reads the value at the start of `data`; false when cmp refuses it. */
bool mp_root(mp_reader *r, const uint8_t *data, size_t len, mp_value *out);
/* A field a caller looks for: its name and, once found, its value. */
typedef struct mp_wanted {
    const char *name;
    size_t name_len;
    bool found;
    mp_value value;
} mp_wanted;

/* One pass over `map`'s entries that fills in each of the `n` wanted
 * fields present (keys are unique: the host checked). False when the map
 * cannot be read. */
bool mp_fields(mp_reader *r, const mp_value *map, mp_wanted *wanted, size_t n);
/* The value of the string key `name` in `map`; false when it is absent. */
bool mp_field(mp_reader *r, const mp_value *map, const char *name, mp_value *out);

bool mp_is_map(const mp_value *v);
bool mp_is_str(const mp_value *v);
bool mp_is_nil(const mp_value *v);
/* Any integer encoding holding a value >= 0. */
bool mp_is_non_negative_int(const mp_value *v);
/* The type as error texts name it in every language ("a map", "nil", ...). */
const char *mp_kind(const mp_value *v);

#endif
