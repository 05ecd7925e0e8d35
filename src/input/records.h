/* Records over the line reader: most formats are one line per record, but journalctl
 * -o json-pretty spreads an object over many lines and -o export writes an entry as one field
 * per line (with binary values whose bytes may hold newlines), entries ended by an empty line.
 * This layer hands the parser one record either way, so nothing above it knows lines from
 * records: a record is its lines joined by '\n', as read, numbered by its first line.
 *
 * Memory is fixed at records_init(): a record longer than max bytes is cut there (counted),
 * its remaining lines read and dropped. A "{" line whose next lines are not an indented JSON
 * object is handed back line by line as it was read, so a pasted brace never swallows text. */
#ifndef HSMLOG_RECORDS_H
#define HSMLOG_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "common.h"
#include "err.h"
#include "lines.h"
#include "strv.h"

/* Invariants: rec.len <= max; replay_pos <= rec.len while replaying. */
struct records {
    struct lines *l;      /* borrowed: valid until records_release() */
    struct buf rec;       /* owned: the record being assembled, or lines to hand back */
    size_t max;           /* longest record handed out */
    bool replaying;       /* rec holds lines of a failed json-pretty start, handed back */
    size_t replay_pos;    /* next byte of rec to hand back */
    uint64_t replay_line; /* line number of the next line handed back */
    bool held;            /* a line read past a failed object waits in hold */
    struct buf hold;      /* owned: that line */
    uint64_t hold_line;
    int pending; /* hl_code (or 0 for the end) met while assembling, returned after */
    struct hl_err pending_err;
    bool done;              /* pending is set */
    uint64_t cut;           /* records cut at max (not counting lines the line reader cut) */
    uint64_t bad_lengths;   /* export values whose length is over journald's limit: damage */
    uint64_t bad_length_at; /* the line of the first of them */
};

/* Sets up a record reader over l, records at most max bytes (0: LINES_DEFAULT_MAX_LINE, as
 * lines_init). Fails with HL_ENOMEM. */
HL_NODISCARD int records_init(struct records *r, struct lines *l, size_t max, struct hl_err *err);

/* Frees the buffers (not the line reader). */
void records_release(struct records *r);

/* Hands out the next record at *ret (valid until the next call) and its first line's number
 * at *ret_line. Returns 1, 0 at the end, HL_PAUSE between records when the source has no data
 * yet (call again), or a negative hl_code after the records before it. */
HL_NODISCARD int records_next(struct records *r, struct strv *ret, uint64_t *ret_line,
                              struct hl_err *err);

#endif
