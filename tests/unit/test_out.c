/* Unit tests for out: terminal escaping of untrusted text (controls, ESC, C1, bidi, bad
 * UTF-8, NUL), and the exact bytes of each format written to a real file: NDJSON, the JSON
 * array, CSV quoting of controls and invalid UTF-8, numbers that are not JSON numbers, a
 * table with control characters in cells and names; the separator after an overflowing cell,
 * times to the second, fitting a terminal by column priority, JSON columns embedded as JSON,
 * and CSV escaped on a terminal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "out.h"
#include "term.h"
#include "tap.h"

static const char *escaped(struct buf *b, const char *s, size_t n)
{
    buf_reset(b);
    return term_escape_cell(b, s, n) == 0 ? buf_cstr(b) : "(failed)";
}

#define ESC(lit) escaped(&b, lit, sizeof(lit) - 1)

static void escape_makes_text_inert(void)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_STR(ESC("plain text, é and € stay"), "plain text, é and € stay");
    CHECK_STR(ESC("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
    CHECK_STR(ESC("\x1b]0;title\x07"), "\\x1b]0;title\\x07");
    CHECK_STR(ESC("a\tb\nc\rd\x7f"), "a\\x09b\\x0ac\\x0dd\\x7f");
    CHECK_STR(ESC("nul\0byte"), "nul\\x00byte");
    CHECK_STR(ESC("bad\xff\xfe"), "bad\\xff\\xfe");
    CHECK_STR(ESC("csi\xC2\x9B"
                  "2J"),
              "csi\\xc2\\x9b2J"); /* C1 CSI */
    CHECK_STR(ESC("\xE2\x80\xAE"
                  "evil\xE2\x81\xA6"),
              "\\xe2\\x80\\xaeevil\\xe2\\x81\\xa6");
    CHECK_STR(ESC("\xE2\x80\xA6 ellipsis stays"), "\xE2\x80\xA6 ellipsis stays");
    CHECK_STR(ESC("back\\slash"), "back\\slash");
    buf_release(&b);
}

/* Writes two rows with names through fmt into a temporary file and returns its bytes. */
static char *render(enum out_format fmt, const char *const *names, const struct out_cell *rows,
                    size_t nrows)
{
    FILE *fp = tmpfile();
    if (!fp)
        return NULL;
    struct out_ctx o;
    int r = out_begin(&o, fmt, fp, 3, names);
    for (size_t i = 0; r == 0 && i < nrows; i++)
        r = out_row(&o, rows + 3 * i);
    if (r == 0)
        r = out_end(&o);
    long n = ftell(fp);
    char *text = r == 0 && n >= 0 ? calloc(1, (size_t)n + 1) : NULL;
    rewind(fp);
    if (text && fread(text, 1, (size_t)n, fp) != (size_t)n) {
        free(text);
        text = NULL;
    }
    fclose(fp);
    return text;
}

static const char *const names[] = { "n", "x", "text" };
static const struct out_cell rows[] = {
    { OUT_INT, "1", 1 },
    { OUT_REAL, "1.5", 3 },
    { OUT_TEXT, "a,\"b\"", 5 },
    { OUT_INT, "2", 1 },
    { OUT_REAL, "Inf", 3 }, /* SQLite's text for an overflowed real */
    { OUT_TEXT, "esc\x1b[1m tab\t nul\0 bad\xff", 22 },
    { OUT_NULL, NULL, 0 },
    { OUT_NULL, NULL, 0 },
    { OUT_TEXT, "", 0 },
};

static void json_is_ndjson(void)
{
    char *t = render(OUT_JSON, names, rows, 3);
    CHECK_STR(t, "{\"n\":1,\"x\":1.5,\"text\":\"a,\\\"b\\\"\"}\n"
                 "{\"n\":2,\"x\":\"Inf\",\"text\":\"esc\\u001b[1m tab\\t nul\\ufffd bad\\ufffd\"}\n"
                 "{\"n\":null,\"x\":null,\"text\":\"\"}\n");
    free(t);
    t = render(OUT_JSON, names, rows, 0);
    CHECK_STR(t, ""); /* no rows, no output */
    free(t);
}

static void json_array_keeps_the_old_shape(void)
{
    char *t = render(OUT_JSON_ARRAY, names, rows, 2);
    CHECK_STR(
            t,
            "[\n{\"n\":1,\"x\":1.5,\"text\":\"a,\\\"b\\\"\"},\n"
            "{\"n\":2,\"x\":\"Inf\",\"text\":\"esc\\u001b[1m tab\\t nul\\ufffd bad\\ufffd\"}\n]\n");
    free(t);
    t = render(OUT_JSON_ARRAY, names, rows, 0);
    CHECK_STR(t, "[\n]\n");
    free(t);
}

static void csv_quotes_controls_and_cleans_utf8(void)
{
    char *t = render(OUT_CSV, names, rows, 3);
    CHECK_STR(t, "n,x,text\r\n"
                 "1,1.5,\"a,\"\"b\"\"\"\r\n"
                 "2,Inf,\"esc\x1b[1m tab\t nul\xEF\xBF\xBD bad\xEF\xBF\xBD\"\r\n"
                 ",,\r\n");
    free(t);
}

static void table_escapes_cells_and_names(void)
{
    static const char *const odd[] = { "n", "x\ty", "text" };
    char *t = render(OUT_TABLE, odd, rows, 2); /* a file: not a terminal, nothing cut */
    CHECK_STR(t, "n  x\\x09y  text\n"
                 "-  ------  ----------------------------------\n"
                 "1  1.5     a,\"b\"\n"
                 "2  Inf     esc\\x1b[1m tab\\x09 nul\\x00 bad\\xff\n");
    free(t);
}

/* Writes rows through fmt with these columns, as if fp were a terminal `columns` wide (0: a
 * file), and returns the bytes. */
static char *render_cols(enum out_format fmt, const struct out_column *cols, size_t ncols,
                         const struct out_cell *cells, size_t nrows, int columns)
{
    FILE *fp = tmpfile();
    if (!fp)
        return NULL;
    struct out_ctx o;
    int r = out_begin_columns(&o, fmt, fp, ncols, cols);
    if (r == 0) {
        o.columns = fmt == OUT_TABLE ? columns : 0;
        o.terminal = columns > 0;
    }
    for (size_t i = 0; r == 0 && i < nrows; i++)
        r = out_row(&o, cells + ncols * i);
    if (r == 0)
        r = out_end(&o);
    long n = ftell(fp);
    char *text = r == 0 && n >= 0 ? calloc(1, (size_t)n + 1) : NULL;
    rewind(fp);
    if (text && fread(text, 1, (size_t)n, fp) != (size_t)n) {
        free(text);
        text = NULL;
    }
    fclose(fp);
    return text;
}

#define T(s)                       \
    {                              \
        OUT_TEXT, s, sizeof(s) - 1 \
    }

static void table_overflow_keeps_the_separator(void)
{
    /* Off a terminal a column is padded to OUT_TABLE_WIDTH at most; a longer cell overflows,
     * and the next cell still starts two spaces after it. */
    static const struct out_column cols[] = { { "message", OUT_COL_TEXT, 1, 0 },
                                              { "rule_id", OUT_COL_TEXT, 2, 0 } };
    static const struct out_cell cells[] = {
        T("0123456789012345678901234567890123456789012345678901234567890123456789"),
        T("a.b"),
        T("short"),
        T("c.d"),
    };
    char *t = render_cols(OUT_TABLE, cols, 2, cells, 2, 0);
    CHECK_STR(t, "message                                                       rule_id\n"
                 "------------------------------------------------------------  -------\n"
                 "0123456789012345678901234567890123456789012345678901234567890123456789  a.b\n"
                 "short                                                         c.d\n");
    free(t);
}

static const struct out_column inc_cols[] = {
    { "id", OUT_COL_TEXT, OUT_KEEP, 0 }, { "rule", OUT_COL_TEXT, OUT_KEEP, 0 },
    { "host", OUT_COL_TEXT, 2, 0 },      { "ts", OUT_COL_TIME, OUT_KEEP, 0 },
    { "last_ts", OUT_COL_TIME, 5, 0 },   { "count", OUT_COL_TEXT, 4, 0 },
    { "summary", OUT_COL_TEXT, 3, 24 },
};
static const struct out_cell inc_rows[] = {
    { OUT_INT, "7", 1 },
    T("ntls.unknown-ca"),
    T("hsm-a1.example"),
    T("2026-11-28T13:10:12.000000Z"),
    T("2026-11-28 13:12:00.500000Z"),
    { OUT_INT, "12345", 5 },
    T("12 client connection(s) to hsm-a1 refused the HSM's server certificate"),
};

static void table_shows_times_to_the_second(void)
{
    /* Either stored form; a time column's cell that is no stored time is shown as it is. */
    static const struct out_cell odd[] = {
        { OUT_INT, "8", 1 },
        T("r"),
        { OUT_NULL, NULL, 0 },
        T("2026-11-28T13:10:12Z"),
        T("2026-11-28 13:10:12.Z"),
        T("1"),
        T("s"),
    };
    char *t = render_cols(OUT_TABLE, inc_cols, 7, odd, 1, 0);
    CHECK_STR(t, "id  rule  host  ts                   last_ts                count  summary\n"
                 "--  ----  ----  -------------------  ---------------------  -----  -------\n"
                 "8   r           2026-11-28 13:10:12  2026-11-28 13:10:12.Z  1      s\n");
    free(t);
    /* CSV and JSON keep the stored text. */
    t = render_cols(OUT_CSV, inc_cols, 7, inc_rows, 1, 0);
    CHECK(t && strstr(t, ",2026-11-28T13:10:12.000000Z,2026-11-28 13:12:00.500000Z,"));
    free(t);
    char ts[20];
    CHECK(out_short_time("2026-11-28 13:10:12.000000Z", 27, ts));
    CHECK_STR(ts, "2026-11-28 13:10:12");
    CHECK(out_short_time("2026-11-28 13:10:12.774512", 26, ts));
    CHECK_STR(ts, "2026-11-28 13:10:12");
    CHECK(out_short_time("2026-11-28 13:10:12", 19, ts));
    CHECK(!out_short_time("2026-11-28 13:10:12.", 20, ts));
    CHECK(!out_short_time("2026-11-28 13:10:12+01:00", 25, ts));
    CHECK(!out_short_time("2026-11-28X13:10:12Z", 20, ts));
    CHECK(!out_short_time("2026-11-28T13:10", 16, ts));
}

static void table_fits_a_terminal_by_priority(void)
{
    /* A file: nothing cut, the summary padded to OUT_TABLE_WIDTH. */
    char *t = render_cols(OUT_TABLE, inc_cols, 7, inc_rows, 1, 0);
    CHECK_STR(t, "id  rule             host            ts                   last_ts              "
                 "count  summary\n"
                 "--  ---------------  --------------  -------------------  -------------------  "
                 "-----  ------------------------------------------------------------\n"
                 "7   ntls.unknown-ca  hsm-a1.example  2026-11-28 13:10:12  2026-11-28 13:12:00  "
                 "12345  12 client connection(s) to hsm-a1 refused the HSM's server certificate\n");
    free(t);
    /* 120: the summary (cut 3) narrows; times and the number never do. */
    t = render_cols(OUT_TABLE, inc_cols, 7, inc_rows, 1, 120);
    CHECK_STR(t, "id  rule             host            ts                   last_ts              "
                 "count  summary\n"
                 "--  ---------------  --------------  -------------------  -------------------  "
                 "-----  ----------------------------------\n"
                 "7   ntls.unknown-ca  hsm-a1.example  2026-11-28 13:10:12  2026-11-28 13:12:00  "
                 "12345  12 client connection(s) to hsm-a1\xE2\x80\xA6\n");
    free(t);
    /* 80: the summary down to its 24 and the host to 8 are not enough: last_ts (cut 5) and
     * count (4) hide, and the room left goes back to the host, more important (2). */
    t = render_cols(OUT_TABLE, inc_cols, 7, inc_rows, 1, 80);
    CHECK_STR(t,
              "id  rule             host          ts                   summary\n"
              "--  ---------------  ------------  -------------------  ------------------------\n"
              "7   ntls.unknown-ca  hsm-a1.exam\xE2\x80\xA6  2026-11-28 13:10:12  12 client "
              "connection(s)\xE2\x80\xA6\n");
    free(t);
    /* 50: the summary hides too; the host stays, cut to 8. */
    t = render_cols(OUT_TABLE, inc_cols, 7, inc_rows, 1, 50);
    CHECK_STR(t, "id  rule             host      ts\n"
                 "--  ---------------  --------  -------------------\n"
                 "7   ntls.unknown-ca  hsm-a1.\xE2\x80\xA6  2026-11-28 13:10:12\n");
    free(t);
    /* 20: what is kept is kept, and the row wraps. */
    t = render_cols(OUT_TABLE, inc_cols, 7, inc_rows, 1, 20);
    CHECK_STR(t, "id  rule             ts\n"
                 "--  ---------------  -------------------\n"
                 "7   ntls.unknown-ca  2026-11-28 13:10:12\n");
    free(t);
}

static void json_embeds_json_columns(void)
{
    static const struct out_column cols[] = { { "fields", OUT_COL_JSON, 1, 0 },
                                              { "key", OUT_COL_JSON, 2, 0 },
                                              { "text", OUT_COL_TEXT, 3, 0 } };
    static const struct out_cell cells[] = {
        T("{\"client_ip\":\"10.1.2.3\",\"n\":2}"),
        T("[\"hsm-a1\",\"\xE2\x80\xAE\"]"),
        T("{}"),
        T("not json"),
        { OUT_NULL, NULL, 0 },
        T("[1]"),
    };
    char *t = render_cols(OUT_JSON, cols, 3, cells, 2, 0);
    CHECK_STR(t,
              "{\"fields\":{\"client_ip\":\"10.1.2.3\",\"n\":2},\"key\":[\"hsm-a1\",\"\\u202e\"],"
              "\"text\":\"{}\"}\n"
              "{\"fields\":\"not json\",\"key\":null,\"text\":\"[1]\"}\n");
    free(t);
    t = render_cols(OUT_JSON_ARRAY, cols, 3, cells, 1, 0);
    CHECK_STR(
            t,
            "[\n{\"fields\":{\"client_ip\":\"10.1.2.3\",\"n\":2},\"key\":[\"hsm-a1\",\"\\u202e\"],"
            "\"text\":\"{}\"}\n]\n");
    free(t);
}

static void csv_on_a_terminal_is_escaped(void)
{
    static const struct out_column cols[] = { { "a", OUT_COL_TEXT, 1, 0 },
                                              { "b\x1b", OUT_COL_TEXT, 2, 0 } };
    static const struct out_cell cells[] = {
        T("esc\x1b[2J, tab\t nl\n"),
        T("bidi\xE2\x80\xAE bad\xff \"q\""),
    };
    char *t = render_cols(OUT_CSV, cols, 2, cells, 1, 80);
    CHECK_STR(t,
              "a,b\\x1b\r\n"
              "\"esc\\x1b[2J, tab\\x09 nl\\x0a\",\"bidi\\xe2\\x80\\xae bad\\xff \"\"q\"\"\"\r\n");
    free(t);
    /* Into a file the same row is data: raw bytes, quoted (invalid UTF-8 made U+FFFD). */
    t = render_cols(OUT_CSV, cols, 2, cells, 1, 0);
    CHECK_STR(t, "a,\"b\x1b\"\r\n"
                 "\"esc\x1b[2J, tab\t nl\n\",\"bidi\xE2\x80\xAE bad\xEF\xBF\xBD \"\"q\"\"\"\r\n");
    free(t);
}

int main(void)
{
    TAP_RUN(escape_makes_text_inert);
    TAP_RUN(json_is_ndjson);
    TAP_RUN(json_array_keeps_the_old_shape);
    TAP_RUN(csv_quotes_controls_and_cleans_utf8);
    TAP_RUN(table_escapes_cells_and_names);
    TAP_RUN(table_overflow_keeps_the_separator);
    TAP_RUN(table_shows_times_to_the_second);
    TAP_RUN(table_fits_a_terminal_by_priority);
    TAP_RUN(json_embeds_json_columns);
    TAP_RUN(csv_on_a_terminal_is_escaped);
    return tap_done();
}
