/*
 * The little JSON UserDb needs for an HTTP origin: reading the string
 * fields of one object (`{"id": "1", "email": "…", "name": null, …}`) and
 * writing a string with JSON's escapes, the same ones serde_json and
 * JSON.stringify write.
 */
#ifndef USER_DB_JSON_H
#define USER_DB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "text.h"

/* A field of the object being read. */
typedef struct json_field {
    const char *name;
    bool present;
    bool is_string; /* else `kind` says what it is */
    const char *kind;
    strbuf text; /* the decoded string, when it is one */
} json_field;

/* Reads the one JSON object in `s` (whitespace around it allowed) and fills
 * each of `fields` found in it; one of them twice is an error, as it is for
 * serde_json. Other members are skipped whatever they hold, to 64 levels.
 * False, with the reason in `why`, when `s` is not one JSON object. The
 * caller frees every field's `text`, also after a failure. */
bool json_read_object(const uint8_t *s, size_t len, json_field *fields, size_t n_fields,
                      strbuf *why);

/* Appends `s` as a JSON string, quotes included. */
void json_put_string(strbuf *b, const uint8_t *s, size_t len);

#endif
