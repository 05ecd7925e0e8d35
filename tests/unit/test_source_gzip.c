/* Unit tests for the gzip layer and its reader thread: streams of several ring blocks read back
 * whole whatever the read size, concatenated members, a truncated stream that delivers every
 * decodable byte and then the same error at every read, and a layer closed while its thread
 * waits on a full ring (no hang, no leak: run under ASan and TSan). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "source.h"
#include "tap.h"

/* Makes len bytes of log-like text, deterministic. */
static char *make_text(size_t len)
{
    char *t = malloc(len);
    uint32_t x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        t[i] = (i % 97 == 96) ? '\n' : (char)('a' + (x >> 16) % 26);
    }
    return t;
}

/* Appends one gzip member holding data[0..len) to out at *used; returns 0 or -1. */
static int gzip_member(const char *data, size_t len, unsigned char *out, size_t cap, size_t *used)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)len;
    z.next_out = out + *used;
    z.avail_out = (uInt)(cap - *used);
    int r = deflate(&z, Z_FINISH);
    *used = cap - z.avail_out;
    deflateEnd(&z);
    return r == Z_STREAM_END ? 0 : -1;
}

/* Reads src to its end in reads of at most step bytes into out; returns the last result. */
static ssize_t read_all(struct source *src, char *out, size_t cap, size_t step, size_t *ret_n,
                        struct hl_err *err)
{
    size_t n = 0;
    ssize_t r;
    while ((r = source_read(src, out + n, HL_MIN(step, cap - n), err)) > 0)
        n += (size_t)r;
    *ret_n = n;
    return r;
}

static struct source *open_gzip(const unsigned char *gz, size_t len, struct source **ret_mem)
{
    struct decomp_limits lim = {
        .max_size = DECOMP_DEFAULT_MAX_SIZE,
        .max_ratio = DECOMP_DEFAULT_MAX_RATIO,
        .ratio_floor = DECOMP_DEFAULT_RATIO_FLOOR,
    };
    struct source *mem = NULL, *src = NULL;
    struct hl_err err;
    CHECK_INT(source_open_mem((const char *)gz, len, "t.gz", &mem, &err), 0);
    CHECK_INT(source_gzip_new(mem, &lim, &src, &err), 0);
    *ret_mem = mem;
    return src;
}

#define TEXT_LEN (3u << 20) /* 3 MiB: a dozen ring blocks */

static void gzip_reads_many_blocks_whole_whatever_the_read_size(void)
{
    char *text = make_text(TEXT_LEN);
    size_t cap = TEXT_LEN + 4096, used = 0;
    unsigned char *gz = malloc(cap);
    char *out = malloc(TEXT_LEN + 1);
    CHECK_INT(gzip_member(text, TEXT_LEN, gz, cap, &used), 0);
    static const size_t steps[] = { 1000, 4096, 65536, 300000, TEXT_LEN + 1 };
    for (size_t k = 0; k < ARRAY_SIZE(steps); k++) {
        struct source *mem, *src = open_gzip(gz, used, &mem);
        struct hl_err err;
        size_t n;
        CHECK_INT(read_all(src, out, TEXT_LEN + 1, steps[k], &n, &err), 0);
        CHECK_INT(n, TEXT_LEN);
        CHECK(memcmp(out, text, TEXT_LEN) == 0);
        CHECK_INT(source_read(src, out, 16, &err), 0); /* the end repeats */
        source_free(src);
        source_free(mem);
    }
    free(out);
    free(gz);
    free(text);
}

static void gzip_joins_concatenated_members(void)
{
    char *text = make_text(TEXT_LEN);
    size_t cap = TEXT_LEN + 8192, used = 0;
    unsigned char *gz = malloc(cap);
    char *out = malloc(TEXT_LEN);
    size_t half = TEXT_LEN / 2 + 13; /* a member boundary inside a line */
    CHECK_INT(gzip_member(text, half, gz, cap, &used), 0);
    CHECK_INT(gzip_member(text + half, TEXT_LEN - half, gz, cap, &used), 0);
    struct source *mem, *src = open_gzip(gz, used, &mem);
    struct hl_err err;
    size_t n;
    CHECK_INT(read_all(src, out, TEXT_LEN, 70000, &n, &err), 0);
    CHECK_INT(n, TEXT_LEN);
    CHECK(memcmp(out, text, TEXT_LEN) == 0);
    source_free(src);
    source_free(mem);
    free(out);
    free(gz);
    free(text);
}

static void gzip_truncated_delivers_decoded_bytes_then_error(void)
{
    char *text = make_text(TEXT_LEN);
    size_t cap = TEXT_LEN + 4096, used = 0;
    unsigned char *gz = malloc(cap);
    char *out = malloc(TEXT_LEN);
    CHECK_INT(gzip_member(text, TEXT_LEN, gz, cap, &used), 0);
    struct source *mem, *src = open_gzip(gz, used * 2 / 3, &mem);
    struct hl_err err;
    size_t n;
    CHECK_INT(read_all(src, out, TEXT_LEN, 65536, &n, &err), HL_EFORMAT);
    CHECK(n > TEXT_LEN / 2 && n < TEXT_LEN);
    CHECK(memcmp(out, text, n) == 0);
    CHECK(strstr(err.msg, "unexpected end of gzip data") != NULL);
    struct hl_err again;
    CHECK_INT(source_read(src, out, 16, &again), HL_EFORMAT); /* sticky */
    CHECK_STR(again.msg, err.msg);
    source_free(src);
    source_free(mem);
    free(out);
    free(gz);
    free(text);
}

/* Reads src until it pauses or ends; returns the last result. */
static ssize_t read_until_pause(struct source *src, char *out, size_t cap, size_t *n)
{
    struct hl_err err;
    ssize_t r = 0;
    while (*n < cap && (r = source_read(src, out + *n, cap - *n, &err)) > 0)
        *n += (size_t)r;
    return *n == cap ? 0 : r;
}

/* A gzip stream arriving through a pipe in two halves: the layer hands out what the first
 * half decodes to, then pauses with zlib's state kept, and goes on when the rest comes. */
static void gzip_over_a_pipe_pauses_and_resumes(void)
{
    size_t len = 100000, cap = len + 4096, used = 0;
    char *text = make_text(len);
    unsigned char *gz = malloc(cap);
    char *out = malloc(len);
    CHECK_INT(gzip_member(text, len, gz, cap, &used), 0);
    int fds[2];
    CHECK_INT(pipe(fds), 0);
    struct decomp_limits lim = {
        .max_size = DECOMP_DEFAULT_MAX_SIZE,
        .max_ratio = DECOMP_DEFAULT_MAX_RATIO,
        .ratio_floor = DECOMP_DEFAULT_RATIO_FLOOR,
    };
    struct source *pipe_src = NULL, *src = NULL;
    struct hl_err err;
    CHECK_INT(source_open_fd(fds[0], false, "pipe", NULL, &pipe_src, &err), 0);
    CHECK(source_is_pipe(pipe_src));
    CHECK_INT(source_gzip_new(pipe_src, &lim, &src, &err), 0);
    size_t half = used / 2, n = 0;
    CHECK_INT(write(fds[1], gz, half), (ssize_t)half);
    CHECK_INT(read_until_pause(src, out, len, &n), HL_PAUSE);
    CHECK(n > 0 && n < len);
    CHECK_INT(source_read(src, out + n, len - n, &err), HL_PAUSE); /* again: nothing new */
    CHECK_INT(write(fds[1], gz + half, used - half), (ssize_t)(used - half));
    close(fds[1]);
    CHECK_INT(read_until_pause(src, out, len, &n), 0);
    CHECK_INT(n, len);
    CHECK(memcmp(out, text, len) == 0);
    CHECK_INT(source_read(src, out, len, &err), 0);
    source_free(src);
    source_free(pipe_src);
    free(out);
    free(gz);
    free(text);
}

static void gzip_closes_while_reader_waits_on_full_ring(void)
{
    char *text = make_text(TEXT_LEN);
    size_t cap = TEXT_LEN + 4096, used = 0;
    unsigned char *gz = malloc(cap);
    char buf[100];
    CHECK_INT(gzip_member(text, TEXT_LEN, gz, cap, &used), 0);
    for (int k = 0; k < 20; k++) {
        struct source *mem, *src = open_gzip(gz, used, &mem);
        struct hl_err err;
        /* One small read starts the thread, which then fills the ring and waits. */
        CHECK_INT(source_read(src, buf, sizeof(buf), &err), (int)sizeof(buf));
        CHECK(memcmp(buf, text, sizeof(buf)) == 0);
        source_free(src);
        source_free(mem);
    }
    free(gz);
    free(text);
}

static void gzip_closes_without_reading(void)
{
    char *text = make_text(1000);
    unsigned char gz[2000];
    size_t used = 0;
    CHECK_INT(gzip_member(text, 1000, gz, sizeof(gz), &used), 0);
    struct source *mem, *src = open_gzip(gz, used, &mem);
    source_free(src);
    source_free(mem);
    free(text);
}

int main(void)
{
    TAP_RUN(gzip_reads_many_blocks_whole_whatever_the_read_size);
    TAP_RUN(gzip_joins_concatenated_members);
    TAP_RUN(gzip_truncated_delivers_decoded_bytes_then_error);
    TAP_RUN(gzip_closes_while_reader_waits_on_full_ring);
    TAP_RUN(gzip_closes_without_reading);
    TAP_RUN(gzip_over_a_pipe_pauses_and_resumes);
    return tap_done();
}
