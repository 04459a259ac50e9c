/*
 * UserDb in C: the same rules and origin mapping as the Rust example
 * (plugins/examples/user-db), built with `hoard plugin build`, which picks
 * hoard:definition@0.2.0's `origin-plugin` world because hoard-plugin.toml
 * says `world = "origin-plugin"`; the bindings are then `origin_plugin.h`.
 *
 * The plugin only maps: key parts to an origin request, the origin's
 * response to a value, a value to a write. The host runs the request against
 * the origin its operator configured, and refuses anything not allowed (a
 * statement that was not declared, a path outside the base).
 *
 * The statements it expects (see README, "Origins"):
 * - `user_by_id`: `SELECT id::text AS id, email, name FROM users WHERE id = $1`
 * - `upsert_user`: an `INSERT … ON CONFLICT (id) DO UPDATE … WHERE users.version < $4`
 * Over HTTP: `GET users/{id}` (200 with a JSON user, 404 when there is
 * none) and `PUT users/{id}` with the JSON user.
 *
 * Memory, as the generated origin_plugin.h has it: every argument of an
 * export is owned by the export, which frees it (the `*_free` helpers);
 * everything returned must be heap memory, freed by the generated
 * post-return functions after the host has copied it. Zero-length strings
 * and lists are returned as NULL.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "origin_plugin.h"
#include "text.h"
#include "values.h"

#define MINUTE_MS UINT64_C(60000)

typedef origin_plugin_string_t string_t;
typedef exports_hoard_definition_origin_sql_value_t sql_value_t;

/* ---- returning values to the host ---------------------------------------- */

/* Hands the buffer's bytes to `out` (ownership moves; `b` is left empty). */
static void take_string(strbuf *b, string_t *out) {
    if (b->len == 0) {
        sb_free(b);
        out->ptr = NULL;
        out->len = 0;
        return;
    }
    out->ptr = (uint8_t *)b->ptr;
    out->len = b->len;
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

/* The same for a list of bytes. */
static void take_bytes(strbuf *b, origin_plugin_list_u8_t *out) {
    string_t s;
    take_string(b, &s);
    out->ptr = s.ptr;
    out->len = s.len;
}

/* A heap copy of `len` bytes (NULL for none). */
static void copy_string(string_t *out, const void *s, size_t len) {
    strbuf b = {0};
    sb_putn(&b, s, len);
    take_string(&b, out);
}

static void put_string(string_t *out, const char *s) { copy_string(out, s, strlen(s)); }

/* A one-string list holding the buffer's text. */
static void take_single(strbuf *b, origin_plugin_list_string_t *out) {
    out->ptr = xmalloc(sizeof(string_t));
    out->len = 1;
    take_string(b, &out->ptr[0]);
}

static bool equals(const uint8_t *s, size_t len, const char *word) {
    size_t n = strlen(word);
    return len == n && memcmp(s, word, n) == 0;
}

/* ---- the user ---------------------------------------------------------------- */

/* A user record: `{id, email, name?}`; other fields are ignored. */
typedef struct user {
    strbuf id;
    strbuf email;
    strbuf name;
    bool has_name;
} user;

static void user_free(user *u) {
    sb_free(&u->id);
    sb_free(&u->email);
    sb_free(&u->name);
}

/* The user in a MessagePack value; false with the reason in `why`. */
static bool user_of_value(const uint8_t *bytes, size_t len, user *u, strbuf *why) {
    static const char *const REQUIRED[] = {"id", "email"};
    mp_reader r;
    mp_value root, v;
    memset(u, 0, sizeof *u);
    if (!mp_root(&r, bytes, len, &root)) {
        sb_puts(why, "not valid MessagePack");
        return false;
    }
    if (!mp_is_map(&root)) {
        sb_puts(why, "expected a user map, found ");
        sb_puts(why, mp_kind(&root));
        return false;
    }
    strbuf *into[] = {&u->id, &u->email};
    for (size_t i = 0; i < 2; i++) {
        if (!mp_field(&r, &root, REQUIRED[i], &v)) {
            sb_puts(why, "missing field `");
            sb_puts(why, REQUIRED[i]);
            sb_puts(why, "`");
            return false;
        }
        if (!mp_is_str(&v)) {
            sb_puts(why, "`");
            sb_puts(why, REQUIRED[i]);
            sb_puts(why, "` is ");
            sb_puts(why, mp_kind(&v));
            sb_puts(why, ", not a string");
            return false;
        }
        sb_putn(into[i], v.bytes, v.len);
    }
    if (mp_field(&r, &root, "name", &v) && !mp_is_nil(&v)) {
        if (!mp_is_str(&v)) {
            sb_puts(why, "`name` is ");
            sb_puts(why, mp_kind(&v));
            sb_puts(why, ", not a string");
            return false;
        }
        sb_putn(&u->name, v.bytes, v.len);
        u->has_name = true;
    }
    return true;
}

/* The user in an HTTP origin's JSON body; false with the reason in `why`. */
static bool user_of_json(const uint8_t *body, size_t len, user *u, strbuf *why) {
    json_field fields[3] = {{.name = "id"}, {.name = "email"}, {.name = "name"}};
    strbuf reason = {0};
    bool ok = json_read_object(body, len, fields, 3, &reason);
    memset(u, 0, sizeof *u);
    for (size_t i = 0; ok && i < 2; i++) {
        if (!fields[i].present) {
            sb_puts(&reason, "missing field `");
            sb_puts(&reason, fields[i].name);
            sb_puts(&reason, "`");
            ok = false;
        } else if (!fields[i].is_string) {
            sb_puts(&reason, "`");
            sb_puts(&reason, fields[i].name);
            sb_puts(&reason, "` is ");
            sb_puts(&reason, fields[i].kind);
            sb_puts(&reason, ", not a string");
            ok = false;
        }
    }
    if (ok && fields[2].present && !fields[2].is_string && strcmp(fields[2].kind, "nil") != 0) {
        sb_puts(&reason, "`name` is ");
        sb_puts(&reason, fields[2].kind);
        sb_puts(&reason, ", not a string");
        ok = false;
    }
    if (ok) {
        u->id = fields[0].text;
        u->email = fields[1].text;
        u->has_name = fields[2].present && fields[2].is_string;
        u->name = fields[2].text;
    } else {
        sb_puts(why, "the API's user is not valid JSON: ");
        sb_putn(why, reason.ptr, reason.len);
        for (size_t i = 0; i < 3; i++) {
            sb_free(&fields[i].text);
        }
    }
    sb_free(&reason);
    return ok;
}

static size_t write_to_strbuf(cmp_ctx_t *ctx, const void *data, size_t count) {
    sb_putn(ctx->buf, data, count);
    return count;
}

/* The user as MessagePack: `{id, email}` plus `name` when there is one. */
static void encode_user(const user *u, strbuf *out) {
    cmp_ctx_t ctx;
    cmp_init(&ctx, out, NULL, NULL, write_to_strbuf);
    cmp_write_map(&ctx, u->has_name ? 3 : 2);
    cmp_write_str(&ctx, "id", 2);
    cmp_write_str(&ctx, u->id.ptr, (uint32_t)u->id.len);
    cmp_write_str(&ctx, "email", 5);
    cmp_write_str(&ctx, u->email.ptr, (uint32_t)u->email.len);
    if (u->has_name) {
        cmp_write_str(&ctx, "name", 4);
        cmp_write_str(&ctx, u->name.ptr, (uint32_t)u->name.len);
    }
}

/* The user as JSON, in the same order and form as serde_json writes it. */
static void json_user(const user *u, strbuf *out) {
    sb_puts(out, "{\"id\":");
    json_put_string(out, (const uint8_t *)u->id.ptr, u->id.len);
    sb_puts(out, ",\"email\":");
    json_put_string(out, (const uint8_t *)u->email.ptr, u->email.len);
    if (u->has_name) {
        sb_puts(out, ",\"name\":");
        json_put_string(out, (const uint8_t *)u->name.ptr, u->name.len);
    }
    sb_putc(out, '}');
}

/* The id of `["42"]`; false with the reason in `why`. */
static bool user_id(const origin_plugin_list_string_t *parts, const string_t **id, strbuf *why) {
    if (parts->len != 1) {
        sb_puts(why, "UserDb keys take [id], got ");
        sb_put_u64(why, (uint64_t)parts->len);
        sb_puts(why, " parts");
        return false;
    }
    *id = &parts->ptr[0];
    return check_part(why, "id", (*id)->ptr, (*id)->len);
}

/* ---- the rules --------------------------------------------------------------- */

void exports_origin_plugin_describe(origin_plugin_descriptor_t *ret) {
    static const char *const EVENTS[] = {"UserUpdated", "UserDeleted"};
    const size_t n_events = sizeof EVENTS / sizeof EVENTS[0];

    memset(ret, 0, sizeof *ret);
    put_string(&ret->id, "user-db");
    put_string(&ret->name, "UserDb");
    put_string(&ret->description,
               "User records read through from the users table (or API), written through to "
               "it.");
    put_string(&ret->version, "1.0.0");
    ret->default_ttl_ms = 5 * MINUTE_MS;
    ret->max_ttl_ms = 60 * MINUTE_MS;
    ret->expiration = HOARD_DEFINITION_TYPES_EXPIRATION_ABSOLUTE;
    ret->eviction = HOARD_DEFINITION_TYPES_EVICTION_POLICY_LRU;
    ret->max_items = 100000;
    /* "No such user" is cached too (negative caching). */
    ret->allow_null = true;
    ret->compress.is_some = false;
    ret->encrypt = false;
    ret->pure_keys = true;
    ret->invalidation_events.ptr = xmalloc(n_events * sizeof(string_t));
    ret->invalidation_events.len = n_events;
    for (size_t i = 0; i < n_events; i++) {
        put_string(&ret->invalidation_events.ptr[i], EVENTS[i]);
    }
    ret->metadata.ptr = xmalloc(sizeof(origin_plugin_tuple2_string_string_t));
    ret->metadata.len = 1;
    put_string(&ret->metadata.ptr[0].f0, "owner");
    put_string(&ret->metadata.ptr[0].f1, "identity-team");
}

bool exports_origin_plugin_generate_key(origin_plugin_list_string_t *parts, string_t *ret,
                                        origin_plugin_key_error_t *err) {
    const string_t *id;
    strbuf out = {0};
    strbuf why = {0};
    bool ok = user_id(parts, &id, &why);
    if (ok) {
        sb_puts(&out, "UserDb:");
        sb_putn(&out, id->ptr, id->len);
        take_string(&out, ret);
    } else {
        err->tag = HOARD_DEFINITION_TYPES_KEY_ERROR_INVALID_PART;
        take_string(&why, &err->val.invalid_part);
    }
    sb_free(&out);
    sb_free(&why);
    origin_plugin_list_string_free(parts);
    return ok;
}

bool exports_origin_plugin_validate(origin_plugin_list_u8_t *value,
                                    origin_plugin_list_string_t *err) {
    user u;
    strbuf why = {0};
    bool ok = user_of_value(value->ptr, value->len, &u, &why);
    origin_plugin_list_u8_free(value);
    if (!ok) {
        strbuf line = {0};
        sb_puts(&line, "The value is not a user ({id, email, name?}): ");
        sb_putn(&line, why.ptr, why.len);
        sb_puts(&line, ".");
        take_single(&line, err);
        sb_free(&why);
        user_free(&u);
        return false;
    }
    sb_free(&why);

    string_t errors[2];
    size_t n = 0;
    if (u.id.len == 0) {
        put_string(&errors[n++], "`id` must not be empty.");
    }
    size_t ats = 0;
    for (size_t i = 0; i < u.email.len; i++) {
        ats += u.email.ptr[i] == '@';
    }
    if (ats != 1) {
        put_string(&errors[n++], "`email` must have exactly one '@'.");
    }
    user_free(&u);
    if (n == 0) {
        return true;
    }
    err->ptr = xmalloc(n * sizeof(string_t));
    err->len = n;
    memcpy(err->ptr, errors, n * sizeof(string_t));
    return false;
}

bool exports_origin_plugin_on_event(string_t *name, origin_plugin_list_u8_t *payload,
                                    origin_plugin_invalidation_t *ret,
                                    origin_plugin_event_error_t *err) {
    mp_reader r;
    mp_value root, id;
    strbuf why = {0};
    strbuf msg = {0};
    bool ok = false;

    /* The payload `{"id": "1"}` first, then the event's name, as the Rust example. */
    if (!mp_root(&r, payload->ptr, payload->len, &root)) {
        sb_puts(&why, "payload is not valid MessagePack");
    } else if (!mp_is_map(&root)) {
        sb_puts(&why, "payload is ");
        sb_puts(&why, mp_kind(&root));
        sb_puts(&why, ", not a map");
    } else if (!mp_field(&r, &root, "id", &id)) {
        sb_puts(&why, "id is missing");
    } else if (!mp_is_str(&id)) {
        sb_puts(&why, "id is ");
        sb_puts(&why, mp_kind(&id));
        sb_puts(&why, ", not a string");
    } else if (check_part(&why, "id", id.bytes, id.len)) {
        ok = true;
    }

    if (!ok) {
        err->tag = HOARD_DEFINITION_TYPES_EVENT_ERROR_BAD_PAYLOAD;
        sb_putn(&msg, why.ptr, why.len);
        sb_puts(&msg, "; expected a map like {\"id\": \"1\"}");
        take_string(&msg, &err->val.bad_payload);
    } else if (!equals(name->ptr, name->len, "UserUpdated") &&
               !equals(name->ptr, name->len, "UserDeleted")) {
        ok = false;
        err->tag = HOARD_DEFINITION_TYPES_EVENT_ERROR_UNKNOWN_EVENT;
        sb_puts(&msg, "UserDb does not handle ");
        sb_putn(&msg, name->ptr, name->len);
        take_string(&msg, &err->val.unknown_event);
    } else {
        strbuf key = {0};
        sb_puts(&key, "UserDb:");
        sb_putn(&key, id.bytes, id.len);
        take_single(&key, &ret->keys);
        ret->patterns.ptr = NULL;
        ret->patterns.len = 0;
        ret->dependent_caches.ptr = NULL;
        ret->dependent_caches.len = 0;
        ret->cascade = false;
        sb_putn(&msg, name->ptr, name->len);
        sb_puts(&msg, ": user ");
        sb_putn(&msg, id.bytes, id.len);
        take_string(&msg, &ret->reason);
    }
    /* Everything above copied what it needed from the payload. */
    sb_free(&why);
    sb_free(&msg);
    origin_plugin_string_free(name);
    origin_plugin_list_u8_free(payload);
    return ok;
}

/* ---- the origin mapping ------------------------------------------------------ */

/* An HTTP call with one header; `body` is taken (may be empty). */
static void http_call(exports_hoard_definition_origin_request_t *ret, uint8_t method,
                      const string_t *id, const char *header, const char *header_value,
                      strbuf *body) {
    strbuf path = {0};
    sb_puts(&path, "users/");
    sb_putn(&path, id->ptr, id->len);
    ret->tag = EXPORTS_HOARD_DEFINITION_ORIGIN_REQUEST_HTTP;
    exports_hoard_definition_origin_http_call_t *http = &ret->val.http;
    http->method = method;
    take_string(&path, &http->path);
    http->headers.ptr = xmalloc(sizeof(origin_plugin_tuple2_string_string_t));
    http->headers.len = 1;
    put_string(&http->headers.ptr[0].f0, header);
    put_string(&http->headers.ptr[0].f1, header_value);
    take_bytes(body, &http->body);
}

static void text_value(sql_value_t *v, const void *s, size_t len) {
    v->tag = EXPORTS_HOARD_DEFINITION_ORIGIN_SQL_VALUE_TEXT;
    copy_string(&v->val.text, s, len);
}

bool exports_hoard_definition_origin_load_request(
    exports_hoard_definition_origin_origin_kind_t kind, origin_plugin_list_string_t *parts,
    string_t *key, exports_hoard_definition_origin_request_t *ret, string_t *err) {
    const string_t *id;
    strbuf why = {0};
    bool ok = user_id(parts, &id, &why);
    if (!ok) {
        take_string(&why, err);
    } else if (kind == EXPORTS_HOARD_DEFINITION_ORIGIN_ORIGIN_KIND_SQL) {
        ret->tag = EXPORTS_HOARD_DEFINITION_ORIGIN_REQUEST_SQL;
        put_string(&ret->val.sql.statement, "user_by_id");
        ret->val.sql.params.ptr = xmalloc(sizeof(sql_value_t));
        ret->val.sql.params.len = 1;
        text_value(&ret->val.sql.params.ptr[0], id->ptr, id->len);
    } else {
        strbuf none = {0};
        http_call(ret, EXPORTS_HOARD_DEFINITION_ORIGIN_HTTP_METHOD_GET, id, "accept",
                  "application/json", &none);
    }
    sb_free(&why);
    origin_plugin_list_string_free(parts);
    origin_plugin_string_free(key);
    return ok;
}

/* The text of column `name` in `row`: false when it is neither text, an
 * integer nor NULL (or absent), which leave `out` empty and `*present` false. */
static bool column_text(const exports_hoard_definition_origin_sql_rows_t *rows,
                        const exports_hoard_definition_origin_list_sql_value_t *row,
                        const char *name, strbuf *out, bool *present, strbuf *why) {
    *present = false;
    for (size_t i = 0; i < rows->columns.len; i++) {
        const string_t *column = &rows->columns.ptr[i];
        if (!equals(column->ptr, column->len, name)) {
            continue;
        }
        if (i >= row->len) {
            return true;
        }
        const sql_value_t *v = &row->ptr[i];
        switch (v->tag) {
        case EXPORTS_HOARD_DEFINITION_ORIGIN_SQL_VALUE_TEXT:
            sb_putn(out, v->val.text.ptr, v->val.text.len);
            *present = true;
            return true;
        case EXPORTS_HOARD_DEFINITION_ORIGIN_SQL_VALUE_INTEGER:
            if (v->val.integer < 0) {
                sb_putc(out, '-');
                sb_put_u64(out, (uint64_t)0 - (uint64_t)v->val.integer);
            } else {
                sb_put_u64(out, (uint64_t)v->val.integer);
            }
            *present = true;
            return true;
        case EXPORTS_HOARD_DEFINITION_ORIGIN_SQL_VALUE_NULL:
            return true;
        default:
            sb_puts(why, "column `");
            sb_puts(why, name);
            sb_puts(why, "` is not text");
            return false;
        }
    }
    return true;
}

static bool user_of_row(const exports_hoard_definition_origin_sql_rows_t *rows, user *u,
                        strbuf *why) {
    const exports_hoard_definition_origin_list_sql_value_t *row = &rows->rows.ptr[0];
    bool present;
    memset(u, 0, sizeof *u);
    if (!column_text(rows, row, "id", &u->id, &present, why)) {
        return false;
    }
    if (!present) {
        sb_puts(why, "the row has no `id`");
        return false;
    }
    if (!column_text(rows, row, "email", &u->email, &present, why)) {
        return false;
    }
    if (!present) {
        sb_puts(why, "the row has no `email`");
        return false;
    }
    return column_text(rows, row, "name", &u->name, &u->has_name, why);
}

bool exports_hoard_definition_origin_load_response(
    origin_plugin_list_string_t *parts, exports_hoard_definition_origin_response_t *response,
    exports_hoard_definition_origin_loaded_t *ret, string_t *err) {
    user u;
    strbuf why = {0};
    bool found = true;
    bool ok;
    memset(&u, 0, sizeof u);
    if (response->tag == EXPORTS_HOARD_DEFINITION_ORIGIN_RESPONSE_SQL) {
        const exports_hoard_definition_origin_sql_rows_t *rows = &response->val.sql;
        found = rows->rows.len > 0;
        ok = !found || user_of_row(rows, &u, &why);
    } else {
        const exports_hoard_definition_origin_http_response_t *http = &response->val.http;
        found = http->status != 404;
        if (!found) {
            ok = true;
        } else if (http->status != 200) {
            sb_puts(&why, "the API answered HTTP ");
            sb_put_u64(&why, http->status);
            ok = false;
        } else {
            ok = user_of_json(http->body.ptr, http->body.len, &u, &why);
        }
    }
    if (!ok) {
        take_string(&why, err);
    } else if (!found) {
        ret->tag = EXPORTS_HOARD_DEFINITION_ORIGIN_LOADED_NOT_FOUND;
    } else {
        strbuf value = {0};
        encode_user(&u, &value);
        ret->tag = EXPORTS_HOARD_DEFINITION_ORIGIN_LOADED_VALUE;
        take_bytes(&value, &ret->val.value);
    }
    user_free(&u);
    sb_free(&why);
    origin_plugin_list_string_free(parts);
    exports_hoard_definition_origin_response_free(response);
    return ok;
}

bool exports_hoard_definition_origin_write_request(
    exports_hoard_definition_origin_origin_kind_t kind, origin_plugin_list_string_t *parts,
    origin_plugin_list_u8_t *value, uint64_t sequence,
    exports_hoard_definition_origin_request_t *ret, string_t *err) {
    const string_t *id;
    user u;
    strbuf why = {0};
    memset(&u, 0, sizeof u);
    bool ok = user_id(parts, &id, &why) && user_of_value(value->ptr, value->len, &u, &why);
    if (ok && (u.id.len != id->len || memcmp(u.id.ptr, id->ptr, id->len) != 0)) {
        sb_puts(&why, "the value's id `");
        sb_putn(&why, u.id.ptr, u.id.len);
        sb_puts(&why, "` is not the key's `");
        sb_putn(&why, id->ptr, id->len);
        sb_puts(&why, "`");
        ok = false;
    }
    if (!ok) {
        take_string(&why, err);
    } else if (kind == EXPORTS_HOARD_DEFINITION_ORIGIN_ORIGIN_KIND_SQL) {
        ret->tag = EXPORTS_HOARD_DEFINITION_ORIGIN_REQUEST_SQL;
        put_string(&ret->val.sql.statement, "upsert_user");
        sql_value_t *params = xcalloc(4, sizeof(sql_value_t));
        text_value(&params[0], u.id.ptr, u.id.len);
        text_value(&params[1], u.email.ptr, u.email.len);
        if (u.has_name) {
            text_value(&params[2], u.name.ptr, u.name.len);
        } else {
            params[2].tag = EXPORTS_HOARD_DEFINITION_ORIGIN_SQL_VALUE_NULL;
        }
        params[3].tag = EXPORTS_HOARD_DEFINITION_ORIGIN_SQL_VALUE_INTEGER;
        params[3].val.integer = sequence > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)sequence;
        ret->val.sql.params.ptr = params;
        ret->val.sql.params.len = 4;
    } else {
        strbuf body = {0};
        json_user(&u, &body);
        http_call(ret, EXPORTS_HOARD_DEFINITION_ORIGIN_HTTP_METHOD_PUT, id, "content-type",
                  "application/json", &body);
    }
    user_free(&u);
    sb_free(&why);
    origin_plugin_list_string_free(parts);
    origin_plugin_list_u8_free(value);
    return ok;
}
