/* Occurrence numbers of identical events within one source: the k-th identical event of a
 * source is occurrence k, so re-reading the same input maps every line to a row that already
 * exists, while two identical lines stay two rows. Counted in memory (occur.h), spilling to a
 * temporary table of the store when an input has more distinct events than memory holds.
 * Owned by whoever reads the source (the scan), not by the store: it counts for one source at
 * a time. */
#ifndef HSMLOG_OCCURRENCES_H
#define HSMLOG_OCCURRENCES_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "db.h"
#include "err.h"
#include "occur.h"

struct stmt;

/* Invariants: events older than below count in the temp table, the others in mem (INT64_MIN:
 * none in the table; INT64_MAX: all); spilled tells whether the table holds counts of this
 * source. The statements are prepared at the first spill. */
struct occurrences {
    struct db *db; /* borrowed */
    struct occur mem;
    bool spilled;
    int64_t below;
    struct stmt *st_count, *st_put, *st_reset;
};

/* Starts counting on db (nothing is allocated until the first event). */
void occurrences_init(struct occurrences *o, struct db *db);

/* Counts one more sighting of event_hash in the current source into *ret_n. second is the
 * event's whole second (event_id_second(); any fixed value, e.g. 0, for a line without a
 * time): it only orders the spill table, since a timed event's hash includes it already.
 * Writes to the temp table happen in the store's write transaction (begun when none is open).
 * Returns 0 or a negative hl_code. */
HL_NODISCARD int occurrences_count(struct occurrences *o, int64_t event_hash, int64_t second,
                                   int64_t *ret_n, struct hl_err *err);

/* Starts over for another source. Returns 0 or a negative hl_code. */
HL_NODISCARD int occurrences_restart(struct occurrences *o, struct hl_err *err);

/* Frees what o holds. Safe on a zeroed struct and twice. */
void occurrences_release(struct occurrences *o);

#endif
