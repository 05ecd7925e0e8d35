/* Multi-line records (journalctl -o json-pretty and -o export) assembled from lines, between
 * the line reader and the parser. The Journal Export Format (systemd
 * docs/JOURNAL_EXPORT_FORMATS.md): "NAME=value" lines, or for a value that is not printable
 * UTF-8 the name alone on its line, a 64-bit little-endian length, the bytes and a newline;
 * an empty line ends the entry. json-pretty (systemd json_format() with JSON_FORMAT_PRETTY):
 * "{" alone, one tab-indented member per line, "}" alone. */
#include "records.h"

#include <string.h>

/* journald's DATA_SIZE_MAX (journal-importer.h): a longer binary value is no value but damage,
 * and is not skipped over, so that a bad length cannot swallow the rest of the stream. */
#define EXPORT_VALUE_MAX (768u << 20)

int records_init(struct records *r, struct lines *l, size_t max, struct hl_err *err)
{
    memset(r, 0, sizeof(*r));
    r->l = l;
    r->max = max ? max : LINES_DEFAULT_MAX_LINE; /* as lines_init reads 0 */
    buf_init(&r->rec, r->max + 1);
    buf_init(&r->hold, r->max + 1);
    (void)err;
    return 0;
}

void records_release(struct records *r)
{
    buf_release(&r->rec);
    buf_release(&r->hold);
}

/* Appends "\n" (unless first) and s while the record stays within max; sets *cut otherwise. */
static void append(struct records *r, struct strv s, bool first, bool *cut)
{
    size_t n = s.n + !first;
    if (*cut || r->rec.len + n > r->max) {
        *cut = true;
        return;
    }
    if ((!first && buf_addc(&r->rec, '\n') < 0) || buf_add(&r->rec, s.p, s.n) < 0)
        *cut = true;
}

static bool name_only(struct strv s)
{
    if (!s.n || !((s.p[0] >= 'A' && s.p[0] <= 'Z') || s.p[0] == '_'))
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (!((s.p[i] >= 'A' && s.p[i] <= 'Z') || (s.p[i] >= '0' && s.p[i] <= '9') ||
              s.p[i] == '_'))
            return false;
    return true;
}

/* Inside an entry the reader waits out a pause instead of returning it: the entry's parts are
 * in local state, and journalctl writes an entry whole, so such a pause is short. */
static int next_line_within(struct records *r, struct strv *line, struct hl_err *e)
{
    int n;
    while ((n = lines_next(r->l, line, e)) == HL_PAUSE)
        ;
    return n;
}

static ssize_t take_within(struct records *r, size_t want, struct strv *got, struct hl_err *e)
{
    ssize_t n;
    while ((n = lines_take(r->l, want, got, e)) == HL_PAUSE)
        ;
    return n;
}

static void stop(struct records *r, int code, const struct hl_err *e)
{
    r->done = true;
    r->pending = code;
    if (code < 0 && e)
        r->pending_err = *e;
}

/* Reads exactly n raw bytes (n <= 8 into out, or any n appended to the record when out is
 * NULL). Returns false when the input ended or failed first (then stopped). */
static bool take(struct records *r, unsigned char *out, uint64_t n, bool *cut)
{
    while (n) {
        struct strv got;
        struct hl_err e;
        ssize_t k = take_within(r, n > (1u << 20) ? (1u << 20) : (size_t)n, &got, &e);
        if (k <= 0) {
            stop(r, (int)k, &e);
            return false;
        }
        if (out) {
            memcpy(out, got.p, got.n);
            out += got.n;
        } else {
            append(r, got, true, cut);
        }
        n -= (uint64_t)k;
    }
    return true;
}

static void assemble_export(struct records *r, struct strv first)
{
    bool cut = false;
    buf_reset(&r->rec);
    append(r, first, true, &cut);
    for (;;) {
        struct strv line;
        struct hl_err e;
        int n = next_line_within(r, &line, &e);
        if (n <= 0) {
            stop(r, n, &e);
            break;
        }
        if (line.n == 0)
            break;
        append(r, line, false, &cut);
        if (!name_only(line))
            continue;
        unsigned char len8[8];
        if (!take(r, len8, 8, &cut))
            break;
        uint64_t len = 0;
        for (int i = 7; i >= 0; i--)
            len = len << 8 | len8[i];
        if (len > EXPORT_VALUE_MAX) {
            /* Damage: counted for the caller to report, and read on as lines up to the empty
             * line. */
            if (!r->bad_lengths++)
                r->bad_length_at = r->l->line_no;
            continue;
        }
        append(r, strv_make("\n", 1), true, &cut);
        append(r, strv_make((const char *)len8, 8), true, &cut);
        unsigned char nl;
        if (!take(r, NULL, len, &cut) || !take(r, &nl, 1, &cut))
            break;
    }
    r->cut += cut;
}

/* Returns true when the object was whole; false when its lines are to be handed back. */
static bool assemble_pretty(struct records *r)
{
    bool cut = false;
    buf_reset(&r->rec);
    append(r, strv_make("{", 1), true, &cut);
    for (;;) {
        struct strv line;
        struct hl_err e;
        int n = next_line_within(r, &line, &e);
        if (n <= 0) {
            stop(r, n, &e);
            return false;
        }
        if (strv_eq(line, "}")) {
            append(r, line, false, &cut);
            r->cut += cut;
            return true;
        }
        if (!line.n || (line.p[0] != '\t' && line.p[0] != ' ')) {
            buf_reset(&r->hold);
            r->held = buf_add(&r->hold, line.p, line.n) == 0;
            r->hold_line = r->l->line_no;
            return false;
        }
        append(r, line, false, &cut);
    }
}

int records_next(struct records *r, struct strv *ret, uint64_t *ret_line, struct hl_err *err)
{
    if (r->replaying) {
        if (r->replay_pos < r->rec.len || r->replay_pos == 0) {
            /* A record cut to nothing has no buffer yet: replay it as one empty line. */
            const char *p = r->rec.len ? r->rec.data + r->replay_pos : "";
            size_t left = r->rec.len - r->replay_pos;
            const char *nl = memchr(p, '\n', left);
            size_t n = nl ? (size_t)(nl - p) : left;
            r->replay_pos += n + 1;
            *ret = strv_make(p, n);
            *ret_line = r->replay_line++;
            if (r->replay_pos > r->rec.len)
                r->replay_pos = r->rec.len + 1;
            return 1;
        }
        r->replaying = false;
        if (r->held) {
            r->held = false;
            *ret = strv_make(r->hold.data, r->hold.len);
            *ret_line = r->hold_line;
            return 1;
        }
    }
    if (r->done) {
        r->done = false;
        if (r->pending < 0 && err)
            *err = r->pending_err;
        int p = r->pending;
        r->pending = 0;
        return p;
    }
    struct strv line;
    int n = lines_next(r->l, &line, err);
    if (n <= 0)
        return n;
    uint64_t first = r->l->line_no;
    if (strv_eq(line, "{")) {
        if (!assemble_pretty(r)) {
            r->replaying = true;
            r->replay_pos = 0;
            r->replay_line = first;
            return records_next(r, ret, ret_line, err);
        }
    } else if (strv_starts_with(line, "__CURSOR=") ||
               strv_starts_with(line, "__REALTIME_TIMESTAMP=")) {
        assemble_export(r, line);
    } else {
        *ret = line;
        *ret_line = first;
        return 1;
    }
    *ret = strv_make(r->rec.data, r->rec.len);
    *ret_line = first;
    return 1;
}
