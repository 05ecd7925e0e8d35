/* The ring is one byte array of messages, each an 8-byte header (its length) and its bytes
 * rounded up to 8. A message never wraps: when the end of the array has no room, a header
 * with WRAP says "go on at offset 0". Under lock: used bytes in flight (applied ones are
 * given back), and the stop and failure flags; the bytes of a message belong to the producer
 * until it is committed and to the worker until it is given back, so they are written and
 * read outside the lock. */
#include "handoff.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEADER 8u
#define WRAP   UINT64_MAX

/* The producer wakes a sleeping worker only once this much is committed (or at a sync):
 * waking it for every message would cost sparse findings a futex wake and a context switch or
 * two each. A sleeping worker also looks by itself every POLL_MS, so nothing waits longer
 * than that. */
#define WAKE_BYTES(cap) ((cap) / 8)
#define POLL_MS         250u

struct handoff {
    unsigned char *ring; /* owned */
    size_t cap;
    size_t head;     /* where the worker reads next (worker only, after start) */
    size_t tail;     /* where the producer writes next (producer only) */
    size_t pending;  /* bytes of the reserved message including padding, 0 for none */
    size_t wrap_pad; /* bytes skipped at the end by the reserved message's wrap */

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t more; /* signalled on commit and stop: the worker waits on it */
    pthread_cond_t room; /* signalled when bytes are given back: the producer waits on it */
    size_t used;         /* committed bytes not yet given back (lock) */
    size_t room_wanted;  /* lock: free bytes the producer waits for in reserve, 0 when it does
                            not wait */
    bool worker_waits;   /* lock: the worker sleeps on more */
    bool idling;         /* lock: the worker runs the idle hook */
    bool dirty;          /* lock: a message was applied since the last sync or idle hook; only
                            then may the hook run (after a sync the producer owns the state) */
    bool stop;           /* lock */
    int failure;         /* lock: 0 or the worker's first negative return */
    struct hl_err err;   /* lock: detail of failure */

    handoff_apply_fn *apply;
    handoff_idle_fn *idle;
    unsigned idle_ms;
    void *ctx;
};

static size_t round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static void put_header(unsigned char *at, uint64_t v)
{
    memcpy(at, &v, sizeof(v));
}

static uint64_t get_header(const unsigned char *at)
{
    uint64_t v;
    memcpy(&v, at, sizeof(v));
    return v;
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Records the worker's first failure; later messages are then given back unapplied. */
static void note_failure(struct handoff *h, int r, const struct hl_err *err)
{
    pthread_mutex_lock(&h->lock);
    if (!h->failure) {
        h->failure = r;
        h->err = *err;
    }
    pthread_cond_broadcast(&h->room); /* a waiting producer learns it at once */
    pthread_mutex_unlock(&h->lock);
}

static void *worker_main(void *arg)
{
    struct handoff *h = arg;
    for (;;) {
        pthread_mutex_lock(&h->lock);
        while (h->used == 0 && !h->stop) {
            h->worker_waits = true;
            struct timespec until;
            if (!h->idle || h->failure || !h->dirty) {
                deadline_in(&until, POLL_MS);
                pthread_cond_timedwait(&h->more, &h->lock, &until);
                h->worker_waits = false;
                continue;
            }
            deadline_in(&until, h->idle_ms);
            int waited = pthread_cond_timedwait(&h->more, &h->lock, &until);
            h->worker_waits = false;
            if (waited == ETIMEDOUT && h->used == 0 && !h->stop && h->dirty) {
                h->dirty = false;
                h->idling = true; /* handoff_sync() waits for the hook too */
                pthread_mutex_unlock(&h->lock);
                struct hl_err err;
                int r = h->idle(h->ctx, &err);
                if (r < 0)
                    note_failure(h, r, &err);
                pthread_mutex_lock(&h->lock);
                h->idling = false;
                pthread_cond_broadcast(&h->room);
            }
        }
        if (h->used == 0) { /* stop, with everything applied */
            pthread_mutex_unlock(&h->lock);
            return NULL;
        }
        bool failed = h->failure != 0;
        pthread_mutex_unlock(&h->lock);

        size_t given = 0;
        uint64_t len = get_header(h->ring + h->head);
        if (len == WRAP) {
            given = h->cap - h->head;
            h->head = 0;
            len = get_header(h->ring);
        }
        size_t size = HEADER + round8((size_t)len);
        if (!failed) {
            struct hl_err err;
            int r = h->apply(h->ctx, h->ring + h->head + HEADER, (size_t)len, &err);
            if (r < 0)
                note_failure(h, r, &err);
        }
        h->head = (h->head + size) % h->cap;
        given += size;

        /* Wake the producer only when it can write a good stretch (a quarter of the ring, or
         * all it waits for if more) or when all is applied (handoff_sync): waking it for each
         * message given back made both threads switch once per finding. */
        pthread_mutex_lock(&h->lock);
        h->used -= given;
        h->dirty = true;
        size_t free_bytes = h->cap - h->used;
        if (h->used == 0 ||
            (h->room_wanted && free_bytes >= h->room_wanted && free_bytes >= h->cap / 4))
            pthread_cond_broadcast(&h->room);
        pthread_mutex_unlock(&h->lock);
    }
}

int handoff_start(struct handoff **ret, size_t capacity, handoff_apply_fn *apply,
                  handoff_idle_fn *idle, unsigned idle_ms, void *ctx, struct hl_err *err)
{
    *ret = NULL;
    struct handoff *h = calloc(1, sizeof(*h));
    capacity = round8(capacity);
    if (!h || !(h->ring = malloc(capacity))) {
        free(h);
        return hl_err_set(err, HL_ENOMEM, NULL, "out of memory");
    }
    h->cap = capacity;
    h->apply = apply;
    h->idle = idle;
    h->idle_ms = idle_ms;
    h->ctx = ctx;
    if (pthread_mutex_init(&h->lock, NULL) != 0)
        goto fail_lock;
    if (pthread_cond_init(&h->more, NULL) != 0)
        goto fail_more;
    if (pthread_cond_init(&h->room, NULL) != 0)
        goto fail_room;
    /* Signals (SIGINT ending the scan) go to the scan thread: the worker blocks them all. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int created = pthread_create(&h->thread, NULL, worker_main, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (created == 0) {
        *ret = h;
        return 0;
    }
    pthread_cond_destroy(&h->room);
fail_room:
    pthread_cond_destroy(&h->more);
fail_more:
    pthread_mutex_destroy(&h->lock);
fail_lock:
    free(h->ring);
    free(h);
    return hl_err_set(err, HL_EIO, NULL, "cannot start the storage thread");
}

size_t handoff_max_message(const struct handoff *h)
{
    /* A message may need the end of the ring skipped as well: half leaves room for that. */
    return h->cap / 2 - HEADER;
}

void *handoff_reserve(struct handoff *h, size_t len)
{
    size_t size = HEADER + round8(len);
    size_t pad = h->cap - h->tail < size ? h->cap - h->tail : 0; /* wrap to offset 0 */
    pthread_mutex_lock(&h->lock);
    while (!h->failure && h->cap - h->used < size + pad) {
        if (h->worker_waits)
            pthread_cond_signal(&h->more);
        h->room_wanted = size + pad;
        pthread_cond_wait(&h->room, &h->lock);
    }
    h->room_wanted = 0;
    bool failed = h->failure != 0;
    pthread_mutex_unlock(&h->lock);
    if (failed)
        return NULL;
    if (pad) {
        put_header(h->ring + h->tail, WRAP);
        h->tail = 0;
    }
    put_header(h->ring + h->tail, len);
    h->pending = size;
    h->wrap_pad = pad;
    return h->ring + h->tail + HEADER;
}

void handoff_commit(struct handoff *h)
{
    h->tail = (h->tail + h->pending) % h->cap;
    pthread_mutex_lock(&h->lock);
    h->used += h->pending + h->wrap_pad;
    /* A busy worker sees the message when it looks next. */
    if (h->worker_waits && h->used >= WAKE_BYTES(h->cap))
        pthread_cond_signal(&h->more);
    pthread_mutex_unlock(&h->lock);
    h->pending = h->wrap_pad = 0;
}

int handoff_sync(struct handoff *h, struct hl_err *err)
{
    pthread_mutex_lock(&h->lock);
    if (h->used && h->worker_waits)
        pthread_cond_signal(&h->more);
    while (h->used || h->idling)
        pthread_cond_wait(&h->room, &h->lock);
    h->dirty = false; /* what the worker did is the producer's now: no idle hook on it */
    int r = h->failure;
    if (r && err)
        *err = h->err;
    pthread_mutex_unlock(&h->lock);
    return r;
}

void handoff_stop(struct handoff *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stop = true;
    pthread_cond_signal(&h->more);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    pthread_cond_destroy(&h->room);
    pthread_cond_destroy(&h->more);
    pthread_mutex_destroy(&h->lock);
    free(h->ring);
    free(h);
}
