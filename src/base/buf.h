/* Growable byte buffer with a hard cap (git's strbuf plus curl's dynbuf "toobig").
 *
 * Invariants: data is NULL or holds len bytes followed by a NUL (so buf_cstr() is free);
 * len < cap whenever data is non-NULL; len never exceeds max. Growing may move data:
 * pointers into the buffer die at every call that can grow it (redis's sds rule). */
#ifndef HSMLOG_BUF_H
#define HSMLOG_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common.h"

struct buf {
    char *data; /* owned: NULL until the first byte is added */
    size_t len; /* bytes in use, not counting the trailing NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard cap on len; adding past it fails with HL_ELIMIT */
};

/* Sets up an empty buffer that may grow to max bytes (0 means no cap beyond memory). */
void buf_init(struct buf *b, size_t max);

/* Frees the contents; the buffer is then as if freshly buf_init()ed with the same max. */
void buf_release(struct buf *b);

/* Empties the buffer but keeps its memory for reuse. */
static inline void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Ensures room for extra more bytes. Fails with HL_ELIMIT past max, HL_ENOMEM. */
HL_NODISCARD int buf_reserve(struct buf *b, size_t extra);

/* Appends n bytes. Fails like buf_reserve(); on failure the buffer is unchanged. */
HL_NODISCARD int buf_add(struct buf *b, const void *p, size_t n);

/* Appends one byte. */
HL_NODISCARD int buf_addc(struct buf *b, char c);

/* Appends a C string. */
HL_NODISCARD int buf_adds(struct buf *b, const char *s);

/* Appends printf-formatted text. */
HL_NODISCARD int buf_printf(struct buf *b, const char *fmt, ...) HL_PRINTF(2, 3);

/* Returns the contents as a C string; "" for an empty buffer. Valid until the next change. */
static inline const char *buf_cstr(const struct buf *b)
{
    return b->data ? b->data : "";
}

/* Returns the owned contents and leaves the buffer empty; caller frees with free(). Never
 * returns NULL unless memory ran out. */
char *buf_detach(struct buf *b);

#endif
