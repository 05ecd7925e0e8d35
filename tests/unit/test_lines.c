/* Unit tests for lines: splitting, CR and BOM stripping, a last line without newline, NUL
 * bytes, the max_line cut with its resync, line numbers, results that do not depend on how
 * the source chunks its reads, and a read error delivered after the lines read before it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lines.h"
#include "source.h"
#include "tap.h"

/* A source over memory that hands out at most chunk bytes per read, then EOF or (with fail)
 * an I/O error: stands in for pipes, inflaters and disks that fail half way. */
struct chunked {
    const char *data;
    size_t len;
    size_t pos;
    size_t chunk;
    bool fail;           /* end with HL_EIO instead of EOF */
    int reads_after_end; /* reads made once the data was used up */
};

static ssize_t chunked_read(struct source *s, void *buf, size_t cap, struct hl_err *err)
{
    struct chunked *c = s->impl;
    if (c->pos == c->len) {
        c->reads_after_end++;
        if (c->fail)
            return hl_err_set(err, HL_EIO, s->label, "read failed: %s", "device gone");
        return 0;
    }
    size_t n = c->len - c->pos;
    if (n > cap)
        n = cap;
    if (c->chunk && n > c->chunk)
        n = c->chunk;
    memcpy(buf, c->data + c->pos, n);
    c->pos += n;
    return (ssize_t)n;
}

static const struct source_ops chunked_ops = {
    .name = "chunked", .read = chunked_read, .close = NULL, /* impl lives on the test's stack */
};

/* Reads every line of src and writes them to out as "line|line|..." (NUL bytes as '0').
 * Returns the final lines_next() result; *ret_n gets the number of lines. */
static int collect(struct lines *l, char *out, size_t cap, size_t *ret_n, struct hl_err *err)
{
    size_t used = 0, n = 0;
    struct strv line;
    int r;
    out[0] = '\0';
    while ((r = lines_next(l, &line, err)) == 1) {
        if (n++ && used + 1 < cap)
            out[used++] = '|';
        for (size_t i = 0; i < line.n && used + 1 < cap; i++)
            out[used++] = line.p[i] ? line.p[i] : '0';
        out[used] = '\0';
    }
    *ret_n = n;
    return r;
}

/* Splits data (read whole from a memory source) with the given limits into out. */
static int split_mem(const char *data, size_t len, size_t max_line, size_t block, char *out,
                     size_t cap, size_t *ret_n, uint64_t *ret_cut)
{
    struct source *src = NULL;
    struct lines l;
    struct hl_err err;
    int r = source_open_mem(data, len, "mem", &src, &err);
    CHECK_INT(r, 0);
    if (r < 0)
        return r;
    r = lines_init(&l, src, max_line, block, &err);
    CHECK_INT(r, 0);
    if (r == 0) {
        r = collect(&l, out, cap, ret_n, &err);
        if (ret_cut)
            *ret_cut = l.cut;
        lines_release(&l);
    }
    source_free(src);
    return r;
}

static void lines_splits_on_newline(void)
{
    char out[256];
    size_t n;

    CHECK_INT(split_mem("a\nbb\nccc\n", 9, 0, 0, out, sizeof(out), &n, NULL), 0);
    CHECK_STR(out, "a|bb|ccc");
    CHECK_INT(n, 3);
}

static void lines_keeps_last_line_without_newline(void)
{
    char out[256];
    size_t n;

    CHECK_INT(split_mem("first\nlast", 10, 0, 0, out, sizeof(out), &n, NULL), 0);
    CHECK_STR(out, "first|last");
    CHECK_INT(n, 2);
}

static void lines_empty_input_has_no_lines(void)
{
    char out[16];
    size_t n;

    CHECK_INT(split_mem("", 0, 0, 0, out, sizeof(out), &n, NULL), 0);
    CHECK_INT(n, 0);
}

static void lines_keeps_empty_lines(void)
{
    char out[64];
    size_t n;

    CHECK_INT(split_mem("\na\n\n\nb\n", 7, 0, 0, out, sizeof(out), &n, NULL), 0);
    CHECK_STR(out, "|a|||b");
    CHECK_INT(n, 5);
}

static void lines_strips_trailing_cr_only(void)
{
    char out[64];
    size_t n;
    const char data[] = "a\r\nb\r\n\r\nx\ry\nc\r";

    CHECK_INT(split_mem(data, sizeof(data) - 1, 0, 0, out, sizeof(out), &n, NULL), 0);
    CHECK_STR(out, "a|b||x\ry|c");
    CHECK_INT(n, 5);
}

static void lines_strips_bom_at_line_start_only(void)
{
    /* A BOM opens each file of a concatenated stream; elsewhere it is data. */
    char out[128];
    size_t n;
    const char data[] = "\xEF\xBB\xBF"
                        "first\nsecond\n\xEF\xBB\xBF"
                        "third\r\nmid\xEF\xBB\xBF"
                        "dle\n";

    CHECK_INT(split_mem(data, sizeof(data) - 1, 0, 0, out, sizeof(out), &n, NULL), 0);
    CHECK_STR(out, "first|second|third|mid\xEF\xBB\xBF"
                   "dle");
}

static void lines_keeps_nul_bytes_inside_lines(void)
{
    const char data[] = "a\0b\n\0\nc";
    struct source *src = NULL;
    struct lines l;
    struct hl_err err;
    struct strv line;

    CHECK_INT(source_open_mem(data, sizeof(data) - 1, "mem", &src, &err), 0);
    CHECK_INT(lines_init(&l, src, 0, 0, &err), 0);
    CHECK_INT(lines_next(&l, &line, &err), 1);
    CHECK_INT(line.n, 3);
    CHECK(line.n == 3 && memcmp(line.p, "a\0b", 3) == 0);
    CHECK_INT(lines_next(&l, &line, &err), 1);
    CHECK_INT(line.n, 1);
    CHECK(line.n == 1 && line.p[0] == '\0');
    CHECK_INT(lines_next(&l, &line, &err), 1);
    CHECK_STRN(line.p, line.n, "c");
    CHECK_INT(lines_next(&l, &line, &err), 0);
    lines_release(&l);
    source_free(src);
}

static void lines_counts_line_numbers(void)
{
    const char data[] = "a\n\nb\nc";
    struct source *src = NULL;
    struct lines l;
    struct hl_err err;
    struct strv line;

    CHECK_INT(source_open_mem(data, sizeof(data) - 1, "mem", &src, &err), 0);
    CHECK_INT(lines_init(&l, src, 0, 0, &err), 0);
    CHECK_INT(l.line_no, 0);
    for (uint64_t want = 1; want <= 4; want++) {
        CHECK_INT(lines_next(&l, &line, &err), 1);
        CHECK_INT(l.line_no, want);
    }
    CHECK_INT(lines_next(&l, &line, &err), 0);
    CHECK_INT(l.line_no, 4);
    /* The end is sticky. */
    CHECK_INT(lines_next(&l, &line, &err), 0);
    lines_release(&l);
    source_free(src);
}

static void lines_buffer_is_max_line_plus_block(void)
{
    struct source *src = NULL;
    struct lines l;
    struct hl_err err;

    CHECK_INT(source_open_mem("", 0, "mem", &src, &err), 0);
    CHECK_INT(lines_init(&l, src, 256, 64, &err), 0);
    CHECK_INT(l.cap, 256 + 64);
    CHECK_INT(l.max_line, 256);
    CHECK_INT(l.block, 64);
    lines_release(&l);
    CHECK_INT(lines_init(&l, src, 0, 0, &err), 0);
    CHECK_INT(l.max_line, LINES_DEFAULT_MAX_LINE);
    CHECK_INT(l.block, LINES_DEFAULT_BLOCK);
    lines_release(&l);
    source_free(src);
}

static void lines_cuts_over_long_line_and_resyncs(void)
{
    char data[300 + 64];
    size_t len = 0;
    memset(data, 'a', 300);
    len = 300;
    memcpy(data + len, "\nnext\n", 6);
    len += 6;

    struct source *src = NULL;
    struct lines l;
    struct hl_err err;
    struct strv line;
    CHECK_INT(source_open_mem(data, len, "mem", &src, &err), 0);
    CHECK_INT(lines_init(&l, src, 256, 64, &err), 0);
    CHECK_INT(lines_next(&l, &line, &err), 1);
    CHECK_INT(line.n, 256);
    CHECK(line.n == 256 && memcmp(line.p, data, 256) == 0);
    CHECK(l.last_cut);
    CHECK_INT(l.cut, 1);
    CHECK_INT(lines_next(&l, &line, &err), 1);
    CHECK_STRN(line.p, line.n, "next");
    CHECK(!l.last_cut);
    CHECK_INT(l.line_no, 2);
    CHECK_INT(lines_next(&l, &line, &err), 0);
    CHECK_INT(l.cut, 1);
    lines_release(&l);
    source_free(src);
}

static void lines_cuts_line_spanning_many_blocks(void)
{
    size_t big = 10000;
    char *data = malloc(big + 32);
    CHECK(data != NULL);
    if (!data)
        return;
    for (size_t i = 0; i < big; i++)
        data[i] = (char)('a' + i % 26);
    memcpy(data + big, "\nafter\nend", 10);

    for (size_t chunk = 0; chunk <= 64; chunk += 7) {
        struct chunked c = { .data = data, .len = big + 10, .chunk = chunk };
        struct source *src = source_new(&chunked_ops, &c, NULL, "chunked");
        struct lines l;
        struct hl_err err;
        struct strv line;
        CHECK(src != NULL);
        if (!src)
            break;
        CHECK_INT(lines_init(&l, src, 256, 64, &err), 0);
        CHECK_INT(lines_next(&l, &line, &err), 1);
        CHECK_INT(line.n, 256);
        CHECK(line.n == 256 && memcmp(line.p, data, 256) == 0);
        CHECK_INT(lines_next(&l, &line, &err), 1);
        CHECK_STRN(line.p, line.n, "after");
        CHECK_INT(lines_next(&l, &line, &err), 1);
        CHECK_STRN(line.p, line.n, "end");
        CHECK_INT(lines_next(&l, &line, &err), 0);
        CHECK_INT(l.cut, 1);
        CHECK_INT(l.line_no, 3);
        lines_release(&l);
        source_free(src);
    }
    free(data);
}

static void lines_cut_line_at_end_of_input_is_counted_once(void)
{
    char data[400];
    char out[512];
    size_t n;
    uint64_t cut = 0;
    memset(data, 'z', sizeof(data));

    CHECK_INT(split_mem(data, sizeof(data), 256, 64, out, sizeof(out), &n, &cut), 0);
    CHECK_INT(n, 1);
    CHECK_INT(strlen(out), 256);
    CHECK_INT(cut, 1);
}

static void lines_exactly_max_line_is_not_cut_whatever_the_read_size(void)
{
    /* Whether a line is cut must depend on the line, not on where reads happen to end. */
    char data[256 + 16];
    memset(data, 'm', 256);
    memcpy(data + 256, "\nok\n", 4);

    for (size_t chunk = 1; chunk <= 300; chunk += (chunk < 20 ? 1 : 37)) {
        struct chunked c = { .data = data, .len = 260, .chunk = chunk };
        struct source *src = source_new(&chunked_ops, &c, NULL, "chunked");
        struct lines l;
        struct hl_err err;
        struct strv line;
        CHECK(src != NULL);
        if (!src)
            break;
        CHECK_INT(lines_init(&l, src, 256, 64, &err), 0);
        CHECK_INT(lines_next(&l, &line, &err), 1);
        CHECK_INT(line.n, 256);
        CHECK(!l.last_cut);
        CHECK_INT(lines_next(&l, &line, &err), 1);
        CHECK_STRN(line.p, line.n, "ok");
        CHECK_INT(lines_next(&l, &line, &err), 0);
        CHECK_INT(l.cut, 0);
        if (l.cut)
            printf("# cut with reads of %zu bytes\n", chunk);
        lines_release(&l);
        source_free(src);
    }
}

static void lines_result_does_not_depend_on_read_size(void)
{
    static const char data[] = "\xEF\xBB\xBF"
                               "alpha\r\nbeta\n\ngamma\r\n\xEF\xBB\xBF"
                               "delta\nepsilon";
    const char *want = "alpha|beta||gamma|delta|epsilon";

    for (size_t chunk = 1; chunk <= 20; chunk++) {
        struct chunked c = { .data = data, .len = sizeof(data) - 1, .chunk = chunk };
        struct source *src = source_new(&chunked_ops, &c, NULL, "chunked");
        struct lines l;
        struct hl_err err;
        char out[128];
        size_t n;
        CHECK(src != NULL);
        if (!src)
            break;
        CHECK_INT(lines_init(&l, src, 16, 4, &err), 0);
        CHECK_INT(collect(&l, out, sizeof(out), &n, &err), 0);
        CHECK_STR(out, want);
        CHECK_INT(l.cut, 0);
        lines_release(&l);
        source_free(src);
    }
}

static void lines_read_error_comes_after_buffered_lines(void)
{
    static const char data[] = "one\ntwo\nthr";
    struct chunked c = { .data = data, .len = sizeof(data) - 1, .fail = true };
    struct source *src = source_new(&chunked_ops, &c, NULL, "disk.log");
    struct lines l;
    struct hl_err err;
    struct strv line;

    CHECK(src != NULL);
    if (!src)
        return;
    CHECK_INT(lines_init(&l, src, 0, 0, &err), 0);
    CHECK_INT(lines_next(&l, &line, &err), 1);
    CHECK_STRN(line.p, line.n, "one");
    CHECK_INT(lines_next(&l, &line, &err), 1);
    CHECK_STRN(line.p, line.n, "two");
    CHECK_INT(lines_next(&l, &line, &err), 1);
    CHECK_STRN(line.p, line.n, "thr");
    hl_err_clear(&err);
    CHECK_INT(lines_next(&l, &line, &err), HL_EIO);
    CHECK_INT(err.code, HL_EIO);
    CHECK_STR(err.msg, "read failed: device gone");
    CHECK_STR(err.where, "disk.log");
    CHECK_INT(l.line_no, 3);
    /* The error is sticky and the source is not asked again. */
    int reads = c.reads_after_end;
    CHECK_INT(lines_next(&l, &line, &err), HL_EIO);
    CHECK_INT(c.reads_after_end, reads);
    lines_release(&l);
    source_free(src);
}

static void lines_read_error_with_small_reads_loses_no_line(void)
{
    static const char data[] = "a1\nb22\nc333\nd";
    for (size_t chunk = 1; chunk <= 5; chunk++) {
        struct chunked c = { .data = data, .len = sizeof(data) - 1, .chunk = chunk, .fail = true };
        struct source *src = source_new(&chunked_ops, &c, NULL, "pipe");
        struct lines l;
        struct hl_err err;
        char out[64];
        size_t n;
        CHECK(src != NULL);
        if (!src)
            break;
        CHECK_INT(lines_init(&l, src, 8, 4, &err), 0);
        CHECK_INT(collect(&l, out, sizeof(out), &n, &err), HL_EIO);
        CHECK_STR(out, "a1|b22|c333|d");
        CHECK_INT(err.code, HL_EIO);
        lines_release(&l);
        source_free(src);
    }
}

static void lines_over_a_pipe_pause_and_keep_the_partial_line(void)
{
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    struct source *src = NULL;
    struct hl_err err;
    CHECK_INT(source_open_fd(fds[0], false, "pipe", NULL, &src, &err), 0);
    struct lines l;
    CHECK_INT(lines_init(&l, src, 0, 0, &err), 0);
    struct strv line;
    CHECK_INT(write(fds[1], "one\ntw", 6), 6);
    CHECK_INT(lines_next(&l, &line, &err), 1);
    CHECK_STRN(line.p, line.n, "one");
    CHECK_INT(lines_next(&l, &line, &err), HL_PAUSE); /* "tw" waits for its newline */
    CHECK_INT(write(fds[1], "o\nthree", 7), 7);
    CHECK_INT(lines_next(&l, &line, &err), 1);
    CHECK_STRN(line.p, line.n, "two");
    CHECK_INT(lines_next(&l, &line, &err), HL_PAUSE);
    close(fds[1]); /* the end of input ends the last line */
    CHECK_INT(lines_next(&l, &line, &err), 1);
    CHECK_STRN(line.p, line.n, "three");
    CHECK_INT(lines_next(&l, &line, &err), 0);
    CHECK_INT(l.line_no, 3);
    lines_release(&l);
    source_free(src);
}

/* A stop request ends a pipe after what it held when the stop came, as an interrupted read;
 * nothing written before the stop is lost. */
static void lines_over_a_pipe_drain_then_stop(void)
{
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    volatile sig_atomic_t stop = 0;
    struct source_wait wait = { .stop = &stop };
    struct source *src = NULL;
    struct hl_err err;
    CHECK_INT(source_open_fd(fds[0], false, "pipe", &wait, &src, &err), 0);
    struct lines l;
    CHECK_INT(lines_init(&l, src, 0, 0, &err), 0);
    struct strv line;
    CHECK_INT(lines_next(&l, &line, &err), HL_PAUSE);
    CHECK_INT(write(fds[1], "a\nb\n", 4), 4);
    stop = 1;
    CHECK_INT(lines_next(&l, &line, &err), 1);
    CHECK_STRN(line.p, line.n, "a");
    CHECK_INT(lines_next(&l, &line, &err), 1);
    CHECK_STRN(line.p, line.n, "b");
    CHECK_INT(lines_next(&l, &line, &err), HL_EIO);
    CHECK_INT(err.sys_errno, EINTR);
    lines_release(&l);
    source_free(src);
    close(fds[1]);
}

int main(void)
{
    TAP_RUN(lines_splits_on_newline);
    TAP_RUN(lines_keeps_last_line_without_newline);
    TAP_RUN(lines_empty_input_has_no_lines);
    TAP_RUN(lines_keeps_empty_lines);
    TAP_RUN(lines_strips_trailing_cr_only);
    TAP_RUN(lines_strips_bom_at_line_start_only);
    TAP_RUN(lines_keeps_nul_bytes_inside_lines);
    TAP_RUN(lines_counts_line_numbers);
    TAP_RUN(lines_buffer_is_max_line_plus_block);
    TAP_RUN(lines_cuts_over_long_line_and_resyncs);
    TAP_RUN(lines_cuts_line_spanning_many_blocks);
    TAP_RUN(lines_cut_line_at_end_of_input_is_counted_once);
    TAP_RUN(lines_exactly_max_line_is_not_cut_whatever_the_read_size);
    TAP_RUN(lines_result_does_not_depend_on_read_size);
    TAP_RUN(lines_read_error_comes_after_buffered_lines);
    TAP_RUN(lines_read_error_with_small_reads_loses_no_line);
    TAP_RUN(lines_over_a_pipe_pause_and_keep_the_partial_line);
    TAP_RUN(lines_over_a_pipe_drain_then_stop);
    return tap_done();
}
