/* Occurrence table: open addressing with linear probing over a fixed power-of-two array. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "occur.h"

void occur_reset(struct occur *o)
{
    if (o->slots)
        memset(o->slots, 0, o->cap * sizeof(*o->slots));
    o->n = 0;
}

void occur_release(struct occur *o)
{
    free(o->slots);
    o->slots = NULL;
    o->cap = o->n = 0;
}

/* The hashes are FNV-1a already; a multiply spreads their low bits over the table. */
static size_t slot_of(uint64_t hash, size_t cap)
{
    return (size_t)((hash * 0x9e3779b97f4a7c15ULL) >> 32) & (cap - 1);
}

static struct occur_slot *find(struct occur_slot *slots, size_t cap, uint64_t hash)
{
    size_t i = slot_of(hash, cap);
    while (slots[i].count && slots[i].hash != hash)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int allocate(struct occur *o)
{
    size_t cap = o->max_slots ? o->max_slots : OCCUR_MAX_SLOTS;
    /* calloc'd pages would become resident one by one as hashes land: touch them all now. */
    struct occur_slot *slots = malloc(cap * sizeof(*slots));
    if (!slots)
        return HL_ENOMEM;
    memset(slots, 0, cap * sizeof(*slots));
    o->slots = slots;
    o->cap = cap;
    return 0;
}

int occur_add(struct occur *o, uint64_t hash, int64_t ts, uint64_t *ret_n)
{
    if (!o->cap) {
        int r = allocate(o);
        if (r < 0)
            return r;
    }
    struct occur_slot *s = find(o->slots, o->cap, hash);
    if (s->count) {
        *ret_n = ++s->count;
        return 0;
    }
    if ((o->n + 1) * 2 > o->cap)
        return 1;
    *s = (struct occur_slot){ hash, ts, 1 };
    o->n++;
    *ret_n = 1;
    return 0;
}

int occur_move_older(struct occur *o, int64_t before,
                     int (*fn)(void *ctx, uint64_t hash, int64_t ts, uint64_t n), void *ctx)
{
    /* The events kept are copied out while the table is emptied: their number is bounded, so
     * the copy lives on the stack. */
    enum {
        KEEP_MAX = 256
    };
    struct occur_slot keep[KEEP_MAX];
    size_t n_keep = 0;
    for (size_t i = 0; i < o->cap; i++)
        if (o->slots[i].count && o->slots[i].ts >= before && n_keep++ == KEEP_MAX)
            return 1;
    if (n_keep * 2 > o->n)
        return 1;
    for (size_t i = 0; i < o->cap; i++) {
        const struct occur_slot *s = &o->slots[i];
        int r = s->count && s->ts < before ? fn(ctx, s->hash, s->ts, s->count) : 0;
        if (r)
            return r;
    }
    n_keep = 0;
    for (size_t i = 0; i < o->cap; i++)
        if (o->slots[i].count && o->slots[i].ts >= before)
            keep[n_keep++] = o->slots[i];
    occur_reset(o);
    for (size_t i = 0; i < n_keep; i++)
        *find(o->slots, o->cap, keep[i].hash) = keep[i];
    o->n = n_keep;
    return 0;
}

int occur_each(const struct occur *o, int (*fn)(void *ctx, uint64_t hash, int64_t ts, uint64_t n),
               void *ctx)
{
    for (size_t i = 0; i < o->cap; i++) {
        if (!o->slots[i].count)
            continue;
        int r = fn(ctx, o->slots[i].hash, o->slots[i].ts, o->slots[i].count);
        if (r)
            return r;
    }
    return 0;
}
