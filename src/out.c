/* The three output formats. Table cells show control characters as spaces so one row stays
 * one line; CSV and JSON keep values exact (JSON strings are made valid UTF-8). */
#include "out.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "utf8.h"

int out_format_parse(const char *s, enum out_format *ret)
{
    static const char *const names[OUT__COUNT] = { "table", "csv", "json" };
    for (int i = 0; i < OUT__COUNT; i++) {
        if (strcmp(s, names[i]) == 0) {
            *ret = (enum out_format)i;
            return 0;
        }
    }
    return -1;
}

/* Display width of a cell in the table: UTF-8 sequences count as one column. */
static size_t cell_width(const struct out_cell *c)
{
    if (c->type == OUT_NULL)
        return 0;
    size_t w = 0;
    for (size_t i = 0; i < c->len; i++)
        w += ((unsigned char)c->text[i] & 0xC0) != 0x80;
    return w;
}

static int table_put_cell(struct out_ctx *o, const struct out_cell *c, size_t width, bool last)
{
    struct buf *b = &o->line;
    size_t start = b->len;
    int r = 0;
    if (c->type != OUT_NULL)
        r = utf8_sanitize(b, c->text, c->len);
    for (size_t i = start; r == 0 && i < b->len; i++)
        if ((unsigned char)b->data[i] < 0x20 || b->data[i] == 0x7f)
            b->data[i] = ' ';
    if (r == 0 && !last) {
        size_t w = cell_width(c);
        for (size_t i = w; r == 0 && i < width + 2; i++)
            r = buf_addc(b, ' ');
    }
    return r;
}

static int table_print_row(struct out_ctx *o, const struct out_cell *cells)
{
    buf_reset(&o->line);
    int r = 0;
    for (size_t i = 0; r == 0 && i < o->ncols; i++)
        r = table_put_cell(o, &cells[i], o->width[i], i + 1 == o->ncols);
    /* Trailing spaces of a short last-but-one column are noise. */
    while (r == 0 && o->line.len && o->line.data[o->line.len - 1] == ' ')
        o->line.len--;
    if (r == 0)
        r = buf_addc(&o->line, '\n');
    if (r == 0 && fwrite(o->line.data, 1, o->line.len, o->fp) != o->line.len)
        r = HL_EIO;
    return r;
}

static void free_sample(struct out_ctx *o)
{
    for (size_t i = 0; i < o->sampled * o->ncols; i++)
        free((char *)o->sample[i].text);
    free(o->sample);
    o->sample = NULL;
    o->sampled = 0;
}

/* Prints the header, the rule line and the buffered rows; later rows stream. */
static int table_flush_sample(struct out_ctx *o)
{
    struct out_cell *head = calloc(o->ncols, sizeof(*head));
    if (!head)
        return HL_ENOMEM;
    for (size_t i = 0; i < o->ncols; i++) {
        head[i] = (struct out_cell){ OUT_TEXT, o->names[i], strlen(o->names[i]) };
        size_t w = cell_width(&head[i]);
        if (w > o->width[i])
            o->width[i] = w;
    }
    int r = table_print_row(o, head);
    for (size_t i = 0; r == 0 && i < o->ncols; i++) {
        size_t w = i + 1 == o->ncols ? HL_MAX(o->width[i], 1) : o->width[i];
        for (size_t k = 0; r == 0 && k < w; k++)
            r = fputc('-', o->fp) == EOF ? HL_EIO : 0;
        if (r == 0 && i + 1 < o->ncols)
            r = fputs("  ", o->fp) == EOF ? HL_EIO : 0;
    }
    if (r == 0)
        r = fputc('\n', o->fp) == EOF ? HL_EIO : 0;
    for (size_t k = 0; r == 0 && k < o->sampled; k++)
        r = table_print_row(o, &o->sample[k * o->ncols]);
    free(head);
    free_sample(o);
    return r;
}

static int table_row(struct out_ctx *o, const struct out_cell *cells)
{
    if (o->rows > OUT_TABLE_SAMPLE || !o->sample)
        return table_print_row(o, cells);
    size_t base = o->sampled * o->ncols;
    for (size_t i = 0; i < o->ncols; i++) {
        struct out_cell c = cells[i];
        if (c.type != OUT_NULL) {
            char *copy = malloc(c.len + 1);
            if (!copy)
                return HL_ENOMEM;
            memcpy(copy, c.text, c.len);
            copy[c.len] = '\0';
            c.text = copy;
        }
        o->sample[base + i] = c;
        size_t w = HL_MIN(cell_width(&c), (size_t)OUT_TABLE_WIDTH);
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

static int csv_put(struct buf *b, const struct out_cell *c)
{
    if (c->type == OUT_NULL)
        return 0;
    bool quote =
            c->type == OUT_TEXT && (memchr(c->text, ',', c->len) || memchr(c->text, '"', c->len) ||
                                    memchr(c->text, '\n', c->len) || memchr(c->text, '\r', c->len));
    if (!quote)
        return buf_add(b, c->text, c->len);
    int r = buf_addc(b, '"');
    for (size_t i = 0; r == 0 && i < c->len; i++)
        r = c->text[i] == '"' ? buf_add(b, "\"\"", 2) : buf_addc(b, c->text[i]);
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
            r = csv_put(&o->line, &cells[i]);
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

static int json_row(struct out_ctx *o, const struct out_cell *cells)
{
    buf_reset(&o->line);
    int r = buf_adds(&o->line, o->rows ? ",\n{" : "\n{");
    for (size_t i = 0; r == 0 && i < o->ncols; i++) {
        if (i)
            r = buf_addc(&o->line, ',');
        if (r == 0)
            r = json_put_string(&o->line, o->names[i], strlen(o->names[i]));
        if (r == 0)
            r = buf_addc(&o->line, ':');
        if (r)
            break;
        switch (cells[i].type) {
        case OUT_NULL:
            r = buf_adds(&o->line, "null");
            break;
        case OUT_INT:
        case OUT_REAL:
            r = buf_add(&o->line, cells[i].text, cells[i].len);
            break;
        case OUT_TEXT:
            r = json_put_string(&o->line, cells[i].text, cells[i].len);
            break;
        }
    }
    if (r == 0)
        r = buf_addc(&o->line, '}');
    if (r == 0 && fwrite(o->line.data, 1, o->line.len, o->fp) != o->line.len)
        r = HL_EIO;
    return r;
}

static int json_begin(struct out_ctx *o)
{
    return fputc('[', o->fp) == EOF ? HL_EIO : 0;
}

static int json_end(struct out_ctx *o)
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
    [OUT_JSON] = { json_begin, json_row, json_end },
};

static void out_free(struct out_ctx *o)
{
    free_sample(o);
    for (size_t i = 0; o->names && i < o->ncols; i++)
        free(o->names[i]);
    free(o->names);
    free(o->width);
    buf_release(&o->line);
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
