#include "rfc3339.h"

/* The decimal number in s[from, to), if those bytes are all ASCII digits
 * (callers keep `to - from` <= 4, so no overflow). */
static bool num(const uint8_t *s, size_t len, size_t from, size_t to, int64_t *out) {
    if (from > to || to > len) {
        return false;
    }
    int64_t v = 0;
    for (size_t i = from; i < to; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static bool is_leap(int64_t year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int64_t days_in_month(int64_t year, int64_t month) {
    switch (month) {
    case 2: return is_leap(year) ? 29 : 28;
    case 4: case 6: case 9: case 11: return 30;
    default: return 31;
    }
}

/* Floor division for a positive divisor (Rust's div_euclid). */
static int64_t div_floor(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t year, int64_t month, int64_t day) {
    int64_t y = month <= 2 ? year - 1 : year;
    int64_t era = div_floor(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool parse_rfc3339_ms(const uint8_t *s, size_t len, int64_t *ms) {
    if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':') {
        return false;
    }
    int64_t year, month, day, hour, minute, second;
    if (!num(s, len, 0, 4, &year) || !num(s, len, 5, 7, &month) || !num(s, len, 8, 10, &day) ||
        !num(s, len, 11, 13, &hour) || !num(s, len, 14, 16, &minute) ||
        !num(s, len, 17, 19, &second)) {
        return false;
    }
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
        minute > 59 || second > 60) {
        return false;
    }
    size_t i = 19;
    int64_t millis = 0;
    if (s[i] == '.') {
        size_t start = i + 1;
        i = start;
        while (i < len && is_digit(s[i])) {
            i++;
        }
        if (i == start) {
            return false;
        }
        /* The first three fraction digits, zero-padded. */
        for (size_t k = 0; k < 3; k++) {
            millis = millis * 10 + (start + k < i ? s[start + k] - '0' : 0);
        }
    }
    int64_t offset_min;
    size_t rest = len - i;
    if (rest == 1 && s[i] == 'Z') {
        offset_min = 0;
    } else if (rest == 6 && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int64_t oh, om;
        if (!num(s, len, i + 1, i + 3, &oh) || !num(s, len, i + 4, i + 6, &om) || oh > 23 ||
            om > 59) {
            return false;
        }
        offset_min = s[i] == '-' ? -(oh * 60 + om) : oh * 60 + om;
    } else {
        return false;
    }
    int64_t days = days_from_civil(year, month, day);
    int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    *ms = secs * 1000 + millis;
    return true;
}
