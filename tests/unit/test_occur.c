/* Unit tests for occur (in-memory occurrence counting) and for occurrences_count()'s spill into
 * the SQLite temp table when the table is full: counts go on across the spill (of the older
 * events, or of all), and a new source starts every event over at 1. Uses a real database file
 * in a temp directory. */
#include <stdlib.h>
#include <unistd.h>

#include "db.h"
#include "err.h"
#include "occur.h"
#include "occurrences.h"
#include "tap.h"

static void counts_each_hash_separately(void)
{
    struct occur o = { 0 };
    uint64_t n = 0;
    CHECK_INT(occur_add(&o, 42, 0, &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(occur_add(&o, 7, 0, &n), 0);
    CHECK_INT(n, 1);
    CHECK_INT(occur_add(&o, 42, 0, &n), 0);
    CHECK_INT(n, 2);
    CHECK_INT(o.n, 2);
    occur_reset(&o);
    CHECK_INT(occur_add(&o, 42, 0, &n), 0);
    CHECK_INT(n, 1);
    occur_release(&o);
}

static void probes_past_colliding_hashes_keeping_counts(void)
{
    struct occur o = { 0 };
    uint64_t n = 0;
    for (uint64_t h = 0; h < 5000; h++)
        CHECK_INT(occur_add(&o, h * 1024, 0, &n), 0); /* same low bits: probing must cope */
    CHECK_INT(o.cap, OCCUR_MAX_SLOTS);
    for (uint64_t h = 0; h < 5000; h++) {
        CHECK_INT(occur_add(&o, h * 1024, 0, &n), 0);
        CHECK_INT(n, 2);
    }
    occur_release(&o);
}

static void reports_full_at_slot_limit(void)
{
    struct occur o = { .max_slots = 8 };
    uint64_t n = 0;
    for (uint64_t h = 1; h <= 4; h++)
        CHECK_INT(occur_add(&o, h, 0, &n), 0);
    CHECK_INT(occur_add(&o, 5, 0, &n), 1); /* a fifth would pass half of 8 slots */
    CHECK_INT(occur_add(&o, 3, 0, &n), 0); /* known hashes still count */
    CHECK_INT(n, 2);
    occur_release(&o);
}

static int count_moved(void *ctx, uint64_t hash, int64_t ts, uint64_t n)
{
    (void)hash;
    (void)ts;
    *(int64_t *)ctx += (int64_t)n;
    return 0;
}

static int64_t occurrence(struct occurrences *o, int64_t hash)
{
    struct hl_err err = { 0 };
    int64_t n = -1;
    if (occurrences_count(o, hash, hash % 3, &n, &err) < 0)
        printf("# occurrences_count: %s: %s\n", err.where, err.msg);
    return n;
}

/* Opens a database in a new temp directory dir, begins a scan with an occurrence counter o of
 * max_slots slots in memory and adds a source "a". Returns 0 or -1. */
static int open_scan(char *dir, struct db *db, struct occurrences *o, size_t max_slots)
{
    char path[64];
    struct hl_err err = { 0 };
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/t.db", dir);
    if (db_open(db, path, false, NULL, &err) < 0 || db_scan_begin(db, "test", &err) < 0)
        return -1;
    occurrences_init(o, db);
    o->mem.max_slots = max_slots;
    struct db_source src = {
        .path = "a", .kind = "text", .size = -1, .mtime = -1, .status = "reading"
    };
    int64_t id = 0;
    return db_source_add(db, &src, &id, &err) < 0 ? -1 : 0;
}

static void close_scan(const char *dir, struct db *db, struct occurrences *o)
{
    occurrences_release(o);
    db_close(db);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
}

static void db_spills_to_temp_table_and_resets_per_source(void)
{
    char dir[] = "/tmp/hsmlog-occur-XXXXXX";
    struct db db;
    struct occurrences o;
    struct hl_err err = { 0 };
    CHECK_INT(open_scan(dir, &db, &o, 8), 0);
    for (int64_t h = 1; h <= 4; h++)
        CHECK_INT(occurrence(&o, h), 1);
    CHECK_INT(occurrence(&o, 2), 2);
    CHECK(!o.spilled);
    CHECK_INT(occurrence(&o, 5), 1); /* the table is full: spill */
    CHECK(o.spilled);
    CHECK_INT(occurrence(&o, 2), 3); /* counted on from the spilled value */
    CHECK_INT(occurrence(&o, 5), 2);
    CHECK_INT(occurrence(&o, 1), 2);
    struct db_source b = {
        .path = "b", .kind = "text", .size = -1, .mtime = -1, .status = "reading"
    };
    int64_t id = 0;
    CHECK_INT(db_source_add(&db, &b, &id, &err), 0);
    CHECK_INT(occurrences_restart(&o, &err), 0);
    CHECK(!o.spilled);
    CHECK_INT(occurrence(&o, 2), 1);
    CHECK_INT(occurrence(&o, 5), 1);
    /* b spills too: into a temp table emptied of a's counts, which would clash with b's or
     * count on from a's. */
    CHECK_INT(occurrence(&o, 1), 1);
    CHECK_INT(occurrence(&o, 3), 1);
    CHECK_INT(occurrence(&o, 4), 1); /* the table is full: spill */
    CHECK(o.spilled);
    CHECK_INT(occurrence(&o, 1), 2);
    CHECK_INT(occurrence(&o, 3), 2);
    close_scan(dir, &db, &o);
}

static void moves_older_events_out_and_keeps_the_rest(void)
{
    struct occur o = { .max_slots = 16 }; /* 8 events fit */
    uint64_t n = 0;
    for (uint64_t h = 1; h <= 8; h++)
        CHECK_INT(occur_add(&o, h, h <= 6 ? 10 : 20, &n), 0);
    CHECK_INT(occur_add(&o, 2, 10, &n), 0);
    CHECK_INT(occur_add(&o, 9, 20, &n), 1); /* full */
    int64_t moved = 0;
    CHECK_INT(occur_move_older(&o, 20, count_moved, &moved), 0);
    CHECK_INT(moved, 7); /* 6 events, one of them twice */
    CHECK_INT(o.n, 2);
    CHECK_INT(occur_add(&o, 7, 20, &n), 0); /* a kept event counts on */
    CHECK_INT(n, 2);
    CHECK_INT(occur_add(&o, 2, 10, &n), 0); /* a moved one starts over: the caller's business */
    CHECK_INT(n, 1);
    /* More than half not older: nothing moves. */
    CHECK_INT(occur_move_older(&o, 5, count_moved, &moved), 1);
    CHECK_INT(moved, 7);
    CHECK_INT(o.n, 3);
    occur_release(&o);
}

/* A log in time order whose distinct events overflow the table many times: every count is
 * what a plain count gives, the table keeps counting in memory, and a late line (older than
 * what moved out) counts on from the temp table. */
static void db_counts_time_ordered_events_in_memory(void)
{
    char dir[] = "/tmp/hsmlog-occur-XXXXXX";
    struct db db;
    struct occurrences o;
    struct hl_err err = { 0 };
    CHECK_INT(open_scan(dir, &db, &o, 16), 0);
    bool all_right = true;
    for (int64_t t = 1; t <= 100; t++) { /* 3 events a second, the first twice */
        for (int64_t k = 0; k < 4; k++) {
            int64_t n = -1, want = k == 3 ? 2 : 1;
            int64_t hash = t * 10 + (k == 3 ? 0 : k);
            all_right &= occurrences_count(&o, hash, t, &n, &err) == 0 && n == want;
        }
    }
    CHECK(all_right);
    CHECK(o.spilled);
    CHECK(o.below > 90 && o.below <= 100); /* moved out, not one full spill */
    int64_t n = -1;
    CHECK_INT(occurrences_count(&o, 50 * 10, 50, &n, &err), 0); /* late: from the temp table */
    CHECK_INT(n, 3);
    CHECK_INT(occurrences_count(&o, 100 * 10, 100, &n, &err), 0); /* still in memory */
    CHECK_INT(n, 3);
    /* One second with more distinct events than the table holds (hashes of other times
     * differ, as an event hash includes its time): all of them move out and
     * the temp table counts from then on. */
    for (int64_t k = 1; k <= 20; k++)
        CHECK_INT(occurrences_count(&o, 100000 + k, 200, &n, &err), 0);
    CHECK(o.below == INT64_MAX);
    CHECK_INT(occurrences_count(&o, 100001, 200, &n, &err), 0);
    CHECK_INT(n, 2);
    CHECK_INT(occurrences_count(&o, 100 * 10, 100, &n, &err), 0);
    CHECK_INT(n, 4);
    close_scan(dir, &db, &o);
}

int main(void)
{
    TAP_RUN(counts_each_hash_separately);
    TAP_RUN(probes_past_colliding_hashes_keeping_counts);
    TAP_RUN(reports_full_at_slot_limit);
    TAP_RUN(db_spills_to_temp_table_and_resets_per_source);
    TAP_RUN(moves_older_events_out_and_keeps_the_rest);
    TAP_RUN(db_counts_time_ordered_events_in_memory);
    return tap_done();
}
