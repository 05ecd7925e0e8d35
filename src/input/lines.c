/* The scan's innermost loop: memchr for '\n' over a big buffer, refilled with one memmove of
 * the partial last line. Error handling follows libarchive's ladder: a failed read is reported
 * after everything read before it has been delivered, so no line is lost. */
#include "lines.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void lines_check(const struct lines *l)
{
    assert(l->start <= l->end && l->end <= l->cap);
    (void)l;
}

int lines_init(struct lines *l, struct source *src, size_t max_line, size_t block,
               struct hl_err *err)
{
    memset(l, 0, sizeof(*l));
    l->src = src;
    l->max_line = max_line ? max_line : LINES_DEFAULT_MAX_LINE;
    l->block = block ? block : LINES_DEFAULT_BLOCK;
    l->cap = l->max_line + l->block;
    l->buf = malloc(l->cap);
    if (!l->buf)
        return hl_err_set(err, HL_ENOMEM, src ? src->label : NULL, "out of memory");
    return 0;
}

void lines_release(struct lines *l)
{
    free(l->buf);
    l->buf = NULL;
}

/* Moves unread bytes to the front and reads one block after them. Returns bytes read, 0 at
 * EOF, or a negative hl_code. */
static ssize_t refill(struct lines *l, struct hl_err *err)
{
    if (l->start > 0) {
        memmove(l->buf, l->buf + l->start, l->end - l->start);
        l->end -= l->start;
        l->start = 0;
    }
    size_t room = l->cap - l->end;
    ssize_t n = source_read(l->src, l->buf + l->end, room, err);
    if (n > 0)
        l->end += (size_t)n;
    return n;
}

static struct strv finish_line(struct lines *l, char *p, size_t n)
{
    if (n && p[n - 1] == '\r')
        n--;
    /* A byte order mark can open any concatenated file, not only the stream. */
    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
        n -= 3;
    }
    l->line_no++;
    return strv_make(p, n);
}

ssize_t lines_take(struct lines *l, size_t want, struct strv *ret, struct hl_err *err)
{
    lines_check(l);
    while (l->start == l->end && !l->eof && !l->read_error) {
        ssize_t n = refill(l, &l->read_err);
        if (n == HL_PAUSE)
            return HL_PAUSE;
        if (n == 0)
            l->eof = true;
        else if (n < 0)
            l->read_error = (int)n;
    }
    size_t n = HL_MIN(want, l->end - l->start);
    if (n == 0) {
        if (l->read_error && err)
            *err = l->read_err;
        return l->read_error;
    }
    const char *p = l->buf + l->start;
    for (const char *q = p; (q = memchr(q, '\n', n - (size_t)(q - p))); q++)
        l->line_no++;
    l->start += n;
    *ret = strv_make(p, n);
    return (ssize_t)n;
}

int lines_next(struct lines *l, struct strv *ret_line, struct hl_err *err)
{
    lines_check(l);
    while (!l->read_error || l->start < l->end) {
        char *p = l->buf + l->start;
        size_t avail = l->end - l->start;
        char *nl = avail ? memchr(p, '\n', avail) : NULL;
        if (l->skipping) {
            if (nl) {
                l->start += (size_t)(nl - p) + 1;
                l->skipping = false;
                continue;
            }
            l->start = l->end = 0; /* drop everything: it is all the cut line's tail */
        } else if (nl && (size_t)(nl - p) <= l->max_line) {
            l->start += (size_t)(nl - p) + 1;
            l->last_cut = false;
            *ret_line = finish_line(l, p, (size_t)(nl - p));
            return 1;
        } else if (avail > l->max_line) {
            /* Over-long line: hand out its first max_line bytes, then drop to the '\n'. Only
             * max_line + 1 bytes without a '\n' prove it: a line of exactly max_line bytes
             * whose '\n' the next read brings is not cut. */
            l->start += l->max_line;
            l->skipping = true;
            l->last_cut = true;
            l->cut++;
            *ret_line = finish_line(l, p, l->max_line);
            return 1;
        } else if (l->eof || l->read_error) {
            if (avail) {
                l->start = l->end;
                l->last_cut = false;
                *ret_line = finish_line(l, p, avail);
                return 1;
            }
            break;
        }
        if (l->eof || l->read_error)
            break;
        ssize_t n = refill(l, &l->read_err);
        if (n == HL_PAUSE)
            return HL_PAUSE; /* the partial line waits in the buffer */
        if (n == 0)
            l->eof = true;
        else if (n < 0)
            l->read_error = (int)n;
    }
    if (l->read_error && err)
        *err = l->read_err;
    return l->read_error;
}
