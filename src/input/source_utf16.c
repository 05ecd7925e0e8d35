/* UTF-16 text with a byte order mark (what Windows tools and PowerShell's Out-File write) is
 * decoded to UTF-8 here, between the container layers and the line reader, so that the rest
 * of the pipeline sees ordinary text. Only a stream that starts with a BOM is decoded: without
 * one the byte order is a guess, and the sniffer keeps such data as it is. */
#include "source.h"

#include <stdlib.h>
#include <string.h>

#define UTF16_BLOCK (64u * 1024)

struct utf16_impl {
    bool big_endian;
    bool started;          /* the BOM was dropped */
    bool eof;              /* upstream returned 0 */
    int high;              /* a high surrogate waiting for its low half, or -1 */
    size_t pos, len;       /* unread bytes of in[] */
    unsigned char pend[8]; /* decoded bytes not yet handed out (a caller asked for fewer) */
    size_t pend_pos, pend_len;
    int failed;             /* hl_code of an upstream read error, handed out after the bytes */
    struct hl_err fail_err; /* its detail */
    unsigned char in[UTF16_BLOCK];
};

static size_t put_utf8(unsigned char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

#define REPLACEMENT 0xFFFDul /* Unicode §3.9: what a lone surrogate or odd byte becomes */

/* Decodes the next step of input into u->pend: one code point, or a replacement for a
 * broken unit, or nothing (a BOM, a high surrogate waiting for its pair). Returns false at
 * the end of the decoded stream. Needs two input bytes unless upstream is at its end. */
static bool decode_step(struct utf16_impl *u)
{
    if (u->len - u->pos < 2) {
        /* End of input: a dangling high surrogate or an odd last byte. */
        if (u->high < 0 && u->pos == u->len)
            return false;
        u->pend_len = put_utf8(u->pend, REPLACEMENT);
        u->high = -1;
        u->pos = u->len;
        return true;
    }
    const unsigned char *p = u->in + u->pos;
    unsigned long unit =
            u->big_endian ? (unsigned long)p[0] << 8 | p[1] : (unsigned long)p[1] << 8 | p[0];
    u->pos += 2;
    size_t k = 0;
    if (!u->started) {
        u->started = true;
        if (unit == 0xFEFF)
            return true;
    }
    if (u->high >= 0 && (unit < 0xDC00 || unit > 0xDFFF)) {
        k = put_utf8(u->pend, REPLACEMENT); /* a high surrogate with no low half */
        u->high = -1;
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
        u->high = (int)unit;
    } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
        unsigned long cp =
                u->high >= 0 ? 0x10000 + (((unsigned long)u->high - 0xD800) << 10) + (unit - 0xDC00)
                             : REPLACEMENT;
        u->high = -1;
        k += put_utf8(u->pend + k, cp);
    } else {
        k += put_utf8(u->pend + k, unit);
    }
    u->pend_len = k;
    return true;
}

static ssize_t utf16_read(struct source *s, void *buf, size_t cap, struct hl_err *err)
{
    struct utf16_impl *u = s->impl;
    unsigned char *out = buf;
    size_t n = 0;
    if (u->failed) {
        if (err)
            *err = u->fail_err;
        return u->failed;
    }
    for (;;) {
        if (u->pend_pos < u->pend_len) {
            size_t k = HL_MIN(cap - n, u->pend_len - u->pend_pos);
            memcpy(out + n, u->pend + u->pend_pos, k);
            n += k;
            u->pend_pos += k;
        }
        if (n == cap)
            return (ssize_t)n;
        u->pend_pos = u->pend_len = 0;
        if (u->len - u->pos < 2 && !u->eof) {
            memmove(u->in, u->in + u->pos, u->len - u->pos);
            u->len -= u->pos;
            u->pos = 0;
            ssize_t r = source_read(s->upstream, u->in + u->len, sizeof(u->in) - u->len, err);
            if (r == HL_PAUSE)
                return n ? (ssize_t)n : r;
            if (r < 0) {
                /* What was decoded before the error goes out first, the error next time. */
                u->failed = (int)r;
                u->fail_err = *err;
                return n ? (ssize_t)n : r;
            }
            u->eof = r == 0;
            u->len += (size_t)r;
            continue;
        }
        if (!decode_step(u))
            return (ssize_t)n;
    }
}

static void utf16_close(struct source *s)
{
    free(s->impl);
}

static const struct source_ops utf16_ops = {
    .name = "utf-16",
    .read = utf16_read,
    .close = utf16_close,
};

int source_utf16_new(struct source *upstream, bool big_endian, struct source **ret,
                     struct hl_err *err)
{
    struct utf16_impl *u = calloc(1, sizeof(*u));
    if (!u)
        return hl_err_set(err, HL_ENOMEM, upstream->label, "out of memory");
    u->big_endian = big_endian;
    u->high = -1;
    struct source *s = source_new(&utf16_ops, u, upstream, upstream->label);
    if (!s) {
        free(u);
        return hl_err_set(err, HL_ENOMEM, upstream->label, "out of memory");
    }
    *ret = s;
    return 0;
}
