/* Unit tests for out: terminal escaping of untrusted text (controls, ESC, C1, bidi, bad
 * UTF-8, NUL), and the exact bytes of each format written to a real file: NDJSON, the JSON
 * array, CSV quoting of controls and invalid UTF-8, numbers that are not JSON numbers, and a
 * table with control characters in cells and names. */
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

int main(void)
{
    TAP_RUN(escape_makes_text_inert);
    TAP_RUN(json_is_ndjson);
    TAP_RUN(json_array_keeps_the_old_shape);
    TAP_RUN(csv_quotes_controls_and_cleans_utf8);
    TAP_RUN(table_escapes_cells_and_names);
    return tap_done();
}
