/* JSON string writer and flat-object reader. The reader works on raw slices and decodes only
 * the values a caller asks for, so a journal line with forty fields costs one pass. */
#include "json.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "utf8.h"

/* Nesting we skip over inside a journal field before calling the input malformed. */
#define JSON_MAX_DEPTH 64

int json_put_string(struct buf *out, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)p;
    int r = buf_addc(out, '"');
    size_t i = 0, run = 0;
    while (r == 0 && i < n) {
        unsigned char c = u[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t len = c >= 0x80 ? utf8_seq_len(u + i, n - i) : 0;
        if (len && !utf8_acts_on_terminal(u + i, len)) {
            i += len;
            continue;
        }
        if ((r = buf_add(out, p + run, i - run)) < 0)
            return r;
        if (len) {
            /* The same character, written so that NDJSON read on a terminal cannot drive it. */
            uint32_t cp = len == 2 ? (uint32_t)(u[i] & 0x1F) << 6 | (u[i + 1] & 0x3F)
                                   : (uint32_t)(u[i] & 0x0F) << 12 |
                                             (uint32_t)(u[i + 1] & 0x3F) << 6 | (u[i + 2] & 0x3F);
            r = buf_printf(out, "\\u%04x", (unsigned)cp);
            i += len;
            run = i;
            continue;
        }
        char esc[7] = { '\\', 0 };
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            r = buf_add(out, esc, 2);
            break;
        case '\n':
            r = buf_add(out, "\\n", 2);
            break;
        case '\r':
            r = buf_add(out, "\\r", 2);
            break;
        case '\t':
            r = buf_add(out, "\\t", 2);
            break;
        default:
            if ((c < 0x20 && c != 0) || c == 0x7f) {
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                r = buf_add(out, esc, 6);
            } else {
                r = buf_add(out, "\\ufffd", 6); /* NUL or invalid UTF-8 */
            }
        }
        run = ++i;
    }
    if (r == 0)
        r = buf_add(out, p + run, n - run);
    if (r == 0)
        r = buf_addc(out, '"');
    return r;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* Returns the byte after the closing quote of the string starting at p (p[0] == '"'). */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

/* Returns the byte after the value starting at p, or NULL when it is malformed. Arrays and
 * objects are skipped by bracket counting; strings inside them are skipped whole. */
static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '[' || *p == '{') {
        int depth = 0;
        while (p < end) {
            if (*p == '"') {
                p = skip_string(p, end);
                if (!p)
                    return NULL;
                continue;
            }
            if (*p == '[' || *p == '{') {
                if (++depth > JSON_MAX_DEPTH)
                    return NULL;
            } else if (*p == ']' || *p == '}') {
                if (--depth == 0)
                    return p + 1;
            }
            p++;
        }
        return NULL;
    }
    const char *start = p;
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
           *p != '\r' && *p != '\n')
        p++;
    return p > start ? p : NULL;
}

int json_iter_begin(struct json_iter *it, struct strv text)
{
    const char *end = text.p + text.n;
    const char *p = skip_ws(text.p, end);
    if (p >= end || *p != '{')
        return HL_EFORMAT;
    it->p = p + 1;
    it->end = end;
    return 0;
}

int json_iter_next(struct json_iter *it, struct strv *ret_key, struct strv *ret_value)
{
    const char *p = skip_ws(it->p, it->end);
    if (p < it->end && *p == '}') {
        it->p = p + 1;
        return 0;
    }
    if (p >= it->end || *p != '"')
        return HL_EFORMAT;
    const char *kend = skip_string(p, it->end);
    if (!kend)
        return HL_EFORMAT;
    struct strv key = strv_make(p + 1, (size_t)(kend - p - 2));
    p = skip_ws(kend, it->end);
    if (p >= it->end || *p != ':')
        return HL_EFORMAT;
    p = skip_ws(p + 1, it->end);
    const char *vend = skip_value(p, it->end);
    if (!vend)
        return HL_EFORMAT;
    /* A member is followed by '}' or by ',' and another member: this catches a missing comma
     * and a stray or trailing one, and leaves it->p on the next key or the '}'. */
    const char *next = skip_ws(vend, it->end);
    if (next < it->end && *next == ',') {
        next = skip_ws(next + 1, it->end);
        if (next >= it->end || *next != '"')
            return HL_EFORMAT;
    } else if (next >= it->end || *next != '}') {
        return HL_EFORMAT;
    }
    *ret_key = key;
    *ret_value = strv_make(p, (size_t)(vend - p));
    it->p = next;
    return 1;
}

static int hex4(const char *p, const char *end, uint32_t *ret)
{
    uint32_t v = 0;
    if (end - p < 4)
        return HL_EFORMAT;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return HL_EFORMAT;
    }
    *ret = v;
    return 0;
}

static int put_codepoint(struct buf *out, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_add(out, u, n);
}

static int decode_string(struct strv v, struct buf *out)
{
    const char *p = v.p + 1, *end = v.p + v.n - 1; /* inside the quotes */
    int r = 0;
    while (r == 0 && p < end) {
        const char *run = p;
        while (p < end && *p != '\\')
            p++;
        if ((r = buf_add(out, run, (size_t)(p - run))) < 0 || p >= end)
            break;
        if (++p >= end)
            return HL_EFORMAT;
        char c = *p++;
        switch (c) {
        case 'n':
            r = buf_addc(out, '\n');
            break;
        case 't':
            r = buf_addc(out, '\t');
            break;
        case 'r':
            r = buf_addc(out, '\r');
            break;
        case 'b':
            r = buf_addc(out, '\b');
            break;
        case 'f':
            r = buf_addc(out, '\f');
            break;
        case 'u': {
            uint32_t cp;
            if (hex4(p, end, &cp) < 0)
                return HL_EFORMAT;
            p += 4;
            /* A high surrogate followed by \uDC00-\uDFFF is one astral code point. */
            if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                uint32_t lo;
                if (hex4(p + 2, end, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD; /* lone surrogate */
            r = put_codepoint(out, cp);
            break;
        }
        default:
            r = buf_addc(out, c); /* \" \\ \/ */
        }
    }
    return r;
}

static int decode_byte_array(struct strv v, struct buf *out)
{
    const char *p = v.p + 1, *end = v.p + v.n - 1;
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end)
            return 0;
        unsigned n = 0;
        const char *digits = p;
        while (p < end && *p >= '0' && *p <= '9' && n <= 255)
            n = n * 10 + (unsigned)(*p++ - '0');
        if (p == digits || n > 255)
            return HL_EFORMAT;
        int r = buf_addc(out, (char)n);
        if (r < 0)
            return r;
        p = skip_ws(p, end);
        if (p < end && *p == ',')
            p++;
        else if (p < end)
            return HL_EFORMAT;
    }
}

int json_value_decode(struct strv v, struct buf *out)
{
    if (v.n == 0)
        return HL_EFORMAT;
    switch (v.p[0]) {
    case '"':
        return v.n >= 2 ? decode_string(v, out) : HL_EFORMAT;
    case '[':
        return decode_byte_array(v, out);
    case '{':
        return HL_EFORMAT;
    default:
        if (strv_eq(v, "null"))
            return 0;
        return buf_add(out, v.p, v.n);
    }
}

/* ---- json_put_value(): a strict reader that writes what it reads ---- */

struct jcopy {
    const char *p, *end; /* borrowed: the unread text */
    struct buf *out;     /* borrowed */
    struct buf str;      /* owned: one decoded string */
    int depth;
};

static int copy_value(struct jcopy *c);

/* A string token: no raw control byte, only the escapes RFC 8259 section 7 allows. */
static int copy_string(struct jcopy *c)
{
    const char *start = c->p++;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20)
            return HL_EFORMAT;
        if (ch == '\\') {
            if (++c->p >= c->end)
                return HL_EFORMAT;
            if (*c->p == 'u') {
                uint32_t cp;
                if (hex4(c->p + 1, c->end, &cp) < 0)
                    return HL_EFORMAT;
                c->p += 4;
            } else if (*c->p == '\0' || !strchr("\"\\/bfnrt", *c->p)) {
                return HL_EFORMAT;
            }
        }
        c->p++;
    }
    if (c->p >= c->end)
        return HL_EFORMAT;
    c->p++;
    buf_reset(&c->str);
    int r = decode_string(strv_make(start, (size_t)(c->p - start)), &c->str);
    return r ? r : json_put_string(c->out, c->str.data ? c->str.data : "", c->str.len);
}

static bool is_digit(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* A number per RFC 8259 section 6, copied as written. */
static int copy_number(struct jcopy *c)
{
    const char *p = c->p, *end = c->end;
    if (p < end && *p == '-')
        p++;
    if (!is_digit(p, end))
        return HL_EFORMAT;
    if (*p == '0')
        p++;
    else
        while (is_digit(p, end))
            p++;
    if (p < end && *p == '.') {
        if (!is_digit(++p, end))
            return HL_EFORMAT;
        while (is_digit(p, end))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(p, end))
            return HL_EFORMAT;
        while (is_digit(p, end))
            p++;
    }
    int r = buf_add(c->out, c->p, (size_t)(p - c->p));
    c->p = p;
    return r;
}

/* An array or an object: values (objects: string keys and values) between commas. */
static int copy_container(struct jcopy *c)
{
    char close = *c->p == '[' ? ']' : '}';
    bool object = close == '}';
    if (++c->depth > JSON_MAX_DEPTH)
        return HL_EFORMAT;
    int r = buf_addc(c->out, *c->p++);
    c->p = skip_ws(c->p, c->end);
    if (r == 0 && c->p < c->end && *c->p == close) {
        c->p++;
        c->depth--;
        return buf_addc(c->out, close);
    }
    while (r == 0) {
        if (object) {
            c->p = skip_ws(c->p, c->end);
            if (c->p >= c->end || *c->p != '"')
                return HL_EFORMAT;
            if ((r = copy_string(c)) < 0)
                return r;
            c->p = skip_ws(c->p, c->end);
            if (c->p >= c->end || *c->p != ':')
                return HL_EFORMAT;
            c->p++;
            if ((r = buf_addc(c->out, ':')) < 0)
                return r;
        }
        if ((r = copy_value(c)) < 0)
            return r;
        c->p = skip_ws(c->p, c->end);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            c->depth--;
            return buf_addc(c->out, close);
        }
        if (c->p >= c->end || *c->p != ',')
            return HL_EFORMAT;
        c->p++;
        r = buf_addc(c->out, ',');
    }
    return r;
}

static int copy_literal(struct jcopy *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return HL_EFORMAT;
    c->p += n;
    return buf_add(c->out, word, n);
}

static int copy_value(struct jcopy *c)
{
    c->p = skip_ws(c->p, c->end);
    if (c->p >= c->end)
        return HL_EFORMAT;
    switch (*c->p) {
    case '"':
        return copy_string(c);
    case '[':
    case '{':
        return copy_container(c);
    case 't':
        return copy_literal(c, "true");
    case 'f':
        return copy_literal(c, "false");
    case 'n':
        return copy_literal(c, "null");
    default:
        return copy_number(c);
    }
}

int json_put_value(struct buf *out, const char *p, size_t n)
{
    struct jcopy c = { .p = p, .end = p + n, .out = out };
    buf_init(&c.str, 0);
    size_t mark = out->len;
    int r = copy_value(&c);
    if (r == 0 && skip_ws(c.p, c.end) != c.end)
        r = HL_EFORMAT;
    buf_release(&c.str);
    if (r < 0 && out->data) {
        out->len = mark;
        out->data[mark] = '\0';
    }
    return r;
}

int json_put_strings(struct buf *out, const char *const *v, size_t n)
{
    int r = buf_addc(out, '[');
    bool first = true;
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (!v[i])
            continue;
        if (!first)
            r = buf_addc(out, ',');
        if (r == 0)
            r = json_put_string(out, v[i], strlen(v[i]));
        first = false;
    }
    return r == 0 ? buf_addc(out, ']') : r;
}
