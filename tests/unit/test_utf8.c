/* Unit tests for utf8: sequence lengths for every well-formed shape and the RFC 3629 edges
 * (overlongs, surrogates, past U+10FFFF, truncation, stray continuation bytes), the clean
 * check with NUL, and sanitizing that replaces exactly the bad bytes. */
#include <string.h>

#include "buf.h"
#include "err.h"
#include "tap.h"
#include "utf8.h"

static size_t seq(const char *s, size_t n)
{
    return utf8_seq_len((const unsigned char *)s, n);
}

#define SEQ(lit) seq(lit, sizeof(lit) - 1)

static void seq_len_of_well_formed_sequences(void)
{
    CHECK_INT(SEQ("A"), 1);
    CHECK_INT(SEQ("\x7F"), 1);
    CHECK_INT(SEQ("\xC2\x80"), 2);         /* U+0080, smallest 2-byte */
    CHECK_INT(SEQ("\xC3\xA9"), 2);         /* é */
    CHECK_INT(SEQ("\xDF\xBF"), 2);         /* U+07FF */
    CHECK_INT(SEQ("\xE0\xA0\x80"), 3);     /* U+0800, smallest 3-byte */
    CHECK_INT(SEQ("\xE2\x82\xAC"), 3);     /* € */
    CHECK_INT(SEQ("\xED\x9F\xBF"), 3);     /* U+D7FF, just below the surrogates */
    CHECK_INT(SEQ("\xEE\x80\x80"), 3);     /* U+E000, just above them */
    CHECK_INT(SEQ("\xEF\xBF\xBF"), 3);     /* U+FFFF */
    CHECK_INT(SEQ("\xF0\x90\x80\x80"), 4); /* U+10000 */
    CHECK_INT(SEQ("\xF0\x9F\x98\x80"), 4); /* emoji */
    CHECK_INT(SEQ("\xF4\x8F\xBF\xBF"), 4); /* U+10FFFF, the last code point */
    /* Only the first sequence counts. */
    CHECK_INT(SEQ("\xC3\xA9xyz"), 2);
}

static void seq_len_rejects_overlongs(void)
{
    CHECK_INT(SEQ("\xC0\x80"), 0); /* overlong NUL */
    CHECK_INT(SEQ("\xC1\xBF"), 0); /* overlong U+007F */
    CHECK_INT(SEQ("\xE0\x80\x80"), 0);
    CHECK_INT(SEQ("\xE0\x9F\xBF"), 0); /* overlong U+07FF */
    CHECK_INT(SEQ("\xF0\x80\x80\x80"), 0);
    CHECK_INT(SEQ("\xF0\x8F\xBF\xBF"), 0); /* overlong U+FFFF */
}

static void seq_len_rejects_surrogates(void)
{
    CHECK_INT(SEQ("\xED\xA0\x80"), 0); /* U+D800 */
    CHECK_INT(SEQ("\xED\xBF\xBF"), 0); /* U+DFFF */
}

static void seq_len_rejects_past_last_code_point(void)
{
    CHECK_INT(SEQ("\xF4\x90\x80\x80"), 0); /* U+110000 */
    CHECK_INT(SEQ("\xF5\x80\x80\x80"), 0);
    CHECK_INT(SEQ("\xFE"), 0);
    CHECK_INT(SEQ("\xFF"), 0);
}

static void seq_len_rejects_truncated_and_stray_bytes(void)
{
    CHECK_INT(SEQ("\x80"), 0); /* stray continuation */
    CHECK_INT(SEQ("\xBF"), 0);
    CHECK_INT(SEQ("\xC3"), 0); /* lead byte at the end */
    CHECK_INT(SEQ("\xE2\x82"), 0);
    CHECK_INT(SEQ("\xF0\x9F\x98"), 0);
    CHECK_INT(SEQ("\xC3\x41"), 0); /* lead byte then ASCII */
    CHECK_INT(SEQ("\xE2\x82\x41"), 0);
    CHECK_INT(SEQ("\xF0\x9F\x98\xC3"), 0);
    CHECK_INT(seq("\xE2\x82\xAC", 2), 0); /* n bounds the sequence, not the NUL */
    CHECK_INT(seq("", 0), 0);
}

static void is_clean_accepts_valid_text(void)
{
    CHECK_INT(utf8_is_clean("", 0), 1);
    CHECK_INT(utf8_is_clean("plain ascii", 11), 1);
    CHECK_INT(utf8_is_clean("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 14), 1);
}

static void is_clean_rejects_nul_and_invalid_bytes(void)
{
    CHECK_INT(utf8_is_clean("a\0b", 3), 0);
    CHECK_INT(utf8_is_clean("ab\xFF", 3), 0);
    CHECK_INT(utf8_is_clean("\xED\xA0\x80", 3), 0);
    CHECK_INT(utf8_is_clean("ok\xC3", 3), 0);
    /* Only n bytes are looked at: the invalid byte past n does not count. */
    CHECK_INT(utf8_is_clean("ok\xFF", 2), 1);
}

/* Sanitizes p[0..n) and compares the result with want. */
static void check_sanitize(const char *p, size_t n, const char *want)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(utf8_sanitize(&b, p, n), 0);
    CHECK_STRN(b.data ? b.data : "", b.len, want);
    CHECK(utf8_is_clean(b.data, b.len));
    buf_release(&b);
}

#define SANITIZE(lit, want) check_sanitize(lit, sizeof(lit) - 1, want)
#define FFFD                "\xEF\xBF\xBD"

static void sanitize_keeps_valid_text(void)
{
    SANITIZE("", "");
    SANITIZE("caf\xC3\xA9 \xF0\x9F\x98\x80", "caf\xC3\xA9 \xF0\x9F\x98\x80");
}

static void sanitize_replaces_each_bad_byte(void)
{
    SANITIZE("a\xFF"
             "b",
             "a" FFFD "b");
    SANITIZE("\xC0\x80", FFFD FFFD);
    SANITIZE("\xED\xA0\x80", FFFD FFFD FFFD);
    SANITIZE("x\xE2\x82", "x" FFFD FFFD);
    /* A bad lead byte does not swallow the valid character after it. */
    SANITIZE("\xC3\xC3\xA9", FFFD "\xC3\xA9");
}

static void sanitize_replaces_nul(void)
{
    SANITIZE("a\0b\0", "a" FFFD "b" FFFD);
}

static void sanitize_appends_to_existing_content(void)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(buf_adds(&b, "pre:"), 0);
    CHECK_INT(utf8_sanitize(&b, "\xFFz", 2), 0);
    CHECK_STR(buf_cstr(&b), "pre:" FFFD "z");
    buf_release(&b);
}

static void sanitize_fails_at_buffer_cap(void)
{
    struct buf b;
    buf_init(&b, 4);
    CHECK_INT(utf8_sanitize(&b, "\xFF\xFF", 2), HL_ELIMIT);
    buf_release(&b);
}

int main(void)
{
    TAP_RUN(seq_len_of_well_formed_sequences);
    TAP_RUN(seq_len_rejects_overlongs);
    TAP_RUN(seq_len_rejects_surrogates);
    TAP_RUN(seq_len_rejects_past_last_code_point);
    TAP_RUN(seq_len_rejects_truncated_and_stray_bytes);
    TAP_RUN(is_clean_accepts_valid_text);
    TAP_RUN(is_clean_rejects_nul_and_invalid_bytes);
    TAP_RUN(sanitize_keeps_valid_text);
    TAP_RUN(sanitize_replaces_each_bad_byte);
    TAP_RUN(sanitize_replaces_nul);
    TAP_RUN(sanitize_appends_to_existing_content);
    TAP_RUN(sanitize_fails_at_buffer_cap);
    return tap_done();
}
