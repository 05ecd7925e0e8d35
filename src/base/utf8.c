/* Strict UTF-8 decoding per RFC 3629 (no overlongs, no surrogates, nothing past U+10FFFF), so
 * that the JSON we print and the TEXT we store are always valid for downstream tools. */
#include "utf8.h"

#include "err.h"

size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    if (n == 0)
        return 0;
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2 || c > 0xF4)
        return 0;
    size_t len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    /* RFC 3629 table: second-byte ranges that rule out overlongs and surrogates. */
    if (c == 0xE0 && p[1] < 0xA0)
        return 0;
    if (c == 0xED && p[1] > 0x9F)
        return 0;
    if (c == 0xF0 && p[1] < 0x90)
        return 0;
    if (c == 0xF4 && p[1] > 0x8F)
        return 0;
    return len;
}

bool utf8_acts_on_terminal(const unsigned char *p, size_t len)
{
    if (len == 2)
        return p[0] == 0xC2 && p[1] < 0xA0;
    if (len == 3 && p[0] == 0xE2 && p[1] == 0x80)
        return p[2] >= 0xAA && p[2] <= 0xAE; /* U+202A..U+202E */
    if (len == 3 && p[0] == 0xE2 && p[1] == 0x81)
        return p[2] >= 0xA6 && p[2] <= 0xA9; /* U+2066..U+2069 */
    return false;
}

int utf8_is_clean(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0;
    while (i < n) {
        if (u[i] >= 0x01 && u[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = utf8_seq_len(u + i, n - i);
        if (len == 0 || u[i] == 0)
            return 0;
        i += len;
    }
    return 1;
}

int utf8_sanitize(struct buf *out, const char *p, size_t n)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0, run = 0; /* run: start of the pending clean span */
    int r;
    while (i < n) {
        size_t len = u[i] ? utf8_seq_len(u + i, n - i) : 0;
        if (len) {
            i += len;
            continue;
        }
        if ((r = buf_add(out, p + run, i - run)) < 0 || (r = buf_add(out, replacement, 3)) < 0)
            return r;
        run = ++i;
    }
    return buf_add(out, p + run, n - run);
}
