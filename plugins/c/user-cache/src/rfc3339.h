/*
 * Strict RFC 3339 timestamps, exactly as the Rust reference's
 * parse_rfc3339_ms (plugins/shared): `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`
 * with upper-case `T` and `Z` only, the fraction truncated to milliseconds,
 * and a leap second (`:60`) counted as the next second.
 */
#ifndef USER_CACHE_RFC3339_H
#define USER_CACHE_RFC3339_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses `s` (not NUL-terminated) into milliseconds since the Unix epoch,
 * UTC. Returns false when `s` is not such a timestamp. */
bool parse_rfc3339_ms(const uint8_t *s, size_t len, int64_t *ms);

#endif
