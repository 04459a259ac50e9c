/*
 * UserCache in C: the design's example definition, a port of the Rust
 * reference (plugins/examples/user-cache) that passes the same conformance
 * suite. Values are read with cmp (see values.h). Entries are user records
 * (`{id, email, name?, createdAt?, version?}` in MessagePack) keyed
 * `User:{id}` or `User:{id}:v{version}`; user events invalidate a user's
 * keys and cascade to `UserPermissions`.
 *
 * Memory, as the generated plugin.h has it: every argument of an export is
 * owned by the export, which frees it (the `*_free` helpers); everything
 * returned must be heap memory, because the generated post-return functions
 * free() every returned string and list of non-zero length after the host
 * has copied it. Zero-length strings and lists are returned as NULL.
 */
#include <stdlib.h>
#include <string.h>

#include "plugin.h"
#include "rfc3339.h"
#include "text.h"
#include "values.h"

#define MINUTE_MS UINT64_C(60000)
/* How far `createdAt` may lie ahead of the host's clock. */
#define CLOCK_SKEW_MS INT64_C(5000)

/* ---- returning values to the host ---------------------------------------- */

/* Hands the buffer's bytes to `out` (ownership moves; `b` is left empty). */
static void take_string(strbuf *b, plugin_string_t *out) {
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

/* A list of strings being built; becomes a plugin_list_string_t. */
typedef struct strlist {
    plugin_string_t *items;
    size_t len;
    size_t cap;
} strlist;

static void list_push(strlist *l, strbuf *b) {
    if (l->len == l->cap) {
        size_t cap = l->cap == 0 ? 4 : l->cap * 2;
        if (cap > SIZE_MAX / sizeof(plugin_string_t)) {
            abort();
        }
        plugin_string_t *items = realloc(l->items, cap * sizeof(plugin_string_t));
        if (items == NULL) {
            abort();
        }
        l->items = items;
        l->cap = cap;
    }
    take_string(b, &l->items[l->len++]);
}

static void take_list(strlist *l, plugin_list_string_t *out) {
    out->ptr = l->len > 0 ? l->items : NULL;
    out->len = l->len;
    if (l->len == 0) {
        free(l->items);
    }
    l->items = NULL;
    l->len = 0;
    l->cap = 0;
}

/* ---- describe -------------------------------------------------------------- */

void exports_plugin_describe(plugin_descriptor_t *ret) {
    static const char *const EVENTS[] = {"UserUpdated", "ProfileChanged", "UserDeleted",
                                         "PermissionsChanged"};
    static const char *const METADATA[][2] = {{"owner", "identity-team"}, {"language", "c"}};
    const size_t n_events = sizeof EVENTS / sizeof EVENTS[0];
    const size_t n_meta = sizeof METADATA / sizeof METADATA[0];

    memset(ret, 0, sizeof *ret);
    plugin_string_dup(&ret->id, "user-cache");
    plugin_string_dup(&ret->name, "UserCache");
    plugin_string_dup(&ret->description,
                      "User records by id, invalidated when a user is updated, changed or "
                      "deleted.");
    plugin_string_dup(&ret->version, "1.0.0");
    ret->default_ttl_ms = 30 * MINUTE_MS;
    ret->max_ttl_ms = 24 * 60 * MINUTE_MS;
    ret->expiration = HOARD_DEFINITION_TYPES_EXPIRATION_ABSOLUTE;
    ret->eviction = HOARD_DEFINITION_TYPES_EVICTION_POLICY_LRU;
    ret->max_items = 10000;
    ret->allow_null = false;
    ret->compress.is_some = true;
    ret->compress.val.threshold_bytes = 1024;
    ret->encrypt = true;
    ret->pure_keys = true;

    ret->invalidation_events.ptr = xmalloc(n_events * sizeof(plugin_string_t));
    ret->invalidation_events.len = n_events;
    for (size_t i = 0; i < n_events; i++) {
        plugin_string_dup(&ret->invalidation_events.ptr[i], EVENTS[i]);
    }
    ret->dependent_caches.ptr = xmalloc(sizeof(plugin_string_t));
    ret->dependent_caches.len = 1;
    plugin_string_dup(&ret->dependent_caches.ptr[0], "UserPermissions");
    ret->metadata.ptr = xmalloc(n_meta * sizeof(plugin_tuple2_string_string_t));
    ret->metadata.len = n_meta;
    for (size_t i = 0; i < n_meta; i++) {
        plugin_string_dup(&ret->metadata.ptr[i].f0, METADATA[i][0]);
        plugin_string_dup(&ret->metadata.ptr[i].f1, METADATA[i][1]);
    }
}

/* ---- generate-key ---------------------------------------------------------- */

/* A canonical non-negative integer (`007` is 7): digits only, fits u64. */
static bool parse_version(const uint8_t *s, size_t len, uint64_t *out) {
    if (len == 0) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool exports_plugin_generate_key(plugin_list_string_t *parts, plugin_string_t *ret,
                                 plugin_key_error_t *err) {
    strbuf out = {0};
    strbuf msg = {0};
    uint8_t tag = HOARD_DEFINITION_TYPES_KEY_ERROR_INVALID_PART;
    bool ok = false;

    if (parts->len == 1 || parts->len == 2) {
        const plugin_string_t *id = &parts->ptr[0];
        uint64_t version = 0;
        if (!check_part(&msg, "id", id->ptr, id->len)) {
            /* msg says why */
        } else if (parts->len == 2 &&
                   !parse_version(parts->ptr[1].ptr, parts->ptr[1].len, &version)) {
            sb_puts(&msg, "version must be a non-negative integer");
        } else {
            sb_puts(&out, "User:");
            sb_putn(&out, id->ptr, id->len);
            if (parts->len == 2) {
                sb_puts(&out, ":v");
                sb_put_u64(&out, version);
            }
            ok = true;
        }
    } else {
        tag = HOARD_DEFINITION_TYPES_KEY_ERROR_WRONG_ARITY;
        sb_puts(&msg, "UserCache keys take [id] (User:{id}) or [id, version] "
                      "(User:{id}:v{version}), got ");
        sb_put_u64(&msg, (uint64_t)parts->len);
        sb_puts(&msg, " parts");
    }

    if (ok) {
        take_string(&out, ret);
    } else {
        err->tag = tag;
        /* Every variant holds a string at the same place in the union. */
        take_string(&msg, &err->val.invalid_part);
    }
    sb_free(&out);
    sb_free(&msg);
    plugin_list_string_free(parts);
    return ok;
}

/* ---- validate -------------------------------------------------------------- */

/* One '@' with a non-empty local part, and a domain with an inner dot; no
 * whitespace or control characters anywhere. */
static bool is_email(const uint8_t *s, size_t len) {
    const uint8_t *at = memchr(s, '@', len);
    if (at == NULL) {
        return false;
    }
    size_t local = (size_t)(at - s);
    const uint8_t *domain = at + 1;
    size_t dlen = len - local - 1;
    if (local == 0 || dlen == 0 || memchr(domain, '@', dlen) != NULL || memchr(domain, '.', dlen) == NULL ||
        domain[0] == '.' || domain[dlen - 1] == '.') {
        return false;
    }
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            /* ASCII's white space and controls are all <= 0x20, and DEL. */
            if (s[i] <= 0x20 || s[i] == 0x7F) {
                return false;
            }
            i++;
            continue;
        }
        uint32_t c = utf8_next(s, len, &i);
        if (is_white_space(c) || is_control(c)) {
            return false;
        }
    }
    return true;
}

/* A field rule: NULL when the value is fine, else what it must be. */
typedef const char *(*rule_fn)(const mp_value *v);

static const char *rule_id(const mp_value *v) {
    return mp_is_str(v) && v->len > 0 ? NULL : "must be a non-empty string";
}

static const char *rule_email(const mp_value *v) {
    return mp_is_str(v) && is_email(v->bytes, v->len)
               ? NULL
               : "must be a string with exactly one '@' and a dot in the domain";
}

static const char *rule_name(const mp_value *v) {
    return mp_is_str(v) ? NULL : "must be a string";
}

static const char *rule_version(const mp_value *v) {
    return mp_is_non_negative_int(v) ? NULL : "must be a non-negative integer";
}

static const char *rule_created_at(const mp_value *v) {
    int64_t ms;
    if (!mp_is_str(v) || !parse_rfc3339_ms(v->bytes, v->len, &ms)) {
        return "must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z";
    }
    uint64_t now_u = hoard_definition_host_now_ms();
    int64_t now = now_u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)now_u;
    int64_t limit = now > INT64_MAX - CLOCK_SKEW_MS ? INT64_MAX : now + CLOCK_SKEW_MS;
    return ms > limit ? "must not be in the future" : NULL;
}

/* Adds a field's error, if its rule gave one (`why` is NULL when not). */
static void report(strlist *errors, const char *name, const char *why) {
    if (why == NULL) {
        return;
    }
    strbuf b = {0};
    sb_puts(&b, "`");
    sb_puts(&b, name);
    sb_puts(&b, "` ");
    sb_puts(&b, why);
    sb_puts(&b, ".");
    list_push(errors, &b);
}

/* A field of a user record and its rule. */
typedef struct field_rule {
    const char *name;
    bool required;
    rule_fn rule;
} field_rule;

/* In the order their errors are listed. */
static const field_rule FIELDS[] = {
    {"id", true, rule_id},
    {"email", true, rule_email},
    {"name", false, rule_name},
    {"version", false, rule_version},
    {"createdAt", false, rule_created_at},
};
#define N_FIELDS (sizeof FIELDS / sizeof FIELDS[0])

/* Every field's rule, from one pass over the map. */
static void check_fields(strlist *errors, mp_reader *r, const mp_value *map) {
    mp_wanted wanted[N_FIELDS] = {0};
    for (size_t i = 0; i < N_FIELDS; i++) {
        wanted[i].name = FIELDS[i].name;
        wanted[i].name_len = strlen(FIELDS[i].name);
    }
    if (!mp_fields(r, map, wanted, N_FIELDS)) {
        strbuf line = {0};
        sb_puts(&line, "The value is not valid MessagePack.");
        list_push(errors, &line);
        return;
    }
    for (size_t i = 0; i < N_FIELDS; i++) {
        const char *why = wanted[i].found   ? FIELDS[i].rule(&wanted[i].value)
                          : FIELDS[i].required ? "is required"
                                               : NULL;
        report(errors, FIELDS[i].name, why);
    }
}

bool exports_plugin_validate(plugin_list_u8_t *value, plugin_list_string_t *err) {
    strlist errors = {0};
    mp_reader r;
    mp_value root;

    if (!mp_root(&r, value->ptr, value->len, &root)) {
        strbuf line = {0};
        sb_puts(&line, "The value is not valid MessagePack.");
        list_push(&errors, &line);
    } else if (!mp_is_map(&root)) {
        strbuf line = {0};
        sb_puts(&line, "The value must be a map, not ");
        sb_puts(&line, mp_kind(&root));
        sb_puts(&line, ".");
        list_push(&errors, &line);
    } else {
        check_fields(&errors, &r, &root);
    }
    plugin_list_u8_free(value);

    if (errors.len == 0) {
        free(errors.items);
        return true;
    }
    take_list(&errors, err);
    return false;
}

/* ---- on-event -------------------------------------------------------------- */

typedef struct user_ref {
    const uint8_t *id;
    size_t id_len;
    const uint8_t *role; /* NULL when there is none */
    size_t role_len;
} user_ref;

/* `userId` (required) and, when asked, `roleId` (optional) from an event
 * payload; both must be usable as key parts. The strings point into
 * `payload`. On failure writes the bad-payload message to `msg`. */
static bool user_payload(const plugin_list_u8_t *payload, bool with_role, user_ref *user,
                         strbuf *msg) {
    mp_reader r;
    mp_value root, v;
    strbuf why = {0};
    bool ok = false;
    memset(user, 0, sizeof *user);

    if (!mp_root(&r, payload->ptr, payload->len, &root)) {
        sb_puts(&why, "payload is not valid MessagePack");
        goto done;
    }
    if (!mp_is_map(&root)) {
        sb_puts(&why, "payload is ");
        sb_puts(&why, mp_kind(&root));
        sb_puts(&why, ", not a map");
        goto done;
    }
    if (!mp_field(&r, &root, "userId", &v)) {
        sb_puts(&why, "userId is missing");
        goto done;
    }
    if (!mp_is_str(&v)) {
        sb_puts(&why, "userId is ");
        sb_puts(&why, mp_kind(&v));
        sb_puts(&why, ", not a string");
        goto done;
    }
    user->id = v.bytes;
    user->id_len = v.len;
    if (!check_part(&why, "userId", user->id, user->id_len)) {
        goto done;
    }
    if (with_role && mp_field(&r, &root, "roleId", &v) && !mp_is_nil(&v)) {
        if (!mp_is_str(&v)) {
            sb_puts(&why, "roleId is ");
            sb_puts(&why, mp_kind(&v));
            sb_puts(&why, ", not a string");
            goto done;
        }
        if (!check_part(&why, "roleId", v.bytes, v.len)) {
            goto done;
        }
        user->role = v.bytes;
        user->role_len = v.len;
    }
    ok = true;

done:
    if (!ok) {
        sb_putn(msg, why.ptr, why.len);
        sb_puts(msg, "; expected a map like {\"userId\": \"u1\"}");
    }
    sb_free(&why);
    return ok;
}

/* Appends `prefix` `id` `suffix` to the list. */
static void push_key(strlist *l, const char *prefix, const user_ref *u, const char *suffix) {
    strbuf b = {0};
    sb_puts(&b, prefix);
    sb_putn(&b, u->id, u->id_len);
    sb_puts(&b, suffix);
    list_push(l, &b);
}

static bool name_is(const plugin_string_t *name, const char *s) {
    size_t n = strlen(s);
    return name->len == n && memcmp(name->ptr, s, n) == 0;
}

bool exports_plugin_on_event(plugin_string_t *name, plugin_list_u8_t *payload,
                             plugin_invalidation_t *ret, plugin_event_error_t *err) {
    strlist keys = {0};
    strlist patterns = {0};
    strbuf reason = {0};
    strbuf msg = {0};
    user_ref user;
    bool ok = false;
    uint8_t tag = HOARD_DEFINITION_TYPES_EVENT_ERROR_BAD_PAYLOAD;

    if (name_is(name, "UserUpdated") || name_is(name, "ProfileChanged")) {
        if (user_payload(payload, false, &user, &msg)) {
            push_key(&keys, "User:", &user, "");
            push_key(&patterns, "User:", &user, ":*");
            sb_putn(&reason, name->ptr, name->len);
            sb_puts(&reason, ": user ");
            sb_putn(&reason, user.id, user.id_len);
            sb_puts(&reason, " changed");
            ret->cascade = true;
            ok = true;
        }
    } else if (name_is(name, "UserDeleted")) {
        if (user_payload(payload, false, &user, &msg)) {
            push_key(&keys, "User:", &user, "");
            push_key(&patterns, "User:", &user, ":*");
            push_key(&patterns, "UserSessions:", &user, ":*");
            push_key(&patterns, "UserActivity:", &user, ":*");
            sb_putn(&reason, name->ptr, name->len);
            sb_puts(&reason, ": user ");
            sb_putn(&reason, user.id, user.id_len);
            sb_puts(&reason, " was deleted");
            ret->cascade = true;
            ok = true;
        }
    } else if (name_is(name, "PermissionsChanged")) {
        if (user_payload(payload, true, &user, &msg)) {
            if (user.role != NULL) {
                strbuf key = {0};
                sb_puts(&key, "Permissions:");
                sb_putn(&key, user.id, user.id_len);
                sb_puts(&key, ":role:");
                sb_putn(&key, user.role, user.role_len);
                list_push(&keys, &key);
            }
            push_key(&patterns, "Permissions:", &user, ":*");
            sb_putn(&reason, name->ptr, name->len);
            sb_puts(&reason, ": permissions of user ");
            sb_putn(&reason, user.id, user.id_len);
            sb_puts(&reason, " changed");
            ret->cascade = false;
            ok = true;
        }
    } else {
        strbuf line = {0};
        sb_puts(&line, "UserCache ignores ");
        sb_putn(&line, name->ptr, name->len);
        plugin_string_t borrowed = {(uint8_t *)line.ptr, line.len};
        hoard_definition_host_log(HOARD_DEFINITION_HOST_LOG_LEVEL_DEBUG, &borrowed);
        sb_free(&line);
        tag = HOARD_DEFINITION_TYPES_EVENT_ERROR_UNKNOWN_EVENT;
        sb_puts(&msg, "UserCache does not handle ");
        sb_putn(&msg, name->ptr, name->len);
    }

    if (ok) {
        take_list(&keys, &ret->keys);
        take_list(&patterns, &ret->patterns);
        ret->dependent_caches.ptr = NULL;
        ret->dependent_caches.len = 0;
        take_string(&reason, &ret->reason);
    } else {
        err->tag = tag;
        take_string(&msg, &err->val.bad_payload);
    }
    /* The keys and reason above copied what they needed from the payload. */
    sb_free(&reason);
    sb_free(&msg);
    plugin_string_free(name);
    plugin_list_u8_free(payload);
    return ok;
}
