/* Unit tests for handoff (the storage thread's ring): messages of every size arrive whole and
 * in order across many wraps of a small ring; sync means "all applied"; the worker's failure
 * reaches the producer; the idle hook runs only on work the worker did since the last sync.
 * Real threads, no mocks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handoff.h"
#include "tap.h"

struct sink {
    uint64_t applied;   /* messages applied, in order */
    uint64_t bad;       /* messages whose bytes or order were wrong */
    uint64_t fail_at;   /* fail when applying this message number (1-based), 0 never */
    unsigned idles;     /* idle hook calls */
    uint64_t idle_seen; /* applied when the hook last ran */
};

/* Message k holds k (8 bytes) and then k % 251 repeated to fill its length. */
static size_t message_len(uint64_t k)
{
    return 8 + (size_t)((k * 7919) % 3000);
}

static int apply(void *ctx, void *msg, size_t len, struct hl_err *err)
{
    struct sink *s = ctx;
    uint64_t k;
    memcpy(&k, msg, sizeof(k));
    bool ok = k == s->applied + 1 && len == message_len(k);
    for (size_t i = 8; ok && i < len; i++)
        ok = ((unsigned char *)msg)[i] == (unsigned char)(k % 251);
    s->bad += !ok;
    s->applied++;
    if (s->fail_at && s->applied == s->fail_at)
        return hl_err_set(err, HL_EDB, "test", "failed at %llu", (unsigned long long)k);
    return 0;
}

static int idle(void *ctx, struct hl_err *err)
{
    (void)err;
    struct sink *s = ctx;
    __atomic_store_n(&s->idle_seen, s->applied, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&s->idles, 1, __ATOMIC_SEQ_CST); /* polled by the test thread */
    return 0;
}

static bool send(struct handoff *h, uint64_t k)
{
    size_t len = message_len(k);
    unsigned char *p = handoff_reserve(h, len);
    if (!p)
        return false;
    memcpy(p, &k, sizeof(k));
    memset(p + 8, (int)(k % 251), len - 8);
    handoff_commit(h);
    return true;
}

static void messages_arrive_whole_and_in_order_across_wraps(void)
{
    struct sink s = { 0 };
    struct handoff *h;
    struct hl_err err;
    CHECK_INT(handoff_start(&h, 16384, apply, NULL, 0, &s, &err), 0); /* wraps every few */
    CHECK(handoff_max_message(h) >= 3008);
    for (uint64_t k = 1; k <= 20000; k++) {
        CHECK(send(h, k));
        if (k % 5000 == 0) {
            CHECK_INT(handoff_sync(h, &err), 0);
            CHECK_INT(s.applied, k); /* sync: everything committed is applied */
        }
    }
    handoff_stop(h); /* applies what is left first */
    CHECK_INT(s.applied, 20000);
    CHECK_INT(s.bad, 0);
}

static void worker_failure_reaches_the_producer(void)
{
    struct sink s = { .fail_at = 100 };
    struct handoff *h;
    struct hl_err err;
    CHECK_INT(handoff_start(&h, 8192, apply, NULL, 0, &s, &err), 0);
    uint64_t k = 1;
    while (k <= 100000 && send(h, k))
        k++;
    CHECK(k <= 100000); /* reserve said no once the worker had failed */
    CHECK_INT(handoff_sync(h, &err), HL_EDB);
    CHECK_STR(err.where, "test");
    CHECK_INT(s.applied, 100);                /* nothing after the failure was applied */
    CHECK_INT(handoff_sync(h, &err), HL_EDB); /* and it stays failed */
    handoff_stop(h);
}

static void idle_hook_runs_only_on_the_workers_own_work(void)
{
    struct sink s = { 0 };
    struct handoff *h;
    struct hl_err err;
    CHECK_INT(handoff_start(&h, 8192, apply, idle, 20, &s, &err), 0);
    usleep(100 * 1000); /* nothing applied yet: no hook */
    CHECK_INT(__atomic_load_n(&s.idles, __ATOMIC_SEQ_CST), 0);
    CHECK(send(h, 1));
    CHECK(send(h, 2));
    /* the hook runs after 20 ms of quiet */
    for (int i = 0; i < 200 && __atomic_load_n(&s.idles, __ATOMIC_SEQ_CST) == 0; i++)
        usleep(5 * 1000);
    CHECK_INT(handoff_sync(h, &err), 0); /* also waits for a hook that is running */
    CHECK_INT(s.idles, 1);
    CHECK_INT(s.idle_seen, 2);
    CHECK(send(h, 3));
    CHECK_INT(handoff_sync(h, &err), 0); /* sync hands the state back: no hook on message 3 */
    usleep(100 * 1000);
    CHECK_INT(__atomic_load_n(&s.idles, __ATOMIC_SEQ_CST), 1);
    handoff_stop(h);
    CHECK_INT(s.applied, 3);
    CHECK_INT(s.bad, 0);
}

int main(void)
{
    TAP_RUN(messages_arrive_whole_and_in_order_across_wraps);
    TAP_RUN(worker_failure_reaches_the_producer);
    TAP_RUN(idle_hook_runs_only_on_the_workers_own_work);
    return tap_done();
}
