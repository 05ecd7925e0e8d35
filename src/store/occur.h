/* Occurrence counting of identical events within one source, in memory: "the same NTLS error
 * twice in one second" is occurrence 1 and 2, while the same line read again from another
 * source starts over at 1. A fixed table of event hash -> count (open addressing), allocated
 * whole at its first use so that resident memory is the same for every input size; when it is
 * half full it reports full and the caller spills to SQLite. */
#ifndef HSMLOG_OCCUR_H
#define HSMLOG_OCCUR_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"

#define OCCUR_MAX_SLOTS (1u << 16) /* 1.5 MiB of slots: 32k distinct matched events */

struct occur_slot {
    uint64_t hash;  /* event hash; meaningful when count > 0 */
    int64_t ts;     /* the event's time: the spill's sort key (occurrences.h) */
    uint64_t count; /* 0: empty slot */
};

/* Invariants: slots has cap entries (0 before first use, else the slot limit, a power of
 * two), n of them used, n <= cap / 2. */
struct occur {
    struct occur_slot *slots; /* owned */
    size_t cap, n;
    size_t max_slots; /* slot limit, a power of two; 0 means OCCUR_MAX_SLOTS (tests lower it) */
};

/* Empties the table, keeping its memory for the next source. */
void occur_reset(struct occur *o);

/* Frees the table (the slot limit stays). Safe on a zeroed struct. */
void occur_release(struct occur *o);

/* Counts one more occurrence of hash (an event at time ts) and stores the new count in *ret_n.
 * Returns 0, HL_ENOMEM, or 1 when the table is at its slot limit and hash is not in it
 * (nothing counted). */
HL_NODISCARD int occur_add(struct occur *o, uint64_t hash, int64_t ts, uint64_t *ret_n);

/* Moves the events older than before out of the table, calling fn for each (to keep their
 * counts in storage), when they are at least half of it: a log read in time order then goes
 * on counting in memory. Returns 0, fn's first non-zero return (the table is then left as it
 * was, though fn saw some events), or 1 when too few are older (nothing moved). */
HL_NODISCARD int occur_move_older(struct occur *o, int64_t before,
                                  int (*fn)(void *ctx, uint64_t hash, int64_t ts, uint64_t n),
                                  void *ctx);

/* Calls fn for every counted hash (to spill the table into storage). Stops at fn's first
 * non-zero return and returns it. */
int occur_each(const struct occur *o, int (*fn)(void *ctx, uint64_t hash, int64_t ts, uint64_t n),
               void *ctx);

#endif
