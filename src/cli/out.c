/* The output formats. Table cells are escaped so one row stays one line and log text cannot
 * drive the terminal; CSV and JSON keep values exact (made valid UTF-8), except CSV written
 * to a terminal, which is for eyes and is escaped as the table is. */
#include "out.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "json.h"
#include "term.h"
#include "utf8.h"

int out_format_parse(const char *s, enum out_format *ret)
{
    static const char *const names[OUT__COUNT] = { "table", "csv", "json", "json-array" };
    for (int i = 0; i < OUT__COUNT; i++) {
        if (strcmp(s, names[i]) == 0) {
            *ret = (enum out_format)i;
            return 0;
        }
    }
    return -1;
}

static bool digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

/* Returns the index past the run of digits of p[0..n) that starts at i. */
static size_t skip_digits(const char *p, size_t n, size_t i)
{
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++;
    return i;
}

bool out_short_time(const char *p, size_t n, char out[20])
{
    /* "YYYY-MM-DD HH:MM:SS", then a fraction (".ffffff", any digits) or none, then "Z" or
     * nothing: SQLite's form that hsmlog stores, and the RFC 3339 form with 'T' and 'Z' of
     * older databases. */
    if (n < 19 || !digits(p, 4) || p[4] != '-' || !digits(p + 5, 2) || p[7] != '-' ||
        !digits(p + 8, 2) || (p[10] != 'T' && p[10] != ' ') || !digits(p + 11, 2) || p[13] != ':' ||
        !digits(p + 14, 2) || p[16] != ':' || !digits(p + 17, 2))
        return false;
    size_t i = 19;
    if (i < n && p[i] == '.') {
        size_t d = ++i;
        i = skip_digits(p, n, i);
        if (i == d)
            return false;
    }
    if (i < n && p[i] == 'Z')
        i++;
    if (i != n)
        return false;
    memcpy(out, p, 19);
    out[10] = ' ';
    out[19] = '\0';
    return true;
}

/* Skips n characters of p as SQLite's substr() counts them (its SQLITE_SKIP_UTF8: a byte from
 * 0xc0 up and the continuation bytes after it are one), stopping at the end. */
static const char *skip_chars(const char *p, size_t n)
{
    for (; n && *p; n--)
        if ((unsigned char)*p++ >= 0xc0)
            while (((unsigned char)*p & 0xc0) == 0x80)
                p++;
    return p;
}

int out_add_second(struct buf *b, const char *ts)
{
    /* substr(ts, 1, 10) || ' ' || substr(ts, 12, 8), so that text built here is the text
     * SQL built from the same stored time, whatever the column holds. */
    const char *date_end = skip_chars(ts, 10);
    const char *time = skip_chars(date_end, 1);
    const char *time_end = skip_chars(time, 8);
    if (buf_add(b, ts, (size_t)(date_end - ts)) < 0 || buf_addc(b, ' ') < 0 ||
        buf_add(b, time, (size_t)(time_end - time)) < 0)
        return HL_ENOMEM;
    return 0;
}

/* Display width of escaped text: UTF-8 sequences count as one column. */
static size_t text_width(const char *p, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)p[i] & 0xC0) != 0x80;
    return w;
}

/* Byte length of the first `cols` columns of escaped text. */
static size_t text_prefix(const char *p, size_t n, size_t cols)
{
    size_t i = 0;
    for (size_t w = 0; i < n; i++) {
        if (((unsigned char)p[i] & 0xC0) != 0x80 && w++ == cols)
            break;
    }
    return i;
}

/* Escapes a cell into o->cell as the table shows it; NULL shows as nothing. */
static int table_escape(struct out_ctx *o, size_t col, const struct out_cell *c)
{
    buf_reset(&o->cell);
    if (c->type == OUT_NULL)
        return 0;
    char ts[20];
    if (o->cols[col].kind == OUT_COL_TIME && c->type == OUT_TEXT &&
        out_short_time(c->text, c->len, ts))
        return buf_add(&o->cell, ts, 19);
    return term_escape_cell(&o->cell, c->text, c->len);
}

/* Adds an escaped cell to the row: cut to width on a terminal, else whole even when wider;
 * padded to width and followed by the gap unless it is the last column shown. */
static int table_put_cell(struct out_ctx *o, const char *text, size_t len, size_t width, bool last)
{
    struct buf *b = &o->line;
    size_t w = text_width(text, len);
    int r;
    if (o->columns && w > width) {
        size_t keep = width ? width - 1 : 0;
        r = buf_add(b, text, text_prefix(text, len, keep));
        if (r == 0 && width)
            r = buf_adds(b, "\xE2\x80\xA6"); /* ... */
        w = width;
    } else {
        r = buf_add(b, text, len);
    }
    for (size_t i = w; r == 0 && !last && i < width + OUT_TABLE_GAP; i++)
        r = buf_addc(b, ' ');
    /* A cell wider than its column (off a terminal, or a streamed row past the sample) still
     * leaves the gap, so it never runs into the next cell. */
    for (size_t i = 0; r == 0 && !last && w > width && i < OUT_TABLE_GAP; i++)
        r = buf_addc(b, ' ');
    return r;
}

/* The last column that is printed, or ncols when every column is hidden. */
static size_t last_shown(const struct out_ctx *o)
{
    for (size_t i = o->ncols; i-- > 0;)
        if (!o->tcol[i].hidden)
            return i;
    return o->ncols;
}

/* Ends the row in o->line and writes it. Trailing spaces of a short last-but-one column are
 * noise. */
static int table_end_line(struct out_ctx *o)
{
    while (o->line.len && o->line.data[o->line.len - 1] == ' ')
        o->line.len--;
    int r = buf_addc(&o->line, '\n');
    if (r == 0 && fwrite(o->line.data, 1, o->line.len, o->fp) != o->line.len)
        r = HL_EIO;
    return r;
}

/* Prints one row of escaped texts (NUL-terminated strings). */
static int table_print_texts(struct out_ctx *o, char *const *texts)
{
    buf_reset(&o->line);
    size_t last = last_shown(o);
    int r = 0;
    for (size_t i = 0; r == 0 && i < o->ncols; i++) {
        if (o->tcol[i].hidden)
            continue;
        r = table_put_cell(o, texts[i] ? texts[i] : "", texts[i] ? strlen(texts[i]) : 0,
                           o->tcol[i].width, i == last);
    }
    return r ? r : table_end_line(o);
}

/* A streamed row: each cell escaped in turn straight into the line. */
static int table_print_row(struct out_ctx *o, const struct out_cell *cells)
{
    buf_reset(&o->line);
    size_t last = last_shown(o);
    int r = 0;
    for (size_t i = 0; r == 0 && i < o->ncols; i++) {
        if (o->tcol[i].hidden)
            continue;
        if ((r = table_escape(o, i, &cells[i])) == 0)
            r = table_put_cell(o, buf_cstr(&o->cell), o->cell.len, o->tcol[i].width, i == last);
    }
    return r ? r : table_end_line(o);
}

static void free_sample(struct out_ctx *o)
{
    for (size_t i = 0; o->sample && i < o->sampled * o->ncols; i++)
        free((char *)o->sample[i].text);
    free(o->sample);
    o->sample = NULL;
    o->sampled = 0;
}

static size_t row_width(const struct out_ctx *o)
{
    size_t total = 0, shown = 0;
    for (size_t i = 0; i < o->ncols; i++) {
        if (!o->tcol[i].hidden) {
            total += o->tcol[i].width;
            shown++;
        }
    }
    return total + (shown ? OUT_TABLE_GAP * (shown - 1) : 0);
}

/* Of the columns that may give way and have not been handled (done[]), the one to give way
 * next: the highest cut, the rightmost of equals; ncols when none is left. */
static size_t next_to_give(const struct out_ctx *o, const bool *done)
{
    size_t best = o->ncols;
    for (size_t i = 0; i < o->ncols; i++) {
        if (done[i] || o->cols[i].cut == OUT_KEEP)
            continue;
        if (best == o->ncols || o->cols[i].cut >= o->cols[best].cut)
            best = i;
    }
    return best;
}

/* On a terminal, makes a row fit in o->columns as out.h describes: narrow, then hide, then
 * give the room hidden columns freed back to the most important narrowed ones. */
static int table_fit(struct out_ctx *o)
{
    size_t avail = (size_t)o->columns, total = row_width(o);
    if (total <= avail)
        return 0;
    bool *done = calloc(o->ncols, sizeof(*done));
    if (!done)
        return HL_ENOMEM;
    for (size_t i; total > avail && (i = next_to_give(o, done)) < o->ncols;) {
        struct out_tcol *t = &o->tcol[i];
        size_t min = HL_MAX(o->cols[i].min ? o->cols[i].min : OUT_TABLE_MIN, 1);
        done[i] = true;
        /* A cut number is a wrong number, and a cut time no time. */
        if (t->numeric || o->cols[i].kind == OUT_COL_TIME || t->width <= min)
            continue;
        size_t cut = HL_MIN(t->width - min, total - avail);
        t->width -= cut;
        total -= cut;
    }
    memset(done, 0, o->ncols * sizeof(*done));
    for (size_t i; total > avail && (i = next_to_give(o, done)) < o->ncols;) {
        done[i] = true;
        o->tcol[i].hidden = true;
        total = row_width(o);
    }
    /* Room left over (a hidden column freed more than was missing) goes back to the cut
     * columns still shown, the most important first. */
    while (total < avail) {
        size_t best = o->ncols;
        for (size_t i = 0; i < o->ncols; i++) {
            const struct out_tcol *t = &o->tcol[i];
            if (t->hidden || t->width >= t->full)
                continue;
            if (best == o->ncols || o->cols[i].cut < o->cols[best].cut)
                best = i;
        }
        if (best == o->ncols)
            break;
        size_t add = HL_MIN(avail - total, o->tcol[best].full - o->tcol[best].width);
        o->tcol[best].width += add;
        total += add;
    }
    free(done);
    return 0;
}

/* Prints the header, the rule line and the buffered rows; later rows stream. */
static int table_flush_sample(struct out_ctx *o)
{
    char **texts = calloc(o->ncols, sizeof(*texts));
    int r = texts ? 0 : HL_ENOMEM;
    for (size_t i = 0; r == 0 && i < o->ncols; i++) {
        buf_reset(&o->cell);
        r = term_escape_cell(&o->cell, o->cols[i].name, strlen(o->cols[i].name));
        if (r == 0 && !(texts[i] = strdup(buf_cstr(&o->cell))))
            r = HL_ENOMEM;
        size_t w = text_width(buf_cstr(&o->cell), o->cell.len);
        if (r == 0 && w > o->tcol[i].width)
            o->tcol[i].width = w;
        o->tcol[i].full = o->tcol[i].width;
    }
    if (r == 0 && o->columns)
        r = table_fit(o);
    if (r == 0)
        r = table_print_texts(o, texts);
    for (size_t i = 0; texts && i < o->ncols; i++)
        free(texts[i]);
    buf_reset(&o->line);
    size_t last = last_shown(o);
    for (size_t i = 0; r == 0 && i < o->ncols; i++) {
        if (o->tcol[i].hidden)
            continue;
        size_t w = i == last ? HL_MAX(o->tcol[i].width, 1) : o->tcol[i].width;
        for (size_t k = 0; r == 0 && k < w; k++)
            r = buf_addc(&o->line, '-');
        for (size_t k = 0; r == 0 && i != last && k < OUT_TABLE_GAP; k++)
            r = buf_addc(&o->line, ' ');
    }
    if (r == 0)
        r = table_end_line(o);
    for (size_t k = 0; r == 0 && k < o->sampled; k++) {
        for (size_t i = 0; i < o->ncols; i++)
            texts[i] = (char *)o->sample[k * o->ncols + i].text;
        r = table_print_texts(o, texts);
    }
    free(texts);
    free_sample(o);
    return r;
}

static int table_row(struct out_ctx *o, const struct out_cell *cells)
{
    if (!o->sample)
        return table_print_row(o, cells);
    size_t base = o->sampled * o->ncols;
    for (size_t i = 0; i < o->ncols; i++) {
        int r = table_escape(o, i, &cells[i]);
        char *copy = r == 0 ? strdup(buf_cstr(&o->cell)) : NULL;
        if (!copy) {
            for (size_t k = 0; k < i; k++)
                free((char *)o->sample[base + k].text);
            return r ? r : HL_ENOMEM;
        }
        o->sample[base + i] = (struct out_cell){ OUT_TEXT, copy, o->cell.len };
        o->tcol[i].numeric &= cells[i].type != OUT_TEXT;
        /* Off a terminal, padding stops at OUT_TABLE_WIDTH and longer cells overflow; on
         * one, columns are measured in full and then fitted to the screen. */
        size_t w = text_width(copy, o->cell.len);
        if (!o->columns)
            w = HL_MIN(w, (size_t)OUT_TABLE_WIDTH);
        if (w > o->tcol[i].width)
            o->tcol[i].width = w;
    }
    o->sampled++;
    if (o->sampled == OUT_TABLE_SAMPLE)
        return table_flush_sample(o);
    return 0;
}

static int table_end(struct out_ctx *o)
{
    return o->sample ? table_flush_sample(o) : 0;
}

/* A CSV field per RFC 4180: made valid UTF-8 (NUL and bad bytes become U+FFFD), quoted when
 * it holds a comma, a quote, a line break or any other control character. On a terminal the
 * field is escaped as a table cell is (term_escape_cell()) instead: no control byte reaches
 * the screen, and the escaped text needs quotes only for a comma or a quote. */
static int csv_put(struct out_ctx *o, const struct out_cell *c)
{
    struct buf *b = &o->line;
    if (c->type == OUT_NULL)
        return 0;
    const char *p = c->text;
    size_t n = c->len;
    if (o->terminal || !utf8_is_clean(p, n)) {
        buf_reset(&o->cell);
        int r = o->terminal ? term_escape_cell(&o->cell, p, n) : utf8_sanitize(&o->cell, p, n);
        if (r < 0)
            return r;
        p = buf_cstr(&o->cell);
        n = o->cell.len;
    }
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = p[i] == ',' || p[i] == '"' || (unsigned char)p[i] < 0x20 || p[i] == 0x7f;
    if (!quote)
        return buf_add(b, p, n);
    int r = buf_addc(b, '"');
    for (size_t i = 0; r == 0 && i < n; i++)
        r = p[i] == '"' ? buf_add(b, "\"\"", 2) : buf_addc(b, p[i]);
    return r ? r : buf_addc(b, '"');
}

static int csv_header(struct out_ctx *o);

static int csv_line(struct out_ctx *o, const struct out_cell *cells)
{
    if (!o->started) {
        int r = csv_header(o);
        if (r < 0)
            return r;
    }
    buf_reset(&o->line);
    int r = 0;
    for (size_t i = 0; r == 0 && i < o->ncols; i++) {
        if (i)
            r = buf_addc(&o->line, ',');
        if (r == 0)
            r = csv_put(o, &cells[i]);
    }
    if (r == 0)
        r = buf_add(&o->line, "\r\n", 2); /* RFC 4180 line ending */
    if (r == 0 && fwrite(o->line.data, 1, o->line.len, o->fp) != o->line.len)
        r = HL_EIO;
    return r;
}

/* The header line, written with the first row (or at the end): o->terminal is final then. */
static int csv_header(struct out_ctx *o)
{
    o->started = true;
    struct out_cell *head = calloc(o->ncols, sizeof(*head));
    if (!head)
        return HL_ENOMEM;
    for (size_t i = 0; i < o->ncols; i++)
        head[i] = (struct out_cell){ OUT_TEXT, o->cols[i].name, strlen(o->cols[i].name) };
    int r = csv_line(o, head);
    free(head);
    return r;
}

static int csv_end(struct out_ctx *o)
{
    return o->started ? 0 : csv_header(o);
}

/* True when text is a JSON number (RFC 8259 section 6); SQLite prints Inf for overflowed reals. */
static bool json_number(const char *p, size_t n)
{
    size_t i = 0;
    if (i < n && p[i] == '-')
        i++;
    if (i == n || p[i] < '0' || p[i] > '9')
        return false;
    if (p[i] == '0')
        i++;
    else
        i = skip_digits(p, n, i);
    if (i < n && p[i] == '.') {
        size_t d = ++i;
        i = skip_digits(p, n, i);
        if (i == d)
            return false;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        size_t d = i;
        i = skip_digits(p, n, i);
        if (i == d)
            return false;
    }
    return i == n;
}

/* One object {"name":value,...} into o->line. */
static int json_object(struct out_ctx *o, const struct out_cell *cells)
{
    int r = buf_addc(&o->line, '{');
    for (size_t i = 0; r == 0 && i < o->ncols; i++) {
        if (i)
            r = buf_addc(&o->line, ',');
        if (r == 0)
            r = json_put_string(&o->line, o->cols[i].name, strlen(o->cols[i].name));
        if (r == 0)
            r = buf_addc(&o->line, ':');
        if (r)
            break;
        const struct out_cell *c = &cells[i];
        if (c->type == OUT_NULL)
            r = buf_adds(&o->line, "null");
        else if (c->type == OUT_TEXT) {
            r = o->cols[i].kind == OUT_COL_JSON ? json_put_value(&o->line, c->text, c->len)
                                                : HL_EFORMAT;
            if (r == HL_EFORMAT) /* text, or a JSON column's cell that is not JSON after all */
                r = json_put_string(&o->line, c->text, c->len);
        } else if (json_number(c->text, c->len))
            r = buf_add(&o->line, c->text, c->len);
        else /* Inf, -Inf: no JSON number says that; keep the text */
            r = json_put_string(&o->line, c->text, c->len);
    }
    return r ? r : buf_addc(&o->line, '}');
}

static int write_line(struct out_ctx *o)
{
    return fwrite(o->line.data, 1, o->line.len, o->fp) == o->line.len ? 0 : HL_EIO;
}

/* NDJSON: one object per line, nothing around them. */
static int ndjson_row(struct out_ctx *o, const struct out_cell *cells)
{
    buf_reset(&o->line);
    int r = json_object(o, cells);
    if (r == 0)
        r = buf_addc(&o->line, '\n');
    return r ? r : write_line(o);
}

static int json_array_row(struct out_ctx *o, const struct out_cell *cells)
{
    buf_reset(&o->line);
    int r = buf_adds(&o->line, o->rows ? ",\n" : "\n");
    if (r == 0)
        r = json_object(o, cells);
    return r ? r : write_line(o);
}

static int json_array_begin(struct out_ctx *o)
{
    return fputc('[', o->fp) == EOF ? HL_EIO : 0;
}

static int json_array_end(struct out_ctx *o)
{
    return fputs("\n]\n", o->fp) == EOF ? HL_EIO : 0;
}

static int table_begin(struct out_ctx *o)
{
    o->sample = calloc((size_t)OUT_TABLE_SAMPLE * o->ncols, sizeof(*o->sample));
    return o->sample ? 0 : HL_ENOMEM;
}

static int nothing(struct out_ctx *o)
{
    (void)o;
    return 0;
}

static const struct out_ops {
    int (*begin)(struct out_ctx *o);
    int (*row)(struct out_ctx *o, const struct out_cell *cells);
    int (*end)(struct out_ctx *o);
} out_ops[OUT__COUNT] = {
    [OUT_TABLE] = { table_begin, table_row, table_end },
    [OUT_CSV] = { nothing, csv_line, csv_end },
    [OUT_JSON] = { nothing, ndjson_row, nothing },
    [OUT_JSON_ARRAY] = { json_array_begin, json_array_row, json_array_end },
};

static void out_free(struct out_ctx *o)
{
    free_sample(o);
    for (size_t i = 0; o->cols && i < o->ncols; i++)
        free((char *)o->cols[i].name);
    free(o->cols);
    free(o->tcol);
    buf_release(&o->line);
    buf_release(&o->cell);
    o->cols = NULL;
    o->tcol = NULL;
}

int out_begin_columns(struct out_ctx *o, enum out_format fmt, FILE *fp, size_t ncols,
                      const struct out_column *cols)
{
    memset(o, 0, sizeof(*o));
    o->fmt = fmt;
    o->fp = fp;
    o->ncols = ncols;
    buf_init(&o->line, 0);
    buf_init(&o->cell, 0);
    o->cols = calloc(ncols ? ncols : 1, sizeof(*o->cols));
    o->tcol = calloc(ncols ? ncols : 1, sizeof(*o->tcol));
    if (!o->cols || !o->tcol) {
        out_free(o);
        return HL_ENOMEM;
    }
    for (size_t i = 0; i < ncols; i++) {
        o->cols[i] = cols[i];
        o->cols[i].name = strdup(cols[i].name ? cols[i].name : "");
        o->tcol[i].numeric = true;
        if (!o->cols[i].name) {
            out_free(o);
            return HL_ENOMEM;
        }
    }
    o->terminal = isatty(fileno(fp)) == 1;
    if (fmt == OUT_TABLE)
        o->columns = term_width(fileno(fp));
    int r = out_ops[fmt].begin(o);
    if (r < 0)
        out_free(o);
    return r;
}

int out_begin(struct out_ctx *o, enum out_format fmt, FILE *fp, size_t ncols,
              const char *const *names)
{
    struct out_column *cols = calloc(ncols ? ncols : 1, sizeof(*cols));
    if (!cols)
        return HL_ENOMEM;
    for (size_t i = 0; i < ncols; i++)
        cols[i] = (struct out_column){ .name = names[i], .cut = (unsigned)i + 1 };
    int r = out_begin_columns(o, fmt, fp, ncols, cols);
    free(cols);
    return r;
}

int out_row(struct out_ctx *o, const struct out_cell *cells)
{
    int r = out_ops[o->fmt].row(o, cells);
    if (r == 0)
        o->rows++;
    return r;
}

int out_end(struct out_ctx *o)
{
    int r = out_ops[o->fmt].end(o);
    out_free(o);
    return r;
}
