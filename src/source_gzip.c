/* gzip layer over zlib. inflateInit2(15 + 32) accepts gzip and zlib headers; at the end of a
 * member with input left, inflateReset() starts the next one, so logrotate's and `cat a.gz
 * b.gz`'s concatenated members read as one stream (Fluent Bit's decompress_concatenated). */
#include "source.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GZIP_IN_BLOCK (64u * 1024)

struct gzip_impl {
    z_stream z;
    bool z_ready; /* inflateInit2 succeeded */
    unsigned char in[GZIP_IN_BLOCK];
    bool upstream_eof;
    bool member_done;   /* the last inflate() ended a member */
    bool finished;      /* clean end of the whole stream */
    uint64_t in_total;  /* compressed bytes consumed */
    uint64_t out_total; /* bytes produced */
    struct decomp_limits lim;
    int failed; /* sticky hl_code once the stream is broken */
    struct hl_err fail_err;
};

/* Refills the input window; returns bytes now available, 0 at upstream EOF, <0 on error. */
static ssize_t fill(struct source *s, struct gzip_impl *g, struct hl_err *err)
{
    if (g->z.avail_in)
        return g->z.avail_in;
    if (g->upstream_eof)
        return 0;
    ssize_t n = source_read(s->upstream, g->in, sizeof(g->in), err);
    if (n < 0)
        return n;
    if (n == 0)
        g->upstream_eof = true;
    g->z.next_in = g->in;
    g->z.avail_in = (uInt)n;
    return n;
}

/* After a member: another gzip member follows, or only padding/garbage is left. */
static int next_member(struct source *s, struct gzip_impl *g, struct hl_err *err)
{
    ssize_t n = fill(s, g, err);
    if (n < 0)
        return (int)n;
    /* Tape and some tools pad with NUL bytes after the last member; that is not damage. */
    while (n > 0) {
        while (g->z.avail_in && g->z.next_in[0] == 0) {
            g->z.next_in++;
            g->z.avail_in--;
            g->in_total++;
        }
        if (g->z.avail_in)
            break;
        if ((n = fill(s, g, err)) < 0)
            return (int)n;
    }
    if (n == 0) {
        g->finished = true;
        return 0;
    }
    if (g->z.next_in[0] != 0x1f) {
        return hl_err_set(err, HL_EFORMAT, s->label,
                          "trailing garbage after gzip data at compressed byte %llu, ignored",
                          (unsigned long long)g->in_total);
    }
    inflateReset(&g->z);
    g->member_done = false;
    return 0;
}

static ssize_t gzip_read(struct source *s, void *buf, size_t cap, struct hl_err *err)
{
    struct gzip_impl *g = s->impl;
    if (g->failed) {
        if (err)
            *err = g->fail_err;
        return g->failed;
    }
    g->z.next_out = buf;
    g->z.avail_out = (uInt)(cap > UINT32_MAX ? UINT32_MAX : cap);
    int r = 0;
    while (g->z.avail_out == cap && !g->finished) {
        if (g->member_done && (r = next_member(s, g, &g->fail_err)) < 0)
            break;
        if (g->finished)
            break;
        ssize_t n = fill(s, g, &g->fail_err);
        if (n < 0) {
            r = (int)n;
            break;
        }
        if (n == 0) {
            r = hl_err_set(&g->fail_err, HL_EFORMAT, s->label,
                           "unexpected end of gzip data after %llu compressed bytes (truncated?)",
                           (unsigned long long)g->in_total);
            break;
        }
        uInt before = g->z.avail_in;
        int zr = inflate(&g->z, Z_NO_FLUSH);
        g->in_total += before - g->z.avail_in;
        if (zr == Z_STREAM_END) {
            g->member_done = true;
        } else if (zr == Z_BUF_ERROR && before == g->z.avail_in) {
            continue; /* needs more input: loop refills */
        } else if (zr != Z_OK) {
            r = hl_err_set(&g->fail_err, HL_EFORMAT, s->label,
                           "damaged gzip data at compressed byte %llu: %s",
                           (unsigned long long)g->in_total, g->z.msg ? g->z.msg : "inflate failed");
            break;
        }
    }
    size_t produced = cap - g->z.avail_out;
    g->out_total += produced;
    if (r == 0)
        r = decomp_check(&g->lim, g->in_total, g->out_total, s->label, &g->fail_err);
    if (r < 0) {
        g->failed = r;
        /* Deliver what was decoded before the damage; the error comes with the next read. */
        if (produced)
            return (ssize_t)produced;
        if (err)
            *err = g->fail_err;
        return r;
    }
    return (ssize_t)produced;
}

static void gzip_close(struct source *s)
{
    struct gzip_impl *g = s->impl;
    if (g && g->z_ready)
        inflateEnd(&g->z);
    free(g);
}

static const struct source_ops gzip_ops = {
    .name = "gzip",
    .read = gzip_read,
    .close = gzip_close,
};

int source_gzip_new(struct source *upstream, const struct decomp_limits *lim, struct source **ret,
                    struct hl_err *err)
{
    struct gzip_impl *g = calloc(1, sizeof(*g));
    if (!g)
        return hl_err_set(err, HL_ENOMEM, upstream->label, "out of memory");
    g->lim = *lim;
    /* 15 + 32: largest window, and detect a gzip or zlib header automatically. */
    if (inflateInit2(&g->z, 15 + 32) != Z_OK) {
        free(g);
        return hl_err_set(err, HL_ENOMEM, upstream->label, "cannot start zlib");
    }
    g->z_ready = true;
    struct source *s = source_new(&gzip_ops, g, upstream, upstream->label);
    if (!s) {
        inflateEnd(&g->z);
        free(g);
        return hl_err_set(err, HL_ENOMEM, upstream->label, "out of memory");
    }
    *ret = s;
    return 0;
}
