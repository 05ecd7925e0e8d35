/* Tabular output for `query`, `rules list`, `incidents` and `parse`: aligned text table, CSV
 * (RFC 4180), JSON (NDJSON: one object per line) or JSON as one array ("json-array", the
 * shape `json` had before 0.2). Formats are an enum-indexed table of functions over one
 * struct out_ctx, so adding a format never changes a signature.
 *
 * Log text is untrusted: the table shows it through term_escape_cell() (no control character or
 * escape sequence reaches a terminal); CSV and JSON are always valid UTF-8 with every value
 * kept as exact as the format allows.
 *
 * Memory stays bounded: the table format measures column widths on the first
 * OUT_TABLE_SAMPLE rows only, then streams. */
#ifndef HSMLOG_OUT_H
#define HSMLOG_OUT_H

#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "common.h"

enum out_format {
    OUT_TABLE,
    OUT_CSV,
    OUT_JSON,       /* NDJSON */
    OUT_JSON_ARRAY, /* one JSON array of objects */
    OUT__COUNT
};

#define OUT_TABLE_SAMPLE   1000 /* rows measured before the table starts printing */
#define OUT_TABLE_WIDTH    60   /* widest a column is padded to; longer cells overflow */
#define OUT_TABLE_MIN      8    /* narrowest a column is cut to, to fit a terminal */
#define OUT_TABLE_LAST_MIN 24   /* ... and the last one before any other is cut */

/* The names --format takes, for usage messages. */
#define OUT_FORMAT_NAMES "table, csv, json or json-array"

/* Parses "table", "csv", "json" or "json-array"; returns 0 or -1. */
int out_format_parse(const char *s, enum out_format *ret);

enum out_type {
    OUT_NULL,
    OUT_INT,  /* text holds the decimal digits */
    OUT_REAL, /* text holds the number */
    OUT_TEXT,
};

struct out_cell {
    enum out_type type;
    const char *text; /* borrowed for the call; NULL for OUT_NULL */
    size_t len;
};

/* One output in progress. Invariants: names has ncols entries; sample holds at most
 * OUT_TABLE_SAMPLE buffered rows, each ncols cells, only for OUT_TABLE before it streams. */
struct out_ctx {
    enum out_format fmt;
    FILE *fp; /* borrowed */
    size_t ncols;
    char **names;            /* owned: column names */
    size_t *width;           /* owned: table column widths */
    int columns;             /* table: terminal width to fit rows into, 0 = not a terminal */
    struct buf cell;         /* owned: scratch for one escaped cell */
    struct out_cell *sample; /* owned: buffered table rows (texts owned) */
    size_t sampled;
    uint64_t rows;   /* rows written so far */
    struct buf line; /* owned: scratch for one formatted row */
};

/* Starts an output with these column names. Fails with HL_ENOMEM. */
HL_NODISCARD int out_begin(struct out_ctx *o, enum out_format fmt, FILE *fp, size_t ncols,
                           const char *const *names);

/* Writes (or, for a table's first rows, buffers) one row of ncols cells. Fails with
 * HL_ENOMEM or HL_EIO (write error, such as a closed pipe). */
HL_NODISCARD int out_row(struct out_ctx *o, const struct out_cell *cells);

/* Finishes the output (prints a buffered table, closes a JSON array) and frees o. */
HL_NODISCARD int out_end(struct out_ctx *o);

#endif
