/* Terminal output helpers for the commands: colour decisions, escaping untrusted text, and a
 * progress line drawn with \r and "clear to end of line" so it never scrolls. */
#include "term.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "utf8.h"

int term_when_parse(const char *s, enum term_when *ret)
{
    static const struct {
        const char *name;
        enum term_when when;
    } names[] = {
        { "auto", TERM_AUTO },
        { "always", TERM_ALWAYS },
        { "never", TERM_NEVER },
    };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(s, names[i].name) == 0) {
            *ret = names[i].when;
            return 0;
        }
    return -1;
}

bool term_use_color(enum term_when when, int fd)
{
    if (when != TERM_AUTO)
        return when == TERM_ALWAYS;
    /* no-color.org: present and not empty, whatever the value, means no colour. An explicit
     * --color=always still wins, as the convention allows. */
    const char *no_color = getenv("NO_COLOR");
    if (no_color && *no_color)
        return false;
    const char *term = getenv("TERM");
    if (term && strcmp(term, "dumb") == 0)
        return false;
    return isatty(fd) == 1;
}

bool term_use_progress(enum term_when when, int fd, bool quiet)
{
    if (when != TERM_AUTO)
        return when == TERM_ALWAYS;
    return !quiet && isatty(fd) == 1;
}

const char *term_severity_sgr(enum severity s)
{
    static const char *const sgr[SEV__COUNT] = {
        [SEV_INFO] = "",
        [SEV_NOTICE] = "\x1b[36m",     /* cyan */
        [SEV_WARNING] = "\x1b[33m",    /* yellow */
        [SEV_ERROR] = "\x1b[31m",      /* red */
        [SEV_CRITICAL] = "\x1b[1;31m", /* bold red */
    };
    return (unsigned)s < SEV__COUNT ? sgr[s] : "";
}

static int put_hex(struct buf *out, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    int r = 0;
    for (size_t i = 0; r == 0 && i < n; i++) {
        char e[4] = { '\\', 'x', hex[p[i] >> 4], hex[p[i] & 15] };
        r = buf_add(out, e, sizeof(e));
    }
    return r;
}

static int escape(struct buf *out, const char *p, size_t n, bool keep_tab)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0, run = 0; /* run: safe bytes not yet copied, ending at i */
    int r = 0;
    while (r == 0 && i < n) {
        size_t len = 1;
        bool bad;
        if (u[i] < 0x80) {
            bad = (u[i] < 0x20 && !(u[i] == '\t' && keep_tab)) || u[i] == 0x7f;
        } else {
            len = utf8_seq_len(u + i, n - i);
            bad = len == 0 || utf8_acts_on_terminal(u + i, len);
            if (len == 0)
                len = 1;
        }
        if (!bad) {
            i += len;
            run += len;
            continue;
        }
        r = buf_add(out, u + i - run, run);
        if (r == 0)
            r = put_hex(out, u + i, len);
        i += len;
        run = 0;
    }
    return r ? r : buf_add(out, u + i - run, run);
}

int term_escape(struct buf *out, const char *p, size_t n)
{
    return escape(out, p, n, true);
}

int term_escape_cell(struct buf *out, const char *p, size_t n)
{
    return escape(out, p, n, false);
}

int term_fput_escaped(FILE *fp, const char *p, size_t n)
{
    struct buf b;
    buf_init(&b, 0);
    int r = term_escape(&b, p, n);
    if (r == 0 && fwrite(buf_cstr(&b), 1, b.len, fp) != b.len)
        r = EOF;
    buf_release(&b);
    return r ? EOF : 0;
}

static int put_size(struct buf *out, double v)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    size_t u = 0;
    while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
        v /= 1024;
        u++;
    }
    return u ? buf_printf(out, "%.1f %s", v, units[u]) : buf_printf(out, "%.0f B", v);
}

int term_progress_format(struct buf *out, uint64_t done, int64_t total, double seconds,
                         const char *label, size_t width)
{
    size_t start = out->len;
    int r = put_size(out, (double)done);
    if (r == 0 && total >= 0) {
        r = buf_adds(out, " of ");
        r = r ? r : put_size(out, (double)total);
        if (r == 0 && total > 0)
            r = buf_printf(out, " (%d%%)",
                           (int)HL_MIN(100, (uint64_t)(100.0 * (double)done / (double)total)));
    }
    if (r == 0 && seconds > 0) {
        r = buf_adds(out, ", ");
        r = r ? r : put_size(out, (double)done / seconds);
        r = r ? r : buf_adds(out, "/s");
    }
    if (r || !label || !*label)
        return r;
    struct buf esc;
    buf_init(&esc, 0);
    r = term_escape(&esc, label, strlen(label));
    /* Keep the end of a long label: the member name says more than the archive's path. */
    size_t used = out->len - start + 2, room = width > used + 1 ? width - used - 1 : 0;
    if (r == 0 && room >= 8) {
        const char *l = buf_cstr(&esc);
        size_t n = esc.len;
        if (n > room) {
            l += n - (room - 3);
            n = room - 3;
            while (n && ((unsigned char)*l & 0xC0) == 0x80) { /* not mid-character */
                l++;
                n--;
            }
            r = buf_adds(out, "  ...");
        } else {
            r = buf_adds(out, "  ");
        }
        r = r ? r : buf_add(out, l, n);
    }
    buf_release(&esc);
    return r;
}

void term_progress_init(struct term_progress *p, int fd, bool enabled)
{
    memset(p, 0, sizeof(*p));
    p->fd = fd;
    p->enabled = enabled;
    p->start_ns = clock_mono_ns();
    buf_init(&p->line, 1u << 16);
}

bool term_progress_due(const struct term_progress *p)
{
    if (!p->enabled)
        return false;
    int64_t now = clock_mono_ns();
    return now - p->start_ns >= TERM_PROGRESS_DELAY_NS &&
           (!p->drawn_ns || now - p->drawn_ns >= TERM_PROGRESS_INTERVAL_NS);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return; /* a progress line is a courtesy: never fail the scan over it */
        }
        p += w;
        n -= (size_t)w;
    }
}

int term_width(int fd)
{
    if (fd < 0 || isatty(fd) != 1)
        return 0;
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *env = getenv("COLUMNS");
    char *end;
    long v = env ? strtol(env, &end, 10) : 0;
    return env && *end == '\0' && v > 0 && v < 100000 ? (int)v : 80;
}

/* The progress line needs room for its numbers: below 20 columns, draw for 80. */
static size_t progress_width(int fd)
{
    int w = term_width(fd);
    return w >= 20 ? (size_t)w : 80;
}

void term_progress_draw(struct term_progress *p, uint64_t done, int64_t total, const char *label)
{
    if (!term_progress_due(p))
        return;
    int64_t now = clock_mono_ns();
    buf_reset(&p->line);
    int r = buf_adds(&p->line, "\r");
    if (r == 0)
        r = term_progress_format(&p->line, done, total, (double)(now - p->start_ns) / 1e9, label,
                                 progress_width(p->fd));
    if (r == 0)
        r = buf_adds(&p->line, "\x1b[K");
    if (r)
        return;
    fflush(stdout); /* what was printed before stays above the line */
    write_all(p->fd, buf_cstr(&p->line), p->line.len);
    p->drawn_ns = now;
    p->shown = true;
}

void term_progress_clear(struct term_progress *p)
{
    if (!p->shown)
        return;
    write_all(p->fd, "\r\x1b[K", 4);
    p->shown = false;
}

void term_progress_release(struct term_progress *p)
{
    term_progress_clear(p);
    buf_release(&p->line);
}
