/* gzip layer over zlib. inflateInit2(15 + 32) accepts gzip and zlib headers; at the end of a
 * member with input left, inflateReset() starts the next one, so logrotate's and `cat a.gz
 * b.gz`'s concatenated members read as one stream (Fluent Bit's decompress_concatenated).
 *
 * Decompression overlaps matching. Over a regular file (or memory) a reader thread inflates
 * into a ring of GZIP_RING_BLOCKS blocks while the scan thread matches the blocks before them,
 * so on two cores `scan x.gz` costs about the slower of inflate and matching instead of their
 * sum. The thread owns the zlib stream and every read of the layer below; the scan thread only
 * copies finished blocks out. A block carries the end of the stream with it (0 or the error of
 * the failed inflate), so errors arrive exactly as without the thread: after the bytes decoded
 * before them. Pipes and archive members stay on the scan thread (read in line): a pipe's read
 * may run the idle hook, which commits the database, and a member's read drives libarchive;
 * neither may run on another thread. Memory: the ring adds 3 x 256 KiB per gzip layer. */
#include "source.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GZIP_IN_BLOCK    (64u * 1024)
#define GZIP_RING_BLOCKS 3
#define GZIP_RING_BLOCK  (256u * 1024)

/* One block of inflated bytes. Filled by the reader thread while it is outside the consumer's
 * part of the ring, then read by the scan thread only: the ring's lock hands it over. */
struct gzip_block {
    unsigned char data[GZIP_RING_BLOCK];
    size_t len;        /* valid bytes in data */
    size_t pos;        /* bytes of data already handed out */
    bool last;         /* the stream ends after data: status says how */
    int status;        /* with last: 0 for a clean end, else the hl_code of the failure */
    struct hl_err err; /* detail of status */
};

/* The reader thread and its ring. Invariants (under lock): count <= GZIP_RING_BLOCKS; the
 * blocks head .. head + count - 1 (mod the ring) are filled and belong to the scan thread;
 * the others belong to the reader thread; once a block with last is filled, the thread has
 * exited or is about to, and that block stays in the ring for good. */
struct gzip_ring {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a block was filled or freed, or stop was set */
    unsigned head;          /* oldest filled block */
    unsigned count;         /* filled blocks */
    bool stop;              /* the layer is being closed: the thread returns */
    struct gzip_block blocks[GZIP_RING_BLOCKS];
};

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
    bool threaded;          /* reads are served by a reader thread (decided at open) */
    bool started;           /* ring is set up and the thread runs (or ran) */
    struct gzip_ring *ring; /* owned: NULL until the first threaded read */
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

/* Inflates up to cap bytes into buf: >0 bytes, 0 at the clean end, <0 an hl_code with err
 * set. A failure after some bytes were produced returns the bytes first and the error at the
 * next call. Runs on the reader thread when there is one. */
static ssize_t inflate_some(struct source *s, struct gzip_impl *g, void *buf, size_t cap,
                            struct hl_err *err)
{
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
    /* Upstream has no data yet: zlib's state waits for it, and the bytes so far go out. */
    bool paused = r == HL_PAUSE;
    if (paused)
        r = 0;
    if (r == 0)
        r = decomp_check(&g->lim, g->in_total, g->out_total, s->label, &g->fail_err);
    /* --max-size is exact: hand out the bytes up to it, drop the rest of this block. */
    if (g->out_total > g->lim.max_size) {
        uint64_t over = g->out_total - g->lim.max_size;
        produced -= over < produced ? (size_t)over : produced;
        g->out_total = g->lim.max_size;
    }
    if (r < 0) {
        g->failed = r;
        /* Deliver what was decoded before the damage; the error comes with the next read. */
        if (produced)
            return (ssize_t)produced;
        if (err)
            *err = g->fail_err;
        return r;
    }
    return produced || !paused ? (ssize_t)produced : HL_PAUSE;
}

static void *reader_main(void *arg)
{
    struct source *s = arg;
    struct gzip_impl *g = s->impl;
    struct gzip_ring *r = g->ring;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        while (r->count == GZIP_RING_BLOCKS && !r->stop)
            pthread_cond_wait(&r->changed, &r->lock);
        bool stop = r->stop;
        struct gzip_block *b = &r->blocks[(r->head + r->count) % GZIP_RING_BLOCKS];
        pthread_mutex_unlock(&r->lock);
        if (stop)
            return NULL;
        /* Fill the block: fewer, larger hand-overs keep the lock out of the way. */
        b->len = b->pos = 0;
        b->last = false;
        b->status = 0;
        while (b->len < sizeof(b->data)) {
            ssize_t n = inflate_some(s, g, b->data + b->len, sizeof(b->data) - b->len, &b->err);
            if (n <= 0) {
                b->last = true;
                b->status = (int)n;
                break;
            }
            b->len += (size_t)n;
        }
        pthread_mutex_lock(&r->lock);
        r->count++;
        pthread_cond_signal(&r->changed);
        pthread_mutex_unlock(&r->lock);
        if (b->last)
            return NULL;
    }
}

/* Sets up the ring and starts the reader thread; false when that failed (the caller then
 * reads in line, which is always correct). */
static bool reader_start(struct source *s, struct gzip_impl *g)
{
    struct gzip_ring *r = calloc(1, sizeof(*r));
    if (!r)
        return false;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        return false;
    }
    if (pthread_cond_init(&r->changed, NULL) != 0) {
        pthread_mutex_destroy(&r->lock);
        free(r);
        return false;
    }
    g->ring = r;
    /* Signals (SIGINT stopping the scan) go to the scan thread: the reader starts with all
     * of them blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int created = pthread_create(&r->thread, NULL, reader_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (created != 0) {
        pthread_cond_destroy(&r->changed);
        pthread_mutex_destroy(&r->lock);
        free(r);
        g->ring = NULL;
        return false;
    }
    return true;
}

/* Copies bytes of the oldest filled block; frees the block once it is used up. */
static ssize_t ring_read(struct gzip_ring *r, void *buf, size_t cap, struct hl_err *err)
{
    pthread_mutex_lock(&r->lock);
    while (r->count == 0)
        pthread_cond_wait(&r->changed, &r->lock);
    struct gzip_block *b = &r->blocks[r->head];
    pthread_mutex_unlock(&r->lock);
    if (b->pos == b->len) {
        /* Only a last block is kept once used up: the end repeats at every later read. */
        if (b->status < 0 && err)
            *err = b->err;
        return b->status;
    }
    size_t n = HL_MIN(cap, b->len - b->pos);
    memcpy(buf, b->data + b->pos, n);
    b->pos += n;
    if (b->pos == b->len && !b->last) {
        pthread_mutex_lock(&r->lock);
        r->head = (r->head + 1) % GZIP_RING_BLOCKS;
        r->count--;
        pthread_cond_signal(&r->changed);
        pthread_mutex_unlock(&r->lock);
    }
    return (ssize_t)n;
}

static ssize_t gzip_read(struct source *s, void *buf, size_t cap, struct hl_err *err)
{
    struct gzip_impl *g = s->impl;
    if (g->threaded && !g->started) {
        g->started = true;
        g->threaded = reader_start(s, g);
    }
    if (g->threaded)
        return ring_read(g->ring, buf, cap, err);
    return inflate_some(s, g, buf, cap, err);
}

static void gzip_close(struct source *s)
{
    struct gzip_impl *g = s->impl;
    if (!g)
        return;
    if (g->ring) {
        struct gzip_ring *r = g->ring;
        pthread_mutex_lock(&r->lock);
        r->stop = true;
        pthread_cond_signal(&r->changed);
        pthread_mutex_unlock(&r->lock);
        /* The thread finishes the block it is filling, at most one ring block of work. */
        pthread_join(r->thread, NULL);
        pthread_cond_destroy(&r->changed);
        pthread_mutex_destroy(&r->lock);
        free(r);
    }
    if (g->z_ready)
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
    /* Only a layer that may be read from any thread: see the top of this file. */
    g->threaded = upstream->upstream == NULL && (strcmp(upstream->ops->name, "file") == 0 ||
                                                 strcmp(upstream->ops->name, "memory") == 0);
    struct source *s = source_new(&gzip_ops, g, upstream, upstream->label);
    if (!s) {
        inflateEnd(&g->z);
        free(g);
        return hl_err_set(err, HL_ENOMEM, upstream->label, "out of memory");
    }
    *ret = s;
    return 0;
}
