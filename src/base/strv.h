/* Non-owning (pointer, length) slices: the currency of the per-line hot path. A slice never
 * owns its bytes; whoever hands one out says how long the bytes stay valid. Slices are not
 * NUL-terminated and may contain NUL bytes. */
#ifndef HSMLOG_STRV_H
#define HSMLOG_STRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct strv {
    const char *p; /* borrowed: first byte, or NULL for the empty/absent slice */
    size_t n;      /* number of bytes */
};

#define STRV_NULL ((struct strv){ NULL, 0 })

static inline struct strv strv_make(const char *p, size_t n)
{
    return (struct strv){ p, n };
}

static inline struct strv strv_from_cstr(const char *s)
{
    return (struct strv){ s, s ? strlen(s) : 0 };
}

static inline bool strv_is_empty(struct strv s)
{
    return s.n == 0;
}

/* Returns true when s holds exactly the C string lit. */
static inline bool strv_eq(struct strv s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

/* Returns true when s starts with the C string lit. */
static inline bool strv_starts_with(struct strv s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n >= n && memcmp(s.p, lit, n) == 0;
}

/* Returns s without leading and trailing spaces and tabs. */
static inline struct strv strv_trim(struct strv s)
{
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

/* Returns true and sets *ret when s is one or more decimal digits (nothing else: no sign, no
 * space) whose value is at most max; false, leaving *ret alone, for anything else, including
 * a value too large for uint64_t. The range check every number taken from input goes
 * through, so that an out-of-range value reads as absent rather than as a wrong number. */
static inline bool strv_to_uint(struct strv s, uint64_t max, uint64_t *ret)
{
    if (s.n == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
        unsigned d = (unsigned)(s.p[i] - '0');
        if (d > max || v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *ret = v;
    return true;
}

#endif
