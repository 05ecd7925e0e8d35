/* Line splitter over a source: one fixed buffer, filled in large blocks, lines handed out as
 * slices into it. Splits on '\n', strips a trailing '\r' and a UTF-8 byte order mark at the
 * start of a line, keeps a last line that has no newline, and cuts lines longer than max_line
 * (the rest of such a line is skipped up to the next '\n' and the cut is counted).
 *
 * Memory is max_line + block bytes, fixed at lines_init(), whatever the input size. */
#ifndef HSMLOG_LINES_H
#define HSMLOG_LINES_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "err.h"
#include "source.h"
#include "strv.h"

#define LINES_DEFAULT_MAX_LINE (64u * 1024)  /* documented in README: longer lines are cut */
#define LINES_DEFAULT_BLOCK    (256u * 1024) /* bytes asked of the source per read */

/* Invariants: start <= end <= cap; buf[start..end) holds bytes not yet handed out; line_no
 * counts lines handed out; when skipping, the bytes up to the next '\n' are being dropped. */
struct lines {
    struct source *src;     /* borrowed: valid until lines_release() */
    char *buf;              /* owned: cap bytes */
    size_t cap;             /* max_line + block */
    size_t start;           /* first unread byte */
    size_t end;             /* one past the last valid byte */
    size_t max_line;        /* longest line handed out; longer lines are cut to this */
    size_t block;           /* read size */
    bool eof;               /* the source returned 0 */
    bool skipping;          /* dropping the tail of a cut line */
    int read_error;         /* hl_code of a failed read, delivered after the buffered lines */
    struct hl_err read_err; /* detail of read_error */
    uint64_t line_no;       /* number of the line last handed out, 1-based */
    uint64_t cut;           /* lines that were longer than max_line */
    bool last_cut;          /* the line last handed out was cut */
};

/* Sets up a reader over src. Fails with HL_ENOMEM. max_line/block 0 take the defaults. */
HL_NODISCARD int lines_init(struct lines *l, struct source *src, size_t max_line, size_t block,
                            struct hl_err *err);

/* Frees the buffer (not the source). */
void lines_release(struct lines *l);

/* Hands out the next line in *ret_line, valid until the next lines_next() or lines_release().
 * Returns 1 for a line, 0 at the end of input, HL_PAUSE when the source has no whole line yet
 * (a pipe waiting for its writer: call again), or the negative hl_code of a read error (with
 * err filled) once every line read before the error has been handed out. */
HL_NODISCARD int lines_next(struct lines *l, struct strv *ret_line, struct hl_err *err);

/* Hands out up to want raw bytes (at least one unless the input ended) at *ret, valid until
 * the next lines call: the binary value of a journal export field, whose length is given and
 * whose bytes may hold '\n'. Newlines in them count as lines. Returns the byte count, 0 at the
 * end of input, HL_PAUSE when nothing is buffered and the source has no data yet, or a
 * negative hl_code (err filled) once the buffered bytes are used up. */
HL_NODISCARD ssize_t lines_take(struct lines *l, size_t want, struct strv *ret, struct hl_err *err);

#endif
