/* The output formats. Table cells are escaped so one row stays one line and log text cannot
 * drive the terminal; CSV and JSON keep values exact (made valid UTF-8). */
#include "out.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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

/* Escapes a cell into o->cell; NULL shows as nothing. */
static int table_escape(struct out_ctx *o, const struct out_cell *c)
{
    buf_reset(&o->cell);
    return c->type == OUT_NULL ? 0 : term_escape_cell(&o->cell, c->text, c->len);
}

/* Adds an escaped cell to the row, cut to width on a terminal, padded unless last. */
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
    for (size_t i = w; r == 0 && !last && i < width + 2; i++)
        r = buf_addc(b, ' ');
    return r;
}

/* Prints one row of escaped texts (NUL-terminated strings). */
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

static int table_print_texts(struct out_ctx *o, char *const *texts)
{
    buf_reset(&o->line);
    int r = 0;
    for (size_t i = 0; r == 0 && i < o->ncols; i++)
        r = table_put_cell(o, texts[i] ? texts[i] : "", texts[i] ? strlen(texts[i]) : 0,
                           o->width[i], i + 1 == o->ncols);
    return r ? r : table_end_line(o);
}

/* A streamed row: each cell escaped in turn straight into the line. */
static int table_print_row(struct out_ctx *o, const struct out_cell *cells)
{
    buf_reset(&o->line);
    int r = 0;
    for (size_t i = 0; r == 0 && i < o->ncols; i++) {
        if ((r = table_escape(o, &cells[i])) == 0)
            r = table_put_cell(o, buf_cstr(&o->cell), o->cell.len, o->width[i], i + 1 == o->ncols);
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

/* On a terminal, narrows columns until a row fits in o->columns: first the last column
 * (usually the free text: a message, a summary) down to OUT_TABLE_LAST_MIN, then the widest
 * ones, none below OUT_TABLE_MIN, so a very narrow terminal still wraps. */
static void table_fit(struct out_ctx *o)
{
    size_t total = 2 * (o->ncols - 1);
    for (size_t i = 0; i < o->ncols; i++)
        total += o->width[i];
    size_t *last = &o->width[o->ncols - 1];
    if (total > (size_t)o->columns && *last > OUT_TABLE_LAST_MIN) {
        size_t cut = HL_MIN(total - (size_t)o->columns, *last - OUT_TABLE_LAST_MIN);
        *last -= cut;
        total -= cut;
    }
    while (total > (size_t)o->columns) {
        size_t widest = 0;
        for (size_t i = 1; i < o->ncols; i++)
            if (o->width[i] > o->width[widest])
                widest = i;
        if (o->width[widest] <= OUT_TABLE_MIN)
            break;
        o->width[widest]--;
        total--;
    }
}

/* Prints the header, the rule line and the buffered rows; later rows stream. */
static int table_flush_sample(struct out_ctx *o)
{
    char **texts = calloc(o->ncols, sizeof(*texts));
    int r = texts ? 0 : HL_ENOMEM;
    for (size_t i = 0; r == 0 && i < o->ncols; i++) {
        buf_reset(&o->cell);
        r = term_escape_cell(&o->cell, o->names[i], strlen(o->names[i]));
        if (r == 0 && !(texts[i] = strdup(buf_cstr(&o->cell))))
            r = HL_ENOMEM;
        size_t w = text_width(buf_cstr(&o->cell), o->cell.len);
        if (r == 0 && w > o->width[i])
            o->width[i] = w;
    }
    if (o->columns)
        table_fit(o);
    if (r == 0)
        r = table_print_texts(o, texts);
    for (size_t i = 0; texts && i < o->ncols; i++)
        free(texts[i]);
    for (size_t i = 0; r == 0 && i < o->ncols; i++) {
        size_t w = i + 1 == o->ncols ? HL_MAX(o->width[i], 1) : o->width[i];
        for (size_t k = 0; r == 0 && k < w; k++)
            r = fputc('-', o->fp) == EOF ? HL_EIO : 0;
        if (r == 0 && i + 1 < o->ncols)
            r = fputs("  ", o->fp) == EOF ? HL_EIO : 0;
    }
    if (r == 0)
        r = fputc('\n', o->fp) == EOF ? HL_EIO : 0;
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
        int r = table_escape(o, &cells[i]);
        char *copy = r == 0 ? strdup(buf_cstr(&o->cell)) : NULL;
        if (!copy) {
            for (size_t k = 0; k < i; k++)
                free((char *)o->sample[base + k].text);
            return r ? r : HL_ENOMEM;
        }
        o->sample[base + i] = (struct out_cell){ OUT_TEXT, copy, o->cell.len };
        /* Off a terminal, padding stops at OUT_TABLE_WIDTH and longer cells overflow; on
         * one, columns are measured in full and then fitted to the screen. */
        size_t w = text_width(copy, o->cell.len);
        if (!o->columns)
            w = HL_MIN(w, (size_t)OUT_TABLE_WIDTH);
        if (w > o->width[i])
            o->width[i] = w;
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
 * it holds a comma, a quote, a line break or any other control character. */
static int csv_put(struct out_ctx *o, const struct out_cell *c)
{
    struct buf *b = &o->line;
    if (c->type == OUT_NULL)
        return 0;
    const char *p = c->text;
    size_t n = c->len;
    if (!utf8_is_clean(p, n)) {
        buf_reset(&o->cell);
        int r = utf8_sanitize(&o->cell, p, n);
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

static int csv_line(struct out_ctx *o, const struct out_cell *cells)
{
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

static int csv_begin(struct out_ctx *o)
{
    struct out_cell *head = calloc(o->ncols, sizeof(*head));
    if (!head)
        return HL_ENOMEM;
    for (size_t i = 0; i < o->ncols; i++)
        head[i] = (struct out_cell){ OUT_TEXT, o->names[i], strlen(o->names[i]) };
    int r = csv_line(o, head);
    free(head);
    return r;
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
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
    if (i < n && p[i] == '.') {
        size_t d = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        size_t d = i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
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
            r = json_put_string(&o->line, o->names[i], strlen(o->names[i]));
        if (r == 0)
            r = buf_addc(&o->line, ':');
        if (r)
            break;
        const struct out_cell *c = &cells[i];
        if (c->type == OUT_NULL)
            r = buf_adds(&o->line, "null");
        else if (c->type == OUT_TEXT)
            r = json_put_string(&o->line, c->text, c->len);
        else if (json_number(c->text, c->len))
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
    [OUT_CSV] = { csv_begin, csv_line, nothing },
    [OUT_JSON] = { nothing, ndjson_row, nothing },
    [OUT_JSON_ARRAY] = { json_array_begin, json_array_row, json_array_end },
};

static void out_free(struct out_ctx *o)
{
    free_sample(o);
    for (size_t i = 0; o->names && i < o->ncols; i++)
        free(o->names[i]);
    free(o->names);
    free(o->width);
    buf_release(&o->line);
    buf_release(&o->cell);
    o->names = NULL;
    o->width = NULL;
}

int out_begin(struct out_ctx *o, enum out_format fmt, FILE *fp, size_t ncols,
              const char *const *names)
{
    memset(o, 0, sizeof(*o));
    o->fmt = fmt;
    o->fp = fp;
    o->ncols = ncols;
    buf_init(&o->line, 0);
    buf_init(&o->cell, 0);
    o->names = calloc(ncols ? ncols : 1, sizeof(*o->names));
    o->width = calloc(ncols ? ncols : 1, sizeof(*o->width));
    if (!o->names || !o->width) {
        out_free(o);
        return HL_ENOMEM;
    }
    for (size_t i = 0; i < ncols; i++) {
        o->names[i] = strdup(names[i] ? names[i] : "");
        if (!o->names[i]) {
            out_free(o);
            return HL_ENOMEM;
        }
    }
    if (fmt == OUT_TABLE)
        o->columns = term_width(fileno(fp));
    int r = out_ops[fmt].begin(o);
    if (r < 0)
        out_free(o);
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
