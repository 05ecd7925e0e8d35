/* Layer bookkeeping shared by every source: allocation, freeing the stack, and the peek
 * buffer that content sniffing uses. */
#include "source.h"

#include <stdlib.h>
#include <string.h>

struct source *source_new(const struct source_ops *ops, void *impl, struct source *upstream,
                          const char *label)
{
    struct source *s = calloc(1, sizeof(*s));
    char *l = strdup(label ? label : "");
    if (!s || !l) {
        free(s);
        free(l);
        return NULL;
    }
    s->ops = ops;
    s->impl = impl;
    s->upstream = upstream;
    s->label = l;
    return s;
}

int source_relabel(struct source *s, const char *label, struct hl_err *err)
{
    char *l = strdup(label);
    if (!l)
        return hl_err_set(err, HL_ENOMEM, s->label, "out of memory");
    free(s->label);
    s->label = l;
    return 0;
}

char *source_label_join(const char *parent, char sep, const char *name)
{
    size_t plen = strlen(parent), extra = 0;
    for (const char *c = name; *c; c++)
        extra += *c == '%' || *c == '!' ? 2 : 0;
    char *out = malloc(plen + 1 + strlen(name) + extra + 1);
    if (!out)
        return NULL;
    char *o = out;
    memcpy(o, parent, plen);
    o += plen;
    if (sep)
        *o++ = sep;
    for (const char *c = name; *c; c++) {
        if (*c == '%' || *c == '!') {
            *o++ = '%';
            *o++ = '2';
            *o++ = *c == '%' ? '5' : '1';
        } else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

void source_free(struct source *s)
{
    if (!s)
        return;
    if (s->ops && s->ops->close)
        s->ops->close(s);
    free(s->label);
    free(s->peek);
    free(s);
}

ssize_t source_read(struct source *s, void *buf, size_t cap, struct hl_err *err)
{
    if (s->peek_pos < s->peek_len) {
        size_t n = HL_MIN(cap, s->peek_len - s->peek_pos);
        memcpy(buf, s->peek + s->peek_pos, n);
        s->peek_pos += n;
        s->offset += n;
        return (ssize_t)n;
    }
    ssize_t n = s->ops->read(s, buf, cap, err);
    if (n > 0)
        s->offset += (uint64_t)n;
    return n;
}

ssize_t source_read_through(struct source *s, void *buf, size_t cap, struct hl_err *err)
{
    ssize_t n;
    while ((n = source_read(s, buf, cap, err)) == HL_PAUSE)
        ;
    return n;
}

ssize_t source_peek(struct source *s, size_t want, const unsigned char **ret_data,
                    struct hl_err *err)
{
    if (want > SOURCE_PEEK_MAX)
        want = SOURCE_PEEK_MAX;
    if (!s->peek) {
        s->peek = malloc(SOURCE_PEEK_MAX);
        if (!s->peek)
            return hl_err_set(err, HL_ENOMEM, s->label, "out of memory");
    }
    /* Keep unreplayed bytes at the front so the buffer never needs to grow. */
    if (s->peek_pos) {
        memmove(s->peek, s->peek + s->peek_pos, s->peek_len - s->peek_pos);
        s->peek_len -= s->peek_pos;
        s->peek_pos = 0;
    }
    while (s->peek_len < want) {
        ssize_t n = s->ops->read(s, s->peek + s->peek_len, SOURCE_PEEK_MAX - s->peek_len, err);
        if (n == HL_PAUSE && memchr(s->peek, '\n', s->peek_len))
            break; /* a whole line and nothing more waiting: judge it on that */
        if (n < 0)
            return n;
        if (n == 0)
            break;
        s->peek_len += (size_t)n;
        if (s->ops->ready && memchr(s->peek, '\n', s->peek_len) && !s->ops->ready(s))
            break;
    }
    *ret_data = s->peek;
    return (ssize_t)s->peek_len;
}
