/* Tabular output for `query`, `rules list`, `incidents` and `parse`: aligned text table, CSV
 * (RFC 4180), JSON (NDJSON: one object per line) or JSON as one array ("json-array", the
 * shape `json` had before 0.2). Formats are an enum-indexed table of functions over one
 * struct out_ctx, so adding a format never changes a signature.
 *
 * Log text is untrusted: the table shows it through term_escape_cell() (no control character or
 * escape sequence reaches a terminal), and so does CSV written to a terminal; CSV into a pipe
 * or file and JSON are always valid UTF-8 with every value kept as exact as the format allows
 * (JSON escapes every control character, C1 control and bidi override as \uXXXX).
 *
 * Memory stays bounded: the table format measures column widths on the first
 * OUT_TABLE_SAMPLE rows only, then streams. */
#ifndef HSMLOG_OUT_H
#define HSMLOG_OUT_H

#include <stdbool.h>
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

#define OUT_TABLE_SAMPLE 1000 /* rows measured before the table starts printing */
#define OUT_TABLE_WIDTH                                                              \
    60                  /* widest a column is padded to off a terminal; longer cells \
                           overflow, still followed by the two-space separator */
#define OUT_TABLE_MIN 8 /* narrowest a column is cut to by default (struct out_column) */
#define OUT_TABLE_GAP 2 /* spaces between two columns, always there */

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

/* What a column holds, where a format shows it otherwise than as its text. */
enum out_kind {
    OUT_COL_TEXT, /* shown as it is */
    OUT_COL_TIME, /* a stored time, "2026-11-28 13:10:12" or "2026-11-28 13:10:12.774512" (or
                     an older database's "2026-11-28T13:10:12.000000Z"): a table shows
                     "2026-11-28 13:10:12" (UTC as stored, to the second), CSV and JSON the
                     stored text; a cell that is no such time is shown as it is */
    OUT_COL_JSON, /* JSON text hsmlog stored (findings.fields, incidents.key): json and
                     json-array embed it as a JSON value, not as a string, when it is valid JSON
                     (else as a string); table and CSV show the text */
};

/* Table column priorities. On a terminal narrower than a table's rows (out_ctx.columns), the
 * columns give way in this order until a row fits:
 *   1. narrowed, the highest `cut` first, each down to its `min` (a column of numbers or of
 *      times is never narrowed: a cut number is a wrong number), a cut cell ending in U+2026;
 *   2. hidden, the highest `cut` first; the room a hidden column frees goes back to the
 *      narrowed ones, the lowest `cut` (the most important) first;
 *   3. OUT_KEEP columns are never narrowed nor hidden: when they alone are wider than the
 *      terminal, rows wrap.
 * Into a pipe or a file nothing is cut or hidden. The priorities each command gives:
 *   incidents  id, rule and first_ts kept; give way first: cause, last_ts, count, state,
 *              severity, summary (narrowed to 24 before it is hidden), then host
 *   query      columns holding a time (schema time columns, or named ts or *_ts) and rule ids
 *              (rules.id and every rule_id column, or named rule_id or rule) kept; the others
 *              give way from the right
 *   parse      ts kept; give way first: ckr_hex, luna_ret_hex, ckr, luna_ret, rc, client_port,
 *              client_ip, luna_code, luna_level, severity, facility, pid, format, line, source,
 *              program, host, then message (narrowed to 24 before it is hidden)
 *   rules list id kept; give way first: origin (narrowed to 24), summary (narrowed to 24),
 *              program, enabled, severity
 *   rules path from the right: used, exists, path (narrowed to 24), origin */
#define OUT_KEEP 0u

/* One output column. */
struct out_column {
    const char *name;   /* borrowed for out_begin_columns() */
    enum out_kind kind; /* how formats show its cells */
    unsigned cut;       /* OUT_KEEP, or the order in which it gives way: highest first */
    unsigned min;       /* narrowest it is cut to before it is hidden; 0 for OUT_TABLE_MIN */
};

/* A table column's layout. Invariant: width <= full once fitted. */
struct out_tcol {
    size_t width; /* display columns it takes */
    size_t full;  /* width as measured, before it was fitted to a terminal */
    bool numeric; /* every sampled cell is a number (or NULL) */
    bool hidden;  /* it gave way to fit a terminal: not printed */
};

/* One output in progress. Invariants: cols and tcol have ncols entries; sample holds at most
 * OUT_TABLE_SAMPLE buffered rows, each ncols cells, only for OUT_TABLE before it streams. */
struct out_ctx {
    enum out_format fmt;
    FILE *fp; /* borrowed */
    size_t ncols;
    struct out_column *cols; /* owned, and so are their names */
    struct out_tcol *tcol;   /* owned: table layout */
    int columns;     /* table: terminal width to fit rows into, 0 = not a terminal (out_begin*()
                        sets it from fp; a test may change it before the first row) */
    bool terminal;   /* fp is a terminal: CSV escapes control bytes as the table does (set as
                        columns is) */
    bool started;    /* CSV: the header line is written */
    struct buf cell; /* owned: scratch for one escaped cell */
    struct out_cell *sample; /* owned: buffered table rows (texts owned) */
    size_t sampled;
    uint64_t rows;   /* rows written so far */
    struct buf line; /* owned: scratch for one formatted row */
};

/* Starts an output with these columns (copied). Fails with HL_ENOMEM. */
HL_NODISCARD int out_begin_columns(struct out_ctx *o, enum out_format fmt, FILE *fp, size_t ncols,
                                   const struct out_column *cols);

/* Starts an output with these column names: plain text columns that give way from the right.
 * Fails with HL_ENOMEM. */
HL_NODISCARD int out_begin(struct out_ctx *o, enum out_format fmt, FILE *fp, size_t ncols,
                           const char *const *names);

/* Writes (or, for a table's first rows, buffers) one row of ncols cells. Fails with
 * HL_ENOMEM or HL_EIO (write error, such as a closed pipe). */
HL_NODISCARD int out_row(struct out_ctx *o, const struct out_cell *cells);

/* Finishes the output (prints a buffered table, closes a JSON array) and frees o. */
HL_NODISCARD int out_end(struct out_ctx *o);

/* Writes the table form of a stored time, "2026-11-28 13:10:12", into out and returns true
 * when p[0..n) is one: "2026-11-28 13:10:12" or with 'T' for the space, then a fraction of
 * any digits or none, then 'Z' or nothing. Returns false otherwise. */
bool out_short_time(const char *p, size_t n, char out[20]);

/* Appends the stored time ts to the second, "2026-11-28 14:02:51", to b: its first 10
 * characters, a space, its characters 12 to 19, counted as SQLite's substr() counts them
 * (the form SQL queries build with substr), whatever ts holds. Fails with HL_ENOMEM. */
HL_NODISCARD int out_add_second(struct buf *b, const char *ts);

#endif
