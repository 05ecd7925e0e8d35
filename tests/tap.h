/* Minimal TAP producer for the unit suites (meson test protocol: 'tap').
 *
 * Each test is a function; TAP_RUN(fn) runs it as one test point named after the function,
 * and the point fails when any CHECK inside it failed. Checks print a '#' diagnostic with the
 * file, line and values, so a failure says what was expected without a debugger. */
#ifndef HSMLOG_TAP_H
#define HSMLOG_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_count;    /* test points emitted so far */
static int tap_failed;   /* test points that failed */
static int tap_cur_fail; /* checks that failed in the running test point */

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
            tap_cur_fail++;                                                                       \
        }                                                                                         \
    } while (0)

#define CHECK_INT(got, want)                                                                      \
    do {                                                                                          \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);                          \
        if (tap_g_ != tap_w_) {                                                                   \
            printf("# %s:%d: %s == %lld, want %lld\n", __FILE__, __LINE__, #got, tap_g_,          \
                   tap_w_);                                                                       \
            tap_cur_fail++;                                                                       \
        }                                                                                         \
    } while (0)

/* Compares a (pointer, length) slice or a C string with an expected C string. */
#define CHECK_STRN(ptr, len, want)                                                                \
    do {                                                                                          \
        const char *tap_p_ = (ptr), *tap_w_ = (want);                                             \
        size_t tap_n_ = (len);                                                                    \
        if (!tap_p_ || tap_n_ != strlen(tap_w_) || memcmp(tap_p_, tap_w_, tap_n_) != 0) {         \
            printf("# %s:%d: %s == '%.*s', want '%s'\n", __FILE__, __LINE__, #ptr,                \
                   tap_p_ ? (int)tap_n_ : 6, tap_p_ ? tap_p_ : "(null)", tap_w_);                 \
            tap_cur_fail++;                                                                       \
        }                                                                                         \
    } while (0)

#define CHECK_STR(got, want)                                                                      \
    do {                                                                                          \
        const char *tap_gs_ = (got);                                                              \
        CHECK_STRN(tap_gs_, tap_gs_ ? strlen(tap_gs_) : 0, want);                                 \
    } while (0)

#define TAP_RUN(fn)                                                                               \
    do {                                                                                          \
        tap_cur_fail = 0;                                                                         \
        fn();                                                                                     \
        tap_count++;                                                                              \
        if (tap_cur_fail)                                                                         \
            tap_failed++;                                                                         \
        printf("%s %d - %s\n", tap_cur_fail ? "not ok" : "ok", tap_count, #fn);                   \
    } while (0)

/* Prints the plan and returns the process exit status. */
static inline int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
